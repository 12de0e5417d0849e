"""Stand-in kube-apiserver: HTTPS, cert signed by the cluster CA, generic object REST, kubeadm token discovery."""
import base64
import datetime
import json
import os
import random
import re
import ssl
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import ThreadingMixIn

import yaml

from . import csr, discovery, jws, patches, pki, rollout, selectors, store, tables
from .common import P, read

CONF = "/etc/standins/apiserver.json"
PIDFILE = "/run/standins/kube-apiserver.pid"
LOG = "/var/log/standins/kube-apiserver.log"


#: Built-in resources of a 1.22 API server that the site uses: (group, version, plural) -> (kind, namespaced).
BUILTIN = {
    ("", "v1", "nodes"): ("Node", False), ("", "v1", "namespaces"): ("Namespace", False),
    ("", "v1", "configmaps"): ("ConfigMap", True), ("", "v1", "secrets"): ("Secret", True),
    ("", "v1", "pods"): ("Pod", True), ("", "v1", "services"): ("Service", True),
    ("", "v1", "serviceaccounts"): ("ServiceAccount", True), ("", "v1", "endpoints"): ("Endpoints", True),
    ("", "v1", "events"): ("Event", True),
    ("apps", "v1", "deployments"): ("Deployment", True), ("apps", "v1", "daemonsets"): ("DaemonSet", True),
    ("apps", "v1", "statefulsets"): ("StatefulSet", True), ("apps", "v1", "replicasets"): ("ReplicaSet", True),
    ("policy", "v1", "poddisruptionbudgets"): ("PodDisruptionBudget", True),
    ("rbac.authorization.k8s.io", "v1", "roles"): ("Role", True),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"): ("RoleBinding", True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles"): ("ClusterRole", False),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"): ("ClusterRoleBinding", False),
    ("certificates.k8s.io", "v1", "certificatesigningrequests"): ("CertificateSigningRequest", False),
    ("coordination.k8s.io", "v1", "leases"): ("Lease", True),
    ("discovery.k8s.io", "v1", "endpointslices"): ("EndpointSlice", True),
    ("discovery.k8s.io", "v1beta1", "endpointslices"): ("EndpointSlice", True),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions"): ("CustomResourceDefinition", False),
}
NODE_GRACE = "/etc/standins/node-monitor-grace-period"


def resources(objs):
    """Every served resource: the built-in ones and those of installed CRDs (each served version)."""
    out = dict(BUILTIN)
    for spec, names, v in discovery.crd_versions(objs):
        if v.get("served", True):
            out[(spec.get("group"), v.get("name"), names.get("plural"))] = (names.get("kind"), spec.get("scope") == "Namespaced")
    return out


TABLE_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
#: resources a PUT may create (their strategies' AllowCreateOnUpdate); others answer 404.
CREATE_ON_UPDATE = {("", "endpoints"), ("", "events"), ("coordination.k8s.io", "leases")}
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
#: resources named by a DNS-1123 label (`pkg/apis/core/validation`: ValidateNamespaceName,
#: ValidateServiceName); RBAC objects take any path segment; the rest a DNS-1123 subdomain.
LABEL_NAMED = {"namespaces", "services"}
PATH_SEGMENT_NAMED = {"roles", "rolebindings", "clusterroles", "clusterrolebindings"}
#: the namespaces kube-apiserver's bootstrap controller keeps (`pkg/controlplane/controller.go`).
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def ensure_system_namespaces():
    """The API server creates its system namespaces and its bootstrap RBAC roles when it starts,
    as kube-apiserver does."""
    with store.locked(write=True) as data:
        csr.ensure_bootstrap_roles(data)
        for ns in SYSTEM_NAMESPACES:
            k = store.key("", "namespaces", "", ns)
            if k not in data["objects"]:
                data["objects"][k] = store.stamp(data, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                                                        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})


def ensure_kubernetes_service(address, port, service_cidr):
    """The `kubernetes` Service, its Endpoints and EndpointSlice, as kube-apiserver's bootstrap
    controller and endpoint reconciler keep them (kubernetes v1.22 `pkg/controlplane/controller.go`
    CreateOrUpdateMasterServiceIfNeeded: ClusterIP the first address of the service range,
    port https 443 -> the secure port; `pkg/controlplane/reconcilers/lease.go` and
    `endpointsadapter.go`: this API server's address in the Endpoints `kubernetes` and the
    EndpointSlice `kubernetes`). Made when missing; an existing object gains this server's
    address and keeps the rest (its annotations, which edgeadm's update-config sets)."""
    import ipaddress
    cluster_ip = str(ipaddress.ip_network(service_cidr.split(",")[0].strip(), strict=False)[1])
    ports = [{"name": "https", "port": int(port), "protocol": "TCP"}]
    with store.locked(write=True) as data:
        objs = data["objects"]
        k = store.key("", "services", "default", "kubernetes")
        if k not in objs:
            objs[k] = store.stamp(data, {"apiVersion": "v1", "kind": "Service", "metadata": {
                "name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "sessionAffinity": "None",
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": int(port)}]}})
        k = store.key("", "endpoints", "default", "kubernetes")
        ep = objs.get(k) or {"apiVersion": "v1", "kind": "Endpoints", "metadata": {
            "name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [], "ports": ports}]}
        sub = (ep.get("subsets") or [{"addresses": [], "ports": ports}])[0]
        ep["subsets"] = [sub]
        if address not in [a.get("ip") for a in sub.setdefault("addresses", [])]:
            sub["addresses"].append({"ip": address})
            objs[k] = store.stamp(data, ep, objs.get(k))
        k = store.key("discovery.k8s.io", "endpointslices", "default", "kubernetes")
        es = objs.get(k) or {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {
            "name": "kubernetes", "namespace": "default", "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv6" if ":" in address else "IPv4", "endpoints": [], "ports": ports}
        if address not in [a for e in es.setdefault("endpoints", []) for a in e.get("addresses") or []]:
            es["endpoints"].append({"addresses": [address], "conditions": {"ready": True}})
            objs[k] = store.stamp(data, es, objs.get(k))


def bad_name(kind, plural, name):
    """(422, Invalid, message) when metadata.name fails the kind's name validation, else None."""
    if plural in PATH_SEGMENT_NAMED:
        if name in (".", "..") or "/" in name or "%" in name:
            return 422, "Invalid", '%s "%s" is invalid: metadata.name: Invalid value: "%s": may not contain \'/\' or \'%%\'' % (
                kind, name, name)
        return None
    if plural in LABEL_NAMED:
        if len(name) > 63 or not DNS1123_LABEL.fullmatch(name):
            return 422, "Invalid", ('%s "%s" is invalid: metadata.name: Invalid value: "%s": a lowercase RFC 1123 label must '
                                    "consist of lower case alphanumeric characters or '-', and must start and end with an "
                                    "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')" % (kind, name, name))
        return None
    if len(name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(name):
        return 422, "Invalid", ('%s "%s" is invalid: metadata.name: Invalid value: "%s": a lowercase RFC 1123 subdomain must '
                                "consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
                                "alphanumeric character (e.g. 'example.com', regex used for validation is "
                                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')" % (kind, name, name))
    return None


class Request:
    """One resource request: its path parts, query and body; kind and verb once routed."""

    def __init__(self, method, group, version, plural, ns, name, sub, query, body):
        self.method, self.group, self.version, self.plural = method, group, version, plural
        self.ns, self.name, self.sub, self.query, self.body = ns, name, sub, query, body
        self.kind, self.namespaced = None, None
        self.verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "PATCH": "patch",
                     "DELETE": "delete"}[method]

    def gv(self):
        return discovery.gv_string(self.group, self.version)

    def key(self):
        return store.key(self.group, self.plural, self.ns, self.name)


def expired_token(o, now=None):
    """kube-controller-manager's tokencleaner deletes a bootstrap token's Secret once it expires."""
    if o.get("type") != "bootstrap.kubernetes.io/token":
        return False
    exp = (o.get("data") or {}).get("expiration")
    if not exp:
        return False
    t = datetime.datetime.strptime(b64d(exp), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    return t <= (now or time.time())


def go_seconds(d):
    total = 0.0
    import re
    for num, unit in re.findall(r"([\d.]+)(ms|h|m|s)", d or ""):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def node_view(o, now=None):
    """The node lifecycle controller's view: a node whose kubelet stopped posting status for
    longer than --node-monitor-grace-period (40s) has its conditions set to Unknown."""
    grace = go_seconds((read(NODE_GRACE) or "40s").strip()) or 40.0
    conds = (o.get("status") or {}).get("conditions") or []
    ready = [c for c in conds if c.get("type") == "Ready"]
    if not ready or ready[0].get("status") == "Unknown":
        return o
    try:
        beat = datetime.datetime.strptime(ready[0].get("lastHeartbeatTime", ""), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return o
    if (now or time.time()) - beat <= grace:
        return o
    o = json.loads(json.dumps(o))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for c in o["status"]["conditions"]:
        c.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.",
                 lastTransitionTime=stamp)
    return o


def pdb_allows(objs, pod):
    """The eviction subresource's check: (ok, message) for each PodDisruptionBudget selecting the pod."""
    ns = pod["metadata"].get("namespace")
    labels = pod["metadata"].get("labels") or {}
    pods = [o for k, o in objs.items() if k.startswith("|pods|%s|" % ns)]
    for k, pdb in objs.items():
        if not k.startswith("policy|poddisruptionbudgets|%s|" % ns):
            continue
        spec = pdb.get("spec") or {}
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        if not sel or any(labels.get(a) != b for a, b in sel.items()):
            continue
        matching = [p for p in pods if all((p["metadata"].get("labels") or {}).get(a) == b for a, b in sel.items())]
        healthy = len(matching)
        if "minAvailable" in spec:
            want = _count(spec["minAvailable"], healthy, up=True)
        else:
            want = healthy - _count(spec.get("maxUnavailable", 0), healthy, up=True)
        if healthy - 1 < want:
            return False, pdb["metadata"]["name"], want, healthy
    return True, None, 0, 0


def _count(v, total, up):
    if isinstance(v, str) and v.endswith("%"):
        import math
        x = total * int(v[:-1]) / 100.0
        return int(math.ceil(x) if up else math.floor(x))
    return int(v)


def b64d(s):
    return base64.b64decode(s).decode()


def tokens(objs, now=None):
    """Valid (non-expired) bootstrap tokens: {id: {secret, groups, signing, auth}}."""
    now = now or time.time()
    out = {}
    for k, o in objs.items():
        g, plural, ns, name = k.split("|")
        if plural != "secrets" or ns != "kube-system" or o.get("type") != "bootstrap.kubernetes.io/token":
            continue
        d = {kk: b64d(v) for kk, v in (o.get("data") or {}).items()}
        exp = d.get("expiration")
        if exp:
            t = datetime.datetime.strptime(exp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
            if t <= now:
                continue
        out[d.get("token-id")] = {"secret": d.get("token-secret"), "groups": ["system:bootstrappers"] + [x for x in d.get("auth-extra-groups", "").split(",") if x],
                                  "signing": d.get("usage-bootstrap-signing") == "true", "auth": d.get("usage-bootstrap-authentication") == "true"}
    return out


def rbac_allows(objs, groups, user, verb, group, plural, ns, name):
    def subj_ok(b):
        for s in b.get("subjects") or []:
            if s.get("kind") == "Group" and s.get("name") in groups:
                return True
            if s.get("kind") == "User" and s.get("name") == user:
                return True
        return False

    def rules_ok(role):
        for r in (role or {}).get("rules") or []:
            if not ({"*", group} & set(r.get("apiGroups") or [])):
                continue
            if not ({"*", plural} & set(r.get("resources") or [])):
                continue
            if not ({"*", verb} & set(r.get("verbs") or [])):
                continue
            rn = r.get("resourceNames")
            if rn and name not in rn:
                continue
            return True
        return False

    rb = "rbac.authorization.k8s.io"
    for k, b in objs.items():
        g, pl, bns, _ = k.split("|")
        if g != rb or pl not in ("rolebindings", "clusterrolebindings") or not subj_ok(b):
            continue
        if pl == "rolebindings" and bns != (ns or ""):
            continue
        ref = b.get("roleRef") or {}
        if ref.get("kind") == "Role":
            role = objs.get(store.key(rb, "roles", bns, ref.get("name")))
        else:
            role = objs.get(store.key(rb, "clusterroles", "", ref.get("name")))
        if rules_ok(role):
            return True
    return False


def node_restriction(user, groups, req):
    """The NodeRestriction admission plugin for Nodes: a kubelet (user `system:node:<name>`,
    group `system:nodes`) may create, update and patch only its own Node (kubernetes v1.22
    `plugin/pkg/admission/noderestriction/admission.go` admitNode). The refusal, else None."""
    if req.plural != "nodes" or req.group != "" or req.method not in ("POST", "PUT", "PATCH"):
        return None
    if "system:nodes" not in (groups or []) or not (user or "").startswith("system:node:"):
        return None
    own = user[len("system:node:"):]
    body = req.body if isinstance(req.body, dict) else {}
    wanted = req.name or (body.get("metadata") or {}).get("name")
    if wanted and wanted != own:
        return 'nodes "%s" is forbidden: node "%s" is not allowed to modify node "%s"' % (wanted, own, wanted)
    return None


def parse_path(path):
    path = path.split("?")[0].rstrip("/")
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if not rest:
        return None
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return group, version, plural, ns, name, sub


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % a))

    def send(self, code, obj, content_type="application/json"):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def status(self, code, reason, message, details=None):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason,
              "code": code}
        if details:
            st["details"] = details
        self.send(code, st)

    def not_found(self, group, plural, name):
        details = dict({"name": name, "kind": plural}, **({"group": group} if group else {}))
        what = plural if not group else "%s.%s" % (plural, group)
        return self.status(404, "NotFound", '%s "%s" not found' % (what, name), details)

    def who(self, objs):
        cert = self.connection.getpeercert()
        if cert:
            subj = dict(x[0] for x in cert.get("subject", ()))
            orgs = [v for rdn in cert.get("subject", ()) for (k, v) in rdn if k == "organizationName"]
            return subj.get("commonName"), orgs + ["system:authenticated"], True
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[7:].strip()
            tid, _, sec = tok.partition(".")
            t = tokens(objs).get(tid)
            if not t or t["secret"] != sec or not t["auth"]:
                return None, None, None
            return "system:bootstrap:" + tid, t["groups"] + ["system:authenticated"], False
        return "system:anonymous", ["system:unauthenticated"], False

    def read_body(self, method):
        """The request body: (parsed object or None, (code, reason, message) or None). Create and
        update bodies are JSON or YAML (protobuf, which real servers also take, is not served);
        patch bodies are JSON; a DELETE's options are not read."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw or method == "DELETE":
            return None, None
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if method in ("POST", "PUT") and ctype not in ("application/json", "application/yaml"):
            return None, (415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media "
                          "types include: application/json, application/yaml (the stand-in serves no protobuf)")
        if method == "PATCH" and ctype not in (patches.MERGE, patches.JSON_PATCH, patches.STRATEGIC):
            return None, None  # refused with 415 once routed
        try:
            return (yaml.safe_load(raw) if ctype == "application/yaml" else json.loads(raw)), None
        except (ValueError, yaml.YAMLError) as e:
            return None, (400, "BadRequest", "the body of the request could not be decoded: %s" % e)

    def handle_any(self, method):
        body, bad_body = self.read_body(method)
        path, _, qs = self.path.partition("?")
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(qs, keep_blank_values=True).items()}
        if self.serve_unversioned(path.rstrip("/") or "/", method):
            return
        parsed = parse_path(path)
        if not parsed:
            return self.status(404, "NotFound", "the server could not find the requested resource")
        if bad_body:
            return self.status(*bad_body)
        group, version, plural, ns, name, sub = parsed
        # workloads and pods are read after the controllers' pass (rollout.py): a write lock then
        synced = plural in rollout.SYNCED
        with store.locked(write=method != "GET" or synced) as data:
            objs = data["objects"]
            if method != "GET":
                for kk in [kk for kk, o in objs.items() if kk.startswith("|secrets|kube-system|") and expired_token(o)]:
                    del objs[kk]
            req = Request(method, group, version, plural, ns, name, sub, query, body)
            if not self.route(req, objs):
                return self.status(404, "NotFound", "the server could not find the requested resource")
            user, groups, has_cert = self.who(objs)
            if user is None:
                return self.status(401, "Unauthorized", "Unauthorized")
            if not self.allowed(objs, user, groups, has_cert, req.verb, group, plural, ns, name, body):
                what = '%s "%s"' % (plural, name) if name else plural
                where = ' in the namespace "%s"' % ns if ns else " at the cluster scope"
                return self.status(403, "Forbidden", '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s"%s'
                                   % (what, user, req.verb, plural, group, where))
            refused = node_restriction(user, groups, req)
            if refused:
                return self.status(403, "Forbidden", refused)
            self.user, self.groups = user, groups
            if method != "GET":
                csr.run_controllers(data, lambda u, g, sub: self.sar(objs, u, g, sub))
            if method != "GET" or synced:
                rollout.reconcile(data)
            if query.get("watch") in ("1", "true"):
                return self.status(405, "MethodNotAllowed", "the stand-in API server does not serve watch; list instead "
                                   "(see simsite/STANDINS.md)")
            return self.dispatch(req, data, objs)

    def serve_unversioned(self, path, method):
        """Health, /version and discovery; True when the path was one of them."""
        if path in ("/healthz", "/readyz", "/livez"):
            code, text = health_answer(path, self.path.partition("?")[2])
            body = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True
        if path == "/version":
            self.send(200, discovery.VERSION)
            return True
        if not etcd_ok():
            # the storage layer's error: reads retry until the request times out (504, after
            # 60s on a real server, at once here), writes fail with the client's error (500)
            if method == "GET":
                self.status(504, "Timeout", "Timeout: request did not complete within requested timeout - context deadline exceeded")
            else:
                self.status(500, "InternalError", "Internal error occurred: " + etcd_error())
            return True
        parts = path.strip("/").split("/")
        if path in ("/api", "/api/v1", "/apis") or parts[0] == "apis" and len(parts) in (2, 3):
            if method != "GET":
                self.status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            else:
                self.discover(parts)
            return True
        return False

    def discover(self, parts):
        with store.locked() as data:
            objs = data["objects"]
            served = resources(objs)
            if parts == ["api"]:
                return self.send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address_for_clients()}]})
            if parts == ["apis"]:
                return self.send(200, discovery.group_list(served))
            if parts[0] == "apis" and len(parts) == 2:
                doc = discovery.one_group(served, parts[1])
            else:
                group, version = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
                doc = discovery.resource_list(served, discovery.crd_meta(objs), group, version)
            if doc is None:
                return self.status(404, "NotFound", "the server could not find the requested resource")
            return self.send(200, doc)

    def server_address_for_clients(self):
        host, port = self.connection.getsockname()[:2]
        return "%s:%d" % (host, port)

    def route(self, req, objs):
        """Fill req.kind/namespaced/verb; False when the server has no such resource or path."""
        served = resources(objs)
        if (req.group, req.version, req.plural) not in served:
            return False
        req.kind, req.namespaced = served[(req.group, req.version, req.plural)]
        if req.namespaced and req.ns is None and (req.name or req.method != "GET"):
            return False  # namespaced objects live under /namespaces/<ns>/; only list spans them all
        if not req.namespaced and req.ns is not None:
            return False
        if req.sub:
            if req.sub == "eviction" and (req.group, req.plural) == ("", "pods"):
                return req.method == "POST"
            subs = discovery.subresources(served, discovery.crd_meta(objs), req.group, req.version, req.plural)
            if req.sub not in subs or req.method not in ("GET", "PUT", "PATCH"):
                return False
        if req.method == "DELETE" and not req.name:
            req.verb = "deletecollection"
        return True

    def dispatch(self, req, data, objs):
        if req.method == "GET":
            return self.get(req, data, objs)
        if req.method == "POST" and req.sub == "eviction":
            return self.evict(req, data, objs)
        if req.method == "POST" and (req.group, req.plural) == ("certificates.k8s.io", "certificatesigningrequests"):
            return self.create_csr(req, data, objs)
        if req.method == "POST":
            return self.create(req, data, objs)
        if req.method == "DELETE":
            return self.delete(req, data, objs)
        if req.method == "PUT":
            return self.update(req, data, objs)
        return self.patch(req, data, objs)

    def get(self, req, data, objs):
        view = node_view if req.plural == "nodes" else (lambda o: o)
        if req.name:
            o = objs.get(req.key())
            if o is None or req.plural == "secrets" and expired_token(o):
                return self.not_found(req.group, req.plural, req.name)
            if (req.ns, req.plural, req.name) == ("kube-public", "configmaps", "cluster-info"):
                o = self.with_jws(objs, o)
            o = view(o)
            if tables.wants_table(self.headers.get("Accept")):
                return self.send(200, tables.table(req.plural, [o], o["metadata"].get("resourceVersion", ""),
                                                   req.query.get("includeObject", "Metadata")), TABLE_TYPE)
            return self.send(200, o)
        try:
            items = [view(o) for o in self.matching(req, objs)]
        except selectors.SelectorError as e:
            return self.status(400, "BadRequest", str(e))
        rv = str(data["rv"])
        if tables.wants_table(self.headers.get("Accept")):
            return self.send(200, tables.table(req.plural, items, rv, req.query.get("includeObject", "Metadata")), TABLE_TYPE)
        return self.send(200, {"apiVersion": req.gv(), "kind": req.kind + "List", "items": items, "metadata": {"resourceVersion": rv}})

    def matching(self, req, objs):
        """The stored objects of the request's collection that its selectors select."""
        labels = selectors.parse_labels(req.query.get("labelSelector"))
        fields = selectors.parse_fields(req.query.get("fieldSelector"), req.group, req.plural, req.namespaced)
        out = []
        for kk, o in sorted(objs.items()):
            g, pl, ns, _ = kk.split("|")
            if (g, pl) != (req.group, req.plural) or req.ns is not None and ns != req.ns:
                continue
            if req.plural == "secrets" and expired_token(o):
                continue
            if selectors.labels_match(labels, (o.get("metadata") or {}).get("labels")) and selectors.fields_match(fields, o):
                out.append(o)
        return out

    def create(self, req, data, objs):
        body = req.body
        problem = self.check_body(req, body) or self.name_for_create(req, body, objs)
        if problem:
            return self.status(*problem)
        name = body["metadata"]["name"]
        if req.ns and store.key("", "namespaces", "", req.ns) not in objs:
            return self.not_found("", "namespaces", req.ns)  # the NamespaceLifecycle admission plugin
        k = store.key(req.group, req.plural, req.ns, name)
        if k in objs:
            what = req.plural if not req.group else "%s.%s" % (req.plural, req.group)
            return self.status(409, "AlreadyExists", '%s "%s" already exists' % (what, name),
                               dict({"name": name, "kind": req.plural}, **({"group": req.group} if req.group else {})))
        if req.ns:
            body["metadata"]["namespace"] = req.ns
        body["apiVersion"], body["kind"] = req.gv(), req.kind
        objs[k] = store.stamp(data, body)
        return self.send(201, objs[k])

    def check_body(self, req, body):
        """(code, reason, message) when the body is not an object of the URL's kind, group, version, namespace."""
        if not isinstance(body, dict):
            return 400, "BadRequest", "the body of the request must be a JSON object of kind %s" % req.kind
        kind, av = body.get("kind"), body.get("apiVersion")
        if kind and kind != req.kind:
            return 400, "BadRequest", '%s in version "%s" cannot be handled as a %s: the kind in the data does not match the URL' % (
                kind, (av or req.gv()).split("/")[-1], req.kind)
        if av and av != req.gv():
            return 400, "BadRequest", "the API version in the data (%s) does not match the expected API version (%s)" % (av, req.gv())
        md = body.setdefault("metadata", {})
        if not isinstance(md, dict):
            return 400, "BadRequest", "%s in version \"%s\" cannot be handled as a %s: metadata must be an object" % (
                req.kind, req.version, req.kind)
        if req.ns and md.get("namespace") and md["namespace"] != req.ns:
            return 400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"
        return None

    def name_for_create(self, req, body, objs):
        md = body["metadata"]
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        if not md.get("name"):
            return 422, "Invalid", '%s "" is invalid: metadata.name: Required value: name or generateName is required' % req.kind
        return bad_name(req.kind, req.plural, md["name"])

    def delete(self, req, data, objs):
        if not req.name:
            try:
                gone = self.matching(req, objs)
            except selectors.SelectorError as e:
                return self.status(400, "BadRequest", str(e))
            for o in gone:
                del objs[store.key(req.group, req.plural, o["metadata"].get("namespace"), o["metadata"]["name"])]
            data["rv"] += 1
            return self.send(200, {"apiVersion": req.gv(), "kind": req.kind + "List", "items": gone,
                                   "metadata": {"resourceVersion": str(data["rv"])}})
        if req.key() not in objs:
            return self.not_found(req.group, req.plural, req.name)
        if (req.group, req.plural) == ("", "namespaces"):
            if req.name in SYSTEM_NAMESPACES:
                return self.status(403, "Forbidden", 'namespaces "%s" is forbidden: this namespace may not be deleted' % req.name,
                                   {"name": req.name, "kind": "namespaces"})
            for kk in [kk for kk in objs if kk.split("|")[2] == req.name]:
                del objs[kk]  # the namespace controller empties it (at once here: no Terminating phase)
        data["rv"] += 1
        return self.send(200, objs.pop(req.key()))

    def conflict(self, req, body, objs):
        """The optimistic-concurrency check: a resourceVersion in the body is a precondition."""
        want_rv = ((body if isinstance(body, dict) else {}).get("metadata") or {}).get("resourceVersion")
        if want_rv and objs[req.key()]["metadata"].get("resourceVersion") != str(want_rv):
            what = req.plural if not req.group else "%s.%s" % (req.plural, req.group)
            return 409, "Conflict", ('Operation cannot be fulfilled on %s "%s": the object has been modified; '
                                     "please apply your changes to the latest version and try again" % (what, req.name))
        return None

    def update(self, req, data, objs):
        body = req.body
        problem = self.check_body(req, body)
        if not problem and body["metadata"].get("name") != req.name:
            problem = 400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)" % (
                body["metadata"].get("name"), req.name)
        if not problem and req.key() not in objs:
            if req.sub or (req.group, req.plural) not in CREATE_ON_UPDATE:
                return self.not_found(req.group, req.plural, req.name)
            problem = bad_name(req.kind, req.plural, req.name)
        if not problem and req.key() in objs:
            problem = self.conflict(req, body, objs)
        if problem:
            return self.status(*problem)
        old = objs.get(req.key())
        if req.ns:
            body["metadata"]["namespace"] = req.ns
        body["apiVersion"], body["kind"] = req.gv(), req.kind
        objs[req.key()] = store.stamp(data, self.keep_status_or_spec(req, objs, old, body), old)
        return self.send(200 if old else 201, objs[req.key()])

    def keep_status_or_spec(self, req, objs, old, new):
        """A write to the status subresource changes only the status; a write to the resource of a
        type with a status subresource leaves the status as it was (the strategies' PrepareForUpdate)."""
        if old is None:
            return new
        if req.sub == "status":
            return dict(old, status=new.get("status"))
        subs = discovery.subresources(resources(objs), discovery.crd_meta(objs), req.group, req.version, req.plural)
        if "status" in subs:
            new = dict(new)
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        return new

    def patch(self, req, data, objs):
        if req.key() not in objs:
            return self.not_found(req.group, req.plural, req.name)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        custom = (req.group, req.version, req.plural) not in BUILTIN
        try:
            new = patches.apply(ctype, objs[req.key()], req.body, custom)
        except patches.UnsupportedMediaType as e:
            return self.status(415, "UnsupportedMediaType", str(e))
        except patches.PatchError as e:
            return self.status(422 if e.invalid else 400, "Invalid" if e.invalid else "BadRequest", str(e))
        problem = self.conflict(req, req.body, objs) if ctype != patches.JSON_PATCH else None
        if problem:
            return self.status(*problem)
        old = objs[req.key()]
        new = self.keep_status_or_spec(req, objs, old, new)
        new["metadata"] = dict(new.get("metadata") or {}, name=old["metadata"]["name"])
        if req.ns:
            new["metadata"]["namespace"] = req.ns
        if new == old:
            # a patch that changes nothing writes nothing: the object keeps its resourceVersion
            # (apiserver `registry/generic/registry/store.go` Update -> etcd3 GuaranteedUpdate
            # skips the write when the new object's bytes equal the stored ones)
            return self.send(200, old)
        objs[req.key()] = store.stamp(data, new, old)
        return self.send(200, objs[req.key()])

    def evict(self, req, data, objs):
        """The pods/eviction subresource: a policy/v1 (or v1beta1) Eviction naming the pod."""
        body = req.body if isinstance(req.body, dict) else {}
        if body.get("kind") != "Eviction" or body.get("apiVersion") not in ("policy/v1", "policy/v1beta1"):
            return self.status(400, "BadRequest", "the body of an eviction must be a policy/v1 (or policy/v1beta1) Eviction, "
                               "not %s %s" % (body.get("apiVersion"), body.get("kind")))
        if (body.get("metadata") or {}).get("name") != req.name:
            return self.status(400, "BadRequest", "name in URL does not match name in Eviction object")
        pod = objs.get(req.key())
        if pod is None:
            return self.not_found("", "pods", req.name)
        ok, pdb, want, healthy = pdb_allows(objs, pod)
        if not ok:
            body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
                    "details": {"causes": [{"reason": "DisruptionBudget", "message": "The disruption budget %s needs %d healthy pods "
                                            "and has %d currently" % (pdb, want, healthy)}]}, "code": 429}
            return self.send(429, body)
        del objs[req.key()]
        data["rv"] += 1
        return self.send(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})

    def allowed(self, objs, user, groups, has_cert, verb, group, plural, ns, name, body):
        if "system:masters" in groups or (has_cert and "system:nodes" in groups):
            return True
        if verb == "get" and (ns, plural, name) == ("kube-public", "configmaps", "cluster-info"):
            return True
        if "system:bootstrappers" in groups:
            if group == "" and plural == "nodes" and verb in ("get", "create", "patch", "update"):
                return True
            if verb == "get" and ns == "kube-system" and plural == "configmaps" and name in ("kubeadm-config", "kubelet-config-1.22", "kube-proxy"):
                return True
        return rbac_allows(objs, groups, user, verb, group, plural, ns, name)

    def with_jws(self, objs, o):
        o = json.loads(json.dumps(o))
        d = o.setdefault("data", {})
        for kk in [kk for kk in d if kk.startswith("jws-kubeconfig-")]:
            del d[kk]
        for tid, t in tokens(objs).items():
            if t["signing"]:
                d["jws-kubeconfig-" + tid] = jws.sign(d.get("kubeconfig", ""), tid, t["secret"])
        return o

    def sar(self, objs, user, groups, subresource):
        """A SubjectAccessReview of `create` on a CSR subresource (the approver's question):
        RBAC, and the `system:masters` group that the authorizer always allows."""
        return "system:masters" in groups or rbac_allows(objs, groups, user, "create", "certificates.k8s.io", subresource,
                                                         None, None)

    def create_csr(self, req, data, objs):
        """A CSR is stored pending, with the requester in its spec; kube-controller-manager's
        approver and signer then handle it (at once here; see csr.py): only a kubelet client
        CSR whose requester may have it approved gets a certificate."""
        body = req.body
        problem = self.check_body(req, body) or self.name_for_create(req, body, objs)
        if not problem:
            problem, _ = csr.invalid(body)
        if problem:
            return self.status(*problem)
        csr.prepare_for_create(body, self.user, self.groups)
        k = store.key(req.group, req.plural, None, body["metadata"]["name"])
        if k in objs:
            return self.create(req, data, objs)  # AlreadyExists, as any create
        body["apiVersion"], body["kind"] = req.gv(), req.kind
        objs[k] = store.stamp(data, body)
        csr.run_controllers(data, lambda u, g, sub: self.sar(objs, u, g, sub))
        return self.send(201, objs[k])

    def guarded(self, method):
        """Any request; a bug of the stand-in answers 500 with a Status, as a panic in a handler does."""
        try:
            self.handle_any(method)
        except Exception as e:  # noqa: BLE001 - the stand-in's own bug, reported to the client
            import traceback
            traceback.print_exc()
            self.status(500, "InternalError", "Internal error occurred: %s: %s" % (type(e).__name__, e))

    def do_GET(self):
        self.guarded("GET")

    def do_POST(self):
        self.guarded("POST")

    def do_PUT(self):
        self.guarded("PUT")

    def do_PATCH(self):
        self.guarded("PATCH")

    def do_DELETE(self):
        self.guarded("DELETE")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's listen backlog is 5: fifty nodes joining at once saw their SYNs dropped
    # ("connect: timed out"). Go's listener, kube-apiserver's, takes the system's somaxconn.
    request_queue_size = 1024


#: The checks kube-apiserver 1.22 lists on /healthz, /livez and /readyz (etcd's is added to all
#: three by GenericAPIServer.AddHealthChecks; /readyz adds shutdown). A failed check prints
#: "[-]<name> failed: reason withheld" and the answer is 500 with "<endpoint> check failed"
#: (`staging/src/k8s.io/apiserver/pkg/server/healthz/healthz.go` handleRootHealth).
HEALTH_CHECKS = ["ping", "log", "etcd", "poststarthook/start-kube-apiserver-admission-initializer",
                 "poststarthook/generic-apiserver-start-informers", "poststarthook/start-apiextensions-informers",
                 "poststarthook/start-apiextensions-controllers", "poststarthook/crd-informer-synced",
                 "poststarthook/bootstrap-controller", "poststarthook/rbac/bootstrap-roles",
                 "poststarthook/scheduling/bootstrap-system-priority-classes", "poststarthook/start-cluster-authentication-info-controller",
                 "poststarthook/start-kube-aggregator-informers", "poststarthook/apiservice-registration-controller",
                 "poststarthook/apiservice-status-available-controller", "poststarthook/kube-apiserver-autoregistration",
                 "autoregister-completion", "poststarthook/apiservice-openapi-controller"]
#: This process's etcd: (host, port) of the first --etcd-servers URL (None: no etcd, the
#: pre-static-pod mode of a bare CONF file), and whether the bootstrap post-start hooks ran.
ETCD = {"server": None, "bootstrapped": False}


def etcd_ok():
    """The etcd check: does the local member answer? (kube-apiserver's etcd client talks to
    --etcd-servers, https://127.0.0.1:2379 in kubeadm's manifest: the master's own member.)"""
    if ETCD["server"] is None:
        return True
    now = time.monotonic()
    if now - ETCD.get("checked", -1.0) < 0.2:   # one probe per 0.2 s serves every request
        return ETCD["up"]
    import socket
    try:
        socket.create_connection(ETCD["server"], timeout=0.5).close()
        up = True
    except OSError:
        up = False
    ETCD.update(checked=time.monotonic(), up=up)
    return up


def etcd_error():
    host, port = ETCD["server"]
    return ('rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing dial tcp '
            '%s:%d: connect: connection refused"' % (host, port))


def health_answer(path, query):
    """(code, body) of /healthz, /livez or /readyz."""
    name = path.strip("/")
    checks = HEALTH_CHECKS + (["shutdown"] if name == "readyz" else [])
    excluded = set(urllib.parse.parse_qs(query).get("exclude", []))
    up = etcd_ok()
    failed = []
    lines = []
    for c in checks:
        if c in excluded:
            lines.append("[+]%s excluded: ok" % c)
            continue
        bad = (c == "etcd" and not up) or (c in ("poststarthook/bootstrap-controller", "poststarthook/rbac/bootstrap-roles")
                                            and not ETCD["bootstrapped"])
        lines.append("[-]%s failed: reason withheld" % c if bad else "[+]%s ok" % c)
        if bad:
            failed.append(c)
    if failed:
        return 500, "\n".join(lines) + "\n%s check failed\n" % name
    if "verbose" in urllib.parse.parse_qs(query, keep_blank_values=True):
        return 200, "\n".join(lines) + "\n%s check passed\n" % name
    return 200, "ok"


def _bootstrap(conf):
    """The post-start hooks that write to etcd (system namespaces, bootstrap RBAC, the
    `kubernetes` Service): once the local etcd member answers."""
    import threading

    def run():
        while not ETCD["bootstrapped"]:
            if etcd_ok():
                try:
                    ensure_system_namespaces()
                    ensure_kubernetes_service(conf["address"], conf["port"], conf.get("svc") or "10.96.0.0/12")
                    ETCD["bootstrapped"] = True
                    sys.stderr.write("post-start hooks done (etcd answers)\n")
                    sys.stderr.flush()
                    return
                except OSError as e:
                    sys.stderr.write("post-start hooks: %s\n" % e)
            time.sleep(0.2)
    if ETCD["server"] is None:
        run()
    else:
        threading.Thread(target=run, daemon=True).start()


def serve(argv=()):
    """The API server with kubeadm's kube-apiserver flags (its static pod's command line), or,
    without flags, with the settings of CONF. Certificates are loaded once, here: a renewed
    file is served only by the next process."""
    from .common import go_flags, local_host
    f = go_flags(list(argv))
    if f:
        from .common import default_ip
        conf = {"address": f.get("advertise-address") or default_ip(), "port": int(f.get("secure-port", 6443)),
                "svc": f.get("service-cluster-ip-range") or "10.96.0.0/12"}
        cert, key = f.get("tls-cert-file", pki.PKI + "/apiserver.crt"), f.get("tls-private-key-file", pki.PKI + "/apiserver.key")
        client_ca = f.get("client-ca-file", pki.PKI + "/ca.crt")
        etcd = urllib.parse.urlparse((f.get("etcd-servers") or "https://127.0.0.1:2379").split(",")[0])
        ETCD["server"] = (local_host(etcd.hostname), etcd.port or 2379)
        for flag in ("tls-cert-file", "tls-private-key-file", "client-ca-file", "etcd-cafile", "etcd-certfile", "etcd-keyfile"):
            if f.get(flag) and read(f[flag]) is None:
                sys.stderr.write("Error: open %s: no such file or directory\n" % f[flag])
                sys.exit(1)
    else:
        conf = json.loads(read(CONF))
        cert, key, client_ca = pki.PKI + "/apiserver.crt", pki.PKI + "/apiserver.key", pki.PKI + "/ca.crt"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(P(cert), P(key))
    ctx.load_verify_locations(P(client_ca))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    # kube-apiserver binds 0.0.0.0 by default (so a kube-vip VIP reaches it too); the
    # local sandboxes of the unit tests share one network, so they keep to their address.
    bind = conf["address"] if os.environ.get("STANDIN_ROOT") else "0.0.0.0"
    srv = Server((bind, int(conf["port"])), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    sys.stderr.write("stand-in kube-apiserver listening on %s:%s\n" % (conf["address"], conf["port"]))
    sys.stderr.flush()
    _bootstrap(conf)
    srv.serve_forever()


def daemonize(entry_argv):
    """Double-fork a detached apiserver; returns after the pid file is written."""
    os.makedirs(os.path.dirname(P(PIDFILE)), exist_ok=True)
    os.makedirs(os.path.dirname(P(LOG)), exist_ok=True)
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        for _ in range(100):
            if os.path.exists(P(PIDFILE)):
                return
            time.sleep(0.05)
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    fd = os.open(P(LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    nul = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nul, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    env = dict(os.environ, STANDIN_INTERNAL="kube-apiserver")
    with open(P(PIDFILE), "w") as f:
        f.write(str(os.getpid()))
    os.execve(entry_argv[0], entry_argv, env)


def running_pid():
    try:
        pid = int(open(P(PIDFILE)).read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def stop():
    pid = running_pid()
    if pid:
        import signal
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    try:
        os.unlink(P(PIDFILE))
    except OSError:
        pass
    return pid
