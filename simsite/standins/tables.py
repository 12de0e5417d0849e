"""Server-side printing: a `meta.k8s.io/v1` Table for a client that asks for one (kubectl get).

kubectl since 1.11 prints what the server's Table says; it asks with
`Accept: application/json;as=Table;v=v1;g=meta.k8s.io,…`. Sources (kubernetes v1.22):
`staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go` (Table, TableRow,
TableColumnDefinition, includeObject), `pkg/printers/internalversion/printers.go` (printNode,
printPod and their columns), `staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor`
(Name and Age, the age rendered by the server, for a resource without printer columns).
"""
import calendar
import time

NODE_COLUMNS = [("Name", "string", "name", 0), ("Status", "string", "", 0), ("Roles", "string", "", 0),
                ("Age", "string", "", 0), ("Version", "string", "", 0), ("Internal-IP", "string", "", 1),
                ("External-IP", "string", "", 1), ("OS-Image", "string", "", 1), ("Kernel-Version", "string", "", 1),
                ("Container-Runtime", "string", "", 1)]
POD_COLUMNS = [("Name", "string", "name", 0), ("Ready", "string", "", 0), ("Status", "string", "", 0),
               ("Restarts", "string", "", 0), ("Age", "string", "", 0), ("IP", "string", "", 1), ("Node", "string", "", 1),
               ("Nominated Node", "string", "", 1), ("Readiness Gates", "string", "", 1)]
DEFAULT_COLUMNS = [("Name", "string", "name", 0), ("Age", "date", "", 0)]


def wants_table(accept):
    """True when the Accept header asks for a meta.k8s.io/v1 Table (v1beta1 is answered as v1)."""
    return any("as=Table" in part and "g=meta.k8s.io" in part for part in (accept or "").split(","))


def table(plural, items, resource_version, include="Metadata"):
    columns, row = {"nodes": (NODE_COLUMNS, node_row), "pods": (POD_COLUMNS, pod_row)}.get(plural, (DEFAULT_COLUMNS, default_row))
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": [{"name": n, "type": t, "format": f, "description": "", "priority": p} for n, t, f, p in columns],
            "rows": [{"cells": row(o), "object": _object(o, include)} for o in items]}


def _object(o, include):
    if include == "None":
        return None
    if include == "Object":
        return o
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata") or {}}


def age(ts, now=None):
    """duration.HumanDuration of the time since a creationTimestamp (`<unknown>` without one)."""
    try:
        t = calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return "<unknown>"
    s = max(0, int((now or time.time()) - t))
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    return "%dy" % (h // (24 * 365))


def node_row(o):
    md, spec, st = o.get("metadata") or {}, o.get("spec") or {}, o.get("status") or {}
    info = st.get("nodeInfo") or {}
    addrs = st.get("addresses") or []
    return [md.get("name"), _node_status(spec, st), _roles(md.get("labels") or {}), age(md.get("creationTimestamp")),
            info.get("kubeletVersion", ""), _address(addrs, "InternalIP"), _address(addrs, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _node_status(spec, st):
    by_type = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    if "Ready" not in by_type:
        out = ["Unknown"]
    else:
        out = ["Ready" if by_type["Ready"] == "True" else "NotReady"]
    if spec.get("unschedulable"):
        out.append("SchedulingDisabled")
    return ",".join(out)


def _roles(labels):
    roles = {k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and k.split("/", 1)[1]}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    return ",".join(sorted(roles)) or "<none>"


def _address(addrs, kind):
    found = [a.get("address") for a in addrs if a.get("type") == kind]
    return ",".join(found) if found else "<none>"


def pod_row(o):
    md, spec, st = o.get("metadata") or {}, o.get("spec") or {}, o.get("status") or {}
    cs = st.get("containerStatuses") or []
    ready = sum(1 for c in cs if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in cs)
    reason = st.get("reason") or st.get("phase") or "Pending"
    if md.get("deletionTimestamp"):
        reason = "Terminating"
    return [md.get("name"), "%d/%d" % (ready, len(spec.get("containers") or [])), reason, str(restarts),
            age(md.get("creationTimestamp")), st.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            st.get("nominatedNodeName") or "<none>", "<none>"]


def default_row(o):
    md = o.get("metadata") or {}
    return [md.get("name"), age(md.get("creationTimestamp"))]
