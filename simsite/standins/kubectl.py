"""Stand-in kubectl: HTTPS to the server in the kubeconfig with its client cert."""
import json
import os
import re
import sys
import time

import yaml

from . import client, patches, pki, tables, validation
from .common import Exit, FlagError, err, fault, parse_flags, read, run_tool

GLOBAL = {"kubeconfig": "str", "namespace": "str", "request-timeout": "str", "v": "str", "help": "bool"}
SH = {"n": "namespace", "v": "v", "h": "help"}
VERBS = {
    "get": {"output": "str", "selector": "str", "all-namespaces": "bool", "ignore-not-found": "bool", "no-headers": "bool", "show-labels": "bool"},
    "apply": {"filename": "multi", "server-side": "bool", "force-conflicts": "bool", "validate": "str", "dry-run": "str", "output": "str", "recursive": "bool"},
    "label": {"overwrite": "bool", "all": "bool", "selector": "str"},
    "taint": {"overwrite": "bool", "all": "bool", "selector": "str"},
    "drain": {"ignore-daemonsets": "bool", "delete-emptydir-data": "bool", "delete-local-data": "bool", "force": "bool", "timeout": "str",
              "grace-period": "int", "disable-eviction": "bool", "skip-wait-for-delete-timeout": "int", "pod-selector": "str", "selector": "str"},
    "cordon": {"selector": "str"}, "uncordon": {"selector": "str"},
    "delete": {"filename": "multi", "ignore-not-found": "bool", "wait": "bool", "grace-period": "int", "timeout": "str", "force": "bool", "now": "bool"},
    "version": {"client": "bool", "output": "str", "short": "bool"},
    "completion": {},
    "patch": {"type": "str", "patch": "str", "local": "bool", "filename": "multi", "output": "str", "dry-run": "str"},
    "set": {"all": "bool", "selector": "str", "local": "bool", "filename": "multi", "output": "str", "dry-run": "str",
            "field-manager": "str", "record": "bool", "recursive": "bool"},
    "rollout": {"watch": "bool", "timeout": "str", "revision": "int", "filename": "multi", "recursive": "bool"},
}
VSH = {"o": "output", "l": "selector", "A": "all-namespaces", "f": "filename", "R": "recursive", "p": "patch", "w": "watch"}
TYPES = {"nodes": ("", "v1", "nodes", False), "configmaps": ("", "v1", "configmaps", True), "secrets": ("", "v1", "secrets", True),
         "namespaces": ("", "v1", "namespaces", False), "pods": ("", "v1", "pods", True), "services": ("", "v1", "services", True),
         "serviceaccounts": ("", "v1", "serviceaccounts", True),
         "endpoints": ("", "v1", "endpoints", True),
         "roles": ("rbac.authorization.k8s.io", "v1", "roles", True), "rolebindings": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
         "clusterroles": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
         "clusterrolebindings": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
         "deployments": ("apps", "v1", "deployments", True), "daemonsets": ("apps", "v1", "daemonsets", True),
         "poddisruptionbudgets": ("policy", "v1", "poddisruptionbudgets", True),
         "customresourcedefinitions": ("apiextensions.k8s.io", "v1", "customresourcedefinitions", False)}
ALIASES = {"node": "nodes", "no": "nodes", "cm": "configmaps", "configmap": "configmaps", "secret": "secrets", "ns": "namespaces",
           "namespace": "namespaces", "pod": "pods", "po": "pods", "role": "roles", "rolebinding": "rolebindings", "clusterrole": "clusterroles",
           "clusterrolebinding": "clusterrolebindings", "deployment": "deployments", "deploy": "deployments", "daemonset": "daemonsets",
           "ds": "daemonsets", "svc": "services", "pdb": "poddisruptionbudgets", "crd": "customresourcedefinitions",
           "crds": "customresourcedefinitions", "customresourcedefinition": "customresourcedefinitions", "service": "services", "sa": "serviceaccounts", "serviceaccount": "serviceaccounts", "ep": "endpoints"}
SINGULAR = {v: k for k, v in {"node": "nodes", "configmap": "configmaps", "secret": "secrets", "namespace": "namespaces", "pod": "pods",
                              "service": "services", "serviceaccount": "serviceaccounts", "deployment.apps": "deployments",
                              "daemonset.apps": "daemonsets", "role.rbac.authorization.k8s.io": "roles",
                              "poddisruptionbudget.policy": "poddisruptionbudgets",
                              "customresourcedefinition.apiextensions.k8s.io": "customresourcedefinitions",
                              "rolebinding.rbac.authorization.k8s.io": "rolebindings",
                              "clusterrole.rbac.authorization.k8s.io": "clusterroles",
                              "clusterrolebinding.rbac.authorization.k8s.io": "clusterrolebindings",
                              "endpoints": "endpoints"}.items()}


class KErr(Exception):
    def __init__(self, msg, status=None):
        super().__init__(msg)
        self.status = status


def rtype(t, c=None):
    t = t.lower()
    t = ALIASES.get(t, t)
    if t not in TYPES and c is not None:
        for grp in req(c, "GET", "/apis").get("groups") or []:
            gv = grp["preferredVersion"]["groupVersion"]
            for r in req(c, "GET", "/apis/" + gv).get("resources") or []:
                if "/" not in r["name"] and t in (r["name"], r["kind"].lower()):
                    g, _, v = gv.rpartition("/")
                    TYPES[r["name"]] = (g, v, r["name"], r.get("namespaced", False))
                    SINGULAR[r["name"]] = r["kind"].lower() + "." + g
                    return r["name"]
    if t not in TYPES:
        raise KErr('error: the server doesn\'t have a resource type "%s"' % t)
    return t


def conn(vals):
    path = vals.get("kubeconfig") or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    text = read(path) if path.startswith("/") else None
    if text is None:
        if vals.get("kubeconfig"):
            raise KErr("error: stat %s: no such file or directory" % path)
        raise KErr("The connection to the server localhost:8080 was refused - did you specify the right host or port?")
    kc = pki.parse_kubeconfig(text)
    return kc["server"], client.context(kc["ca"], kc["cert"], kc["key"])


def req(c, method, path, body=None, ctype="application/json"):
    server, ctx = c
    try:
        return client.request(server, method, path, ctx, body=body, content_type=ctype)
    except client.APIError as e:
        if e.status == 404:
            raise NotFound('Error from server (NotFound): ' + e.message)
        reason = {403: "Forbidden", 401: "Unauthorized", 429: "TooManyRequests"}.get(e.status, "InternalError")
        if e.status == 409:
            reason = "Conflict" if "Operation cannot be fulfilled" in e.message else "AlreadyExists"
        raise KErr("Error from server (%s): %s" % (reason, e.message), e.status)
    except OSError as e:
        raise KErr("Unable to connect to the server: %s" % e)


class NotFound(KErr):
    pass


def p(t, ns, name=None):
    g, v, pl, namespaced = TYPES[t]
    return client.path_for(g, v, pl, ns if namespaced else None, name)


def main(argv, state):
    verb, i = None, 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-"):
            if "=" not in a and a.lstrip("-") in ("kubeconfig", "namespace", "n", "request-timeout", "v"):
                i += 1
        else:
            verb = a
            break
        i += 1
    if verb is None:
        sys.stdout.write("kubectl controls the Kubernetes cluster manager.\n")
        return 0
    if verb not in VERBS:
        err('error: unknown command "%s" for "kubectl"\n\nDid you mean this?\n\tget\n\nRun \'kubectl --help\' for usage.' % verb)
        return 1
    state["phase"] = verb
    rest = list(argv)
    rest.remove(verb)
    spec = dict(GLOBAL, **VERBS[verb])
    try:
        vals, pos = parse_flags(rest, spec, dict(SH, **{k: v for k, v in VSH.items() if v in spec}), normalize=False)
    except FlagError as e:
        err("error: %s\nSee 'kubectl %s --help' for usage." % (e, verb))
        return 1
    if fault(["kubectl:" + verb]):
        err("error: injected fault (kubectl:%s)" % verb)
        return 1
    try:
        if verb == "completion":
            # kubectl completion bash|zsh (staging/src/k8s.io/kubectl/pkg/cmd/completion): the
            # shell's completion script on stdout; needs no cluster
            if len(pos) != 1:
                raise KErr("error: Shell not specified." if not pos else "error: Too many arguments. Expected only the shell type.")
            if pos[0] not in ("bash", "zsh"):
                raise KErr('error: Unsupported shell type "%s".' % pos[0])
            print("# %s completion for kubectl (stand-in)" % pos[0])
            return 0
        if verb == "version":
            print("Client Version: version.Info{Major:\"1\", Minor:\"22\", GitVersion:\"v1.22.6\"}")
            return 0
        c = conn(vals)
        ns = vals.get("namespace") or "default"
        return globals()["do_" + verb](c, vals, pos, ns)
    except KErr as e:
        err(str(e))
        return 1


def fmt_out(objs, out, t, single, no_headers=False):
    if out and out.startswith("custom-columns="):
        return custom_columns(objs, out[len("custom-columns="):], no_headers)
    if out == "json":
        print(json.dumps(objs[0] if single else {"apiVersion": "v1", "kind": "List", "items": objs, "metadata": {"resourceVersion": ""}}, indent=4))
    elif out == "yaml":
        print(yaml.safe_dump(objs[0] if single else {"apiVersion": "v1", "kind": "List", "items": objs}))
    elif out == "name":
        for o in objs:
            print("%s/%s" % (SINGULAR[t], o["metadata"]["name"]))
    else:
        if not objs:
            err("No resources found")
            return
        if t == "nodes":
            print("%-20s %-8s %-22s %-6s %s" % ("NAME", "STATUS", "ROLES", "AGE", "VERSION"))
            for o in objs:
                lab = o["metadata"].get("labels", {})
                roles = ",".join(sorted(k.split("/", 1)[1] for k in lab if k.startswith("node-role.kubernetes.io/"))) or "<none>"
                st = "Ready" if any(c["type"] == "Ready" and c["status"] == "True" for c in o.get("status", {}).get("conditions", [])) else "NotReady"
                if o.get("spec", {}).get("unschedulable"):
                    st += ",SchedulingDisabled"
                print("%-20s %-8s %-22s %-6s %s" % (o["metadata"]["name"], st, roles, "1m", o.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")))
        elif t == "pods":
            rows = [_pod_row(o) for o in objs]
            _columns(([] if no_headers else [["NAME", "READY", "STATUS", "RESTARTS", "AGE"]]) + rows)
        else:
            print("NAME")
            for o in objs:
                print(o["metadata"]["name"])


def _pod_row(o):
    """NAME READY STATUS RESTARTS AGE as printPod makes them (pkg/printers/internalversion/
    printers.go, v1.22): a waiting container's reason (the first container's) is the STATUS."""
    row = tables.pod_row(o)[:5]
    for cs in reversed((o.get("status") or {}).get("containerStatuses") or []):
        reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
        if reason:
            row[2] = reason
    return row


def _columns(rows):
    """kubectl's printer: tabwriter columns, three spaces apart."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []
    for r in rows:
        print("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _jsonpath(obj, path):
    """The values of a custom-columns field path (`.a.b`, `.a[*].b`, `.a[0].b`): kubectl's
    JSONPath subset there (staging/src/k8s.io/kubectl/pkg/cmd/get/customcolumn.go)."""
    vals = [obj]
    for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", path.lstrip(".")):
        nxt = []
        for v in vals:
            if part.startswith("["):
                if not isinstance(v, list):
                    continue
                idx = part[1:-1]
                nxt.extend(v if idx == "*" else v[int(idx):int(idx) + 1] if idx.lstrip("-").isdigit() else [])
            elif isinstance(v, dict) and part in v:
                nxt.append(v[part])
        vals = nxt
    return vals


def custom_columns(objs, spec, no_headers):
    """-o custom-columns=HEADER:.path,...: each value as kubectl prints it, several joined by
    ",", none `<none>`."""
    cols = []
    for c in spec.split(","):
        head, sep, path = c.partition(":")
        if not sep or not path:
            raise KErr("error: unexpected custom-columns spec: %s, expected <header>:<json-path-expr>" % c)
        cols.append((head, path))
    rows = [] if no_headers else [[h for h, _ in cols]]
    for o in objs:
        row = []
        for _, path in cols:
            vals = [v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v).lower()
                    if isinstance(v, bool) else str(v) for v in _jsonpath(o, path)]
            row.append(",".join(vals) if vals else "<none>")
        rows.append(row)
    _columns(rows)


def match_sel(o, sel):
    if not sel:
        return True
    lab = o["metadata"].get("labels", {})
    for part in sel.split(","):
        if "!=" in part:
            k, v = part.split("!=")
            if lab.get(k) == v:
                return False
        elif "=" in part:
            k, v = part.split("=", 1)
            if lab.get(k.rstrip("=")) != v:
                return False
        elif part.startswith("!"):
            if part[1:] in lab:
                return False
        elif part not in lab:
            return False
    return True


def do_get(c, vals, pos, ns):
    if not pos:
        raise KErr("You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.")
    t = rtype(pos[0].split("/")[0], c)
    names = pos[1:] if "/" not in pos[0] else [pos[0].split("/", 1)[1]]
    out = vals.get("output")
    if names:
        objs, missing = [], []
        for n in names:
            try:
                objs.append(req(c, "GET", p(t, ns, n)))
            except NotFound as e:
                missing.append(str(e))
        fmt_out(objs, out, t, len(names) == 1 and bool(objs), vals.get("no-headers")) if objs else None
        if missing and not vals.get("ignore-not-found"):
            raise KErr("\n".join(missing))
        return 0
    lst = req(c, "GET", p(t, None if vals.get("all-namespaces") else ns))
    objs = [o for o in lst["items"] if match_sel(o, vals.get("selector"))]
    fmt_out(objs, out, t, False, vals.get("no-headers"))
    return 0


def load_docs(files):
    docs = []
    for f in files:
        text = sys.stdin.read() if f == "-" else (read(f) if f.startswith("/") else None)
        if text is None and f != "-" and os.path.exists(f):
            text = open(f).read()
        if text is None:
            raise KErr('error: the path "%s" does not exist' % f)
        for d in yaml.safe_load_all(text):
            if not d:
                continue
            for item in (d.get("items") or []) if d.get("kind") == "List" else [d]:
                docs.append((f if f != "-" else "STDIN", item))
    return docs


def kind_type(c, d, source="STDIN"):
    """The resource type of a manifest's kind, found through the server's discovery (as kubectl's
    RESTMapper does): a kind the server does not serve (no CRD installed) is refused."""
    k = d.get("kind", "")
    av = d.get("apiVersion", "v1")
    g, _, v = av.rpartition("/")
    try:
        res = req(c, "GET", "/api/v1" if not g else "/apis/%s/%s" % (g, v))
    except NotFound:
        res = {"resources": []}
    for r in res.get("resources") or []:
        if r.get("kind") == k and "/" not in r["name"]:
            t = r["name"]
            if t not in TYPES:
                TYPES[t] = (g, v, t, r.get("namespaced", False))
                SINGULAR[t] = k.lower() + ("." + g if g else "")
            return t
    raise KErr('error: unable to recognize "%s": no matches for kind "%s" in version "%s"' % (source, k, av))


def do_apply(c, vals, pos, ns):
    if not vals.get("filename"):
        raise KErr("error: must specify one of -f and -k")
    errors = []
    validate = str(vals.get("validate", "true")).lower() not in ("false", "0", "f")
    stopped = set()  # sources whose stream stopped at a document that failed validation
    for src, d in load_docs(vals["filename"]):
        if src in stopped:
            continue
        bad = validation.errors(d) if validate else []
        if bad:
            # kubectl's StreamVisitor validates each document before it applies it and stops
            # the stream at the first invalid one (`cli-runtime/pkg/resource/visitor.go`)
            errors.append(validation.message(src, bad))
            stopped.add(src)
            continue
        try:
            t = kind_type(c, d, src)
        except KErr as e:
            errors.append(str(e))
            continue
        name = d["metadata"]["name"]
        dns = d["metadata"].get("namespace") or ns
        if TYPES[t][3]:
            d["metadata"]["namespace"] = dns
        try:
            old = req(c, "GET", p(t, dns, name))
        except NotFound:
            old = None
        if old is None:
            req(c, "POST", p(t, dns), d)
            print("%s/%s created" % (SINGULAR[t], name))
        else:
            strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status")}
            if strip(old) == strip(d) and old["metadata"].get("labels") == d["metadata"].get("labels"):
                print("%s/%s unchanged" % (SINGULAR[t], name))
            else:
                req(c, "PUT", p(t, dns, name), d)
                print("%s/%s configured" % (SINGULAR[t], name))
    if errors:
        raise KErr("\n".join(errors))
    return 0


PATCH_TYPES = {"json": patches.JSON_PATCH, "merge": patches.MERGE, "strategic": patches.STRATEGIC}


def do_patch(c, vals, pos, ns):
    """kubectl patch (staging/src/k8s.io/kubectl/pkg/cmd/patch/patch.go, v1.22): --type
    json|merge|strategic (default strategic), -p; --local patches the objects of -f on the
    client and prints them (-o json|yaml). "patched (no change)" when the object is the same."""
    ptype = vals.get("type") or "strategic"
    if ptype not in PATCH_TYPES:
        raise KErr('error: --type must be one of [json merge strategic], not "%s"' % ptype)
    if "patch" not in vals:
        raise KErr("error: must specify -p to patch")
    try:
        body = json.loads(vals["patch"]) if vals["patch"].lstrip().startswith(("{", "[")) else yaml.safe_load(vals["patch"])
    except ValueError as e:
        raise KErr("error: unable to parse \"%s\": %s" % (vals["patch"], e))
    out = vals.get("output")
    if vals.get("local"):
        if not vals.get("filename"):
            raise KErr("error: cannot specify --local and server-side")
        for src, d in load_docs(vals["filename"]):
            try:
                new = patches.apply(PATCH_TYPES[ptype], d, body, False)
            except patches.PatchError as e:
                raise KErr("error: %s" % e)
            if out in ("json", "yaml"):
                fmt_out([new], out, None, True)
            else:
                print("%s/%s patched" % (d.get("kind", "").lower(), d["metadata"]["name"]))
        return 0
    if vals.get("filename"):
        targets = [(kind_type(c, d, src), d["metadata"]["name"], d["metadata"].get("namespace") or ns)
                   for src, d in load_docs(vals["filename"])]
    else:
        if not pos:
            raise KErr("error: You must provide one or more resources by argument or filename.")
        t = rtype(pos[0].split("/")[0], c)
        names = pos[1:] if "/" not in pos[0] else [pos[0].split("/", 1)[1]]
        targets = [(t, n, ns) for n in names]
    for t, name, tns in targets:
        old = req(c, "GET", p(t, tns, name))
        new = req(c, "PATCH", p(t, tns, name), body, ctype=PATCH_TYPES[ptype])
        same = new["metadata"].get("resourceVersion") == old["metadata"].get("resourceVersion")
        if out in ("json", "yaml"):
            fmt_out([new], out, t, True)
        else:
            print("%s/%s patched%s" % (SINGULAR[t], name, " (no change)" if same else ""))
    return 0


def node_target(pos, verb):
    if not pos:
        raise KErr("error: resource(s) were provided, but no name was specified")
    if pos[0] in ("node", "nodes", "no"):
        return pos[1], pos[2:]
    if pos[0].startswith(("node/", "nodes/")):
        return pos[0].split("/", 1)[1], pos[1:]
    if verb in ("drain", "cordon", "uncordon"):
        return pos[0], pos[1:]
    raise KErr('error: the server doesn\'t have a resource type "%s"' % pos[0])


def do_label(c, vals, pos, ns):
    name, kvs = node_target(pos, "label")
    n = req(c, "GET", p("nodes", None, name))
    lab = n["metadata"].setdefault("labels", {})
    patch = {}
    for kv in kvs:
        if kv.endswith("-"):
            patch[kv[:-1]] = None
        else:
            k, _, v = kv.partition("=")
            if k in lab and lab[k] != v and not vals.get("overwrite"):
                raise KErr("error: '%s' already has a value (%s), and --overwrite is false" % (k, lab[k]))
            patch[k] = v
    req(c, "PATCH", p("nodes", None, name), {"metadata": {"labels": patch}}, "application/merge-patch+json")
    print("node/%s labeled" % name if any(v is not None for v in patch.values()) else "node/%s unlabeled" % name)
    return 0


def do_taint(c, vals, pos, ns):
    name, specs = node_target(pos, "taint")
    n = req(c, "GET", p("nodes", None, name))
    taints = n.get("spec", {}).get("taints") or []
    for s in specs:
        if s.endswith("-"):
            k = s[:-1].split(":")[0].split("=")[0]
            eff = s[:-1].split(":")[1] if ":" in s else None
            new = [t for t in taints if not (t["key"] == k and (eff is None or t["effect"] == eff))]
            if len(new) == len(taints):
                raise KErr('error: taint "%s" not found' % s[:-1])
            taints = new
        else:
            kv, _, eff = s.partition(":")
            if eff not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
                raise KErr('error: invalid taint effect: %s, unsupported taint effect' % eff)
            k, _, v = kv.partition("=")
            taints = [t for t in taints if not (t["key"] == k and t["effect"] == eff)] + [dict({"key": k, "effect": eff}, **({"value": v} if v else {}))]
    req(c, "PATCH", p("nodes", None, name), {"spec": {"taints": taints}}, "application/merge-patch+json")
    print("node/%s %s" % (name, "untainted" if all(s.endswith("-") for s in specs) else "tainted"))
    return 0


def _cordon(c, name, flag):
    req(c, "PATCH", p("nodes", None, name), {"spec": {"unschedulable": True if flag else None}}, "application/merge-patch+json")


def do_cordon(c, vals, pos, ns):
    name, _ = node_target(pos, "cordon")
    _cordon(c, name, True)
    print("node/%s cordoned" % name)
    return 0


def do_uncordon(c, vals, pos, ns):
    name, _ = node_target(pos, "uncordon")
    _cordon(c, name, False)
    print("node/%s uncordoned" % name)
    return 0


def do_drain(c, vals, pos, ns):
    """kubectl drain: cordon, then evict the node's pods through the eviction API (which
    honours PodDisruptionBudgets), retrying a refused eviction every 5s until --timeout."""
    name, _ = node_target(pos, "drain")
    req(c, "GET", p("nodes", None, name))
    _cordon(c, name, True)
    print("node/%s cordoned" % name)
    pods = [o for o in req(c, "GET", "/api/v1/pods")["items"] if (o.get("spec") or {}).get("nodeName") == name]
    evict, errors, ignored = [], [], []
    for o in pods:
        md = o["metadata"]
        ref = "%s/%s" % (md.get("namespace"), md["name"])
        if "kubernetes.io/config.mirror" in (md.get("annotations") or {}):
            continue
        owners = md.get("ownerReferences") or []
        if any(r.get("kind") == "DaemonSet" for r in owners):
            (ignored if vals.get("ignore-daemonsets") else errors).append(("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)", ref))
            continue
        if not owners and not vals.get("force"):
            errors.append(("cannot delete Pods declare no controller (use --force to override)", ref))
            continue
        if any("emptyDir" in v for v in (o.get("spec") or {}).get("volumes") or []) and not (
                vals.get("delete-emptydir-data") or vals.get("delete-local-data")):
            errors.append(("cannot delete Pods with local storage (use --delete-emptydir-data to override)", ref))
            continue
        evict.append(o)
    if errors:
        by = {}
        for why, ref in errors:
            by.setdefault(why, []).append(ref)
        raise KErr('error: unable to drain node "%s" due to error:%s, continuing command...\nThere are pending nodes to be drained:\n %s\n%s'
                   % (name, ", ".join("%s: %s" % (w, ", ".join(r)) for w, r in by.items()), name,
                      "\n".join("%s: %s" % (w, ", ".join(r)) for w, r in by.items())))
    if ignored:
        err("WARNING: ignoring DaemonSet-managed Pods: " + ", ".join(r for _, r in ignored))
    timeout = _seconds(vals.get("timeout") or "0s")
    deadline = time.time() + timeout if timeout else None
    for o in evict:
        md = o["metadata"]
        podns, pod = md.get("namespace"), md["name"]
        print("evicting pod %s/%s" % (podns, pod))
        while True:
            try:
                if vals.get("disable-eviction"):
                    req(c, "DELETE", p("pods", podns, pod))
                else:
                    req(c, "POST", p("pods", podns, pod) + "/eviction",
                        {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": podns}})
                print("pod/%s evicted" % pod)
                break
            except NotFound:
                break
            except KErr as e:
                if e.status != 429:
                    raise
                if deadline is not None and time.time() + 5 > deadline:
                    raise KErr('error: unable to drain node "%s" due to error:[error when evicting pods/"%s" -n "%s": global timeout reached: %s], '
                               "continuing command...\nThere are pending nodes to be drained:\n %s\nerror when evicting pods/\"%s\" -n \"%s\": "
                               "global timeout reached: %s" % (name, pod, podns, vals["timeout"], name, pod, podns, vals["timeout"]))
                err('error when evicting pods/"%s" -n "%s" (will retry after 5s): %s' % (pod, podns, str(e).split(": ", 1)[-1]))
                time.sleep(5)
    print("node/%s drained" % name)
    return 0


def _seconds(d):
    import re
    total = 0.0
    for num, unit in re.findall(r"([\d.]+)(ms|h|m|s)", d):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def do_delete(c, vals, pos, ns):
    targets = []
    if vals.get("filename"):
        for src, d in load_docs(vals["filename"]):
            t = kind_type(c, d, src)
            targets.append((t, d["metadata"].get("namespace") or ns, d["metadata"]["name"]))
    elif pos:
        if "/" in pos[0]:
            for x in pos:
                tt, _, n = x.partition("/")
                targets.append((rtype(tt, c), ns, n))
        else:
            t = rtype(pos[0], c)
            if len(pos) < 2:
                raise KErr("error: resource(s) were provided, but no name was specified")
            targets += [(t, ns, n) for n in pos[1:]]
    else:
        raise KErr("error: You must provide one or more resources by argument or filename.")
    missing = []
    for t, tns, n in targets:
        try:
            req(c, "DELETE", p(t, tns, n))
            print('%s "%s" deleted' % (SINGULAR[t].split(".")[0], n))
        except NotFound as e:
            if not vals.get("ignore-not-found"):
                missing.append(str(e))
    if missing:
        raise KErr("\n".join(missing))
    return 0


def _target(c, pos, ns, verb):
    """TYPE NAME or TYPE/NAME of a workload verb: (type, name)."""
    if not pos:
        raise KErr("error: required resource not specified" if verb == "rollout status" else
                   "error: one or more resources must be specified as <resource> <name> or <resource>/<name>")
    if "/" in pos[0]:
        tt, _, name = pos[0].partition("/")
        return rtype(tt, c), name, pos[1:]
    if len(pos) < 2:
        raise KErr("error: resource(s) were provided, but no name was specified")
    return rtype(pos[0], c), pos[1], pos[2:]


def do_set(c, vals, pos, ns):
    """kubectl set image TYPE/NAME CONTAINER=IMAGE... (staging/src/k8s.io/kubectl/pkg/cmd/set/
    set_image.go, v1.22): a strategic merge patch of the pod template's containers; an
    unknown container is an error; no change patches nothing and prints nothing; else
    `<type>/<name> image updated`. Only `image` of `kubectl set` and one resource."""
    if not pos or pos[0] != "image":
        raise KErr('error: unknown command "%s" for "kubectl set"' % (pos[0] if pos else ""))
    args = pos[1:]
    res = [a for a in args if "=" not in a]
    pairs = [a for a in args if "=" in a]
    if not pairs:
        raise KErr("error: at least one image update is required")
    images = {}
    for pr in pairs:
        name, _, image = pr.partition("=")
        if not name or not image:
            raise KErr("error: invalid image to set: %s" % pr)
        images[name] = image
    if len(images) > 1 and "*" in images:
        raise KErr("error: all containers are already specified by *, but saw more than one container_name=container_image pairs")
    t, name, _ = _target(c, res, ns, "set image")
    if t not in ("deployments", "daemonsets", "pods"):
        raise KErr("error: %s/%s: the stand-in sets images of deployments, daemonsets and pods only" % (SINGULAR[t], name))
    obj = req(c, "GET", p(t, ns, name))
    podspec = obj.get("spec") if t == "pods" else ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    errors, changed = [], False
    for cname, image in images.items():
        found = False
        for kind in ("initContainers", "containers"):
            for ct in podspec.get(kind) or []:
                if ct.get("name") == cname or cname == "*":
                    found = True
                    changed |= ct.get("image") != image
                    ct["image"] = image
        if not found:
            errors.append('error: unable to find container named "%s"' % cname)
    if changed:
        patch = {"containers": [{"name": ct["name"], "image": ct["image"]} for ct in podspec.get("containers") or []]}
        if podspec.get("initContainers"):
            patch["initContainers"] = [{"name": ct["name"], "image": ct["image"]} for ct in podspec["initContainers"]]
        body = {"spec": patch} if t == "pods" else {"spec": {"template": {"spec": patch}}}
        req(c, "PATCH", p(t, ns, name), body, ctype=patches.STRATEGIC)
        print("%s/%s image updated" % (SINGULAR[t], name))
    if errors:
        raise KErr("\n".join(errors))
    return 0


def rollout_message(t, o):
    """(message, done, error) of polymorphichelpers' Deployment/DaemonSet StatusViewer (v1.22)."""
    md, spec, st = o.get("metadata") or {}, o.get("spec") or {}, o.get("status") or {}
    name, gen, seen = md.get("name"), int(md.get("generation") or 0), int(st.get("observedGeneration") or 0)
    if t == "deployments":
        if gen > seen:
            return "Waiting for deployment spec update to be observed...", False, None
        cond = [x for x in st.get("conditions") or [] if x.get("type") == "Progressing"]
        if cond and cond[0].get("reason") == "ProgressDeadlineExceeded":
            return None, False, 'error: deployment "%s" exceeded its progress deadline' % name
        replicas, updated = spec.get("replicas", 1), int(st.get("updatedReplicas") or 0)
        if updated < replicas:
            return ('Waiting for deployment "%s" rollout to finish: %d out of %d new replicas have been updated...'
                    % (name, updated, replicas)), False, None
        if int(st.get("replicas") or 0) > updated:
            return ('Waiting for deployment "%s" rollout to finish: %d old replicas are pending termination...'
                    % (name, int(st["replicas"]) - updated)), False, None
        if int(st.get("availableReplicas") or 0) < updated:
            return ('Waiting for deployment "%s" rollout to finish: %d of %d updated replicas are available...'
                    % (name, int(st.get("availableReplicas") or 0), updated)), False, None
        return 'deployment "%s" successfully rolled out' % name, True, None
    if ((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate") != "RollingUpdate":
        return None, True, "error: rollout status is only available for RollingUpdate strategy type"
    if gen > seen:
        return "Waiting for daemon set spec update to be observed...", False, None
    desired, updated = int(st.get("desiredNumberScheduled") or 0), int(st.get("updatedNumberScheduled") or 0)
    if updated < desired:
        return ('Waiting for daemon set "%s" rollout to finish: %d out of %d new pods have been updated...'
                % (name, updated, desired)), False, None
    if int(st.get("numberAvailable") or 0) < desired:
        return ('Waiting for daemon set "%s" rollout to finish: %d of %d updated pods are available...'
                % (name, int(st.get("numberAvailable") or 0), desired)), False, None
    return 'daemon set "%s" successfully rolled out' % name, True, None


def do_rollout(c, vals, pos, ns):
    """kubectl rollout status TYPE/NAME [--watch] [--timeout] (staging/src/k8s.io/kubectl/pkg/cmd/
    rollout/rollout_status.go, v1.22): prints the status viewer's message as it changes until
    done; --watch=false prints it once; --timeout ends the wait with "timed out waiting for the
    condition" (exit 1). The stand-in API server serves no watch: this one reads the object
    again every second."""
    if not pos or pos[0] != "status":
        raise KErr('error: unknown command "%s" for "kubectl rollout"' % (pos[0] if pos else ""))
    t, name, _ = _target(c, pos[1:], ns, "rollout status")
    if t not in ("deployments", "daemonsets"):
        raise KErr("error: no status viewer has been implemented for %s" % SINGULAR[t])
    if vals.get("revision", 0) < 0:
        raise KErr("error: revision must be a positive integer: %d" % vals["revision"])
    timeout = _seconds(vals.get("timeout") or "0s")
    deadline = time.monotonic() + timeout if timeout else None
    last = None
    while True:
        try:
            o = req(c, "GET", p(t, ns, name))
        except NotFound:
            if last is None:
                raise
            raise KErr("error: object has been deleted")
        msg, done, error = rollout_message(t, o)
        if error:
            raise KErr(error)
        if msg != last:
            print(msg, flush=True)
            last = msg
        if done or vals.get("watch") is False:
            return 0
        if deadline is not None and time.monotonic() >= deadline:
            raise KErr("error: timed out waiting for the condition")
        time.sleep(1 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic())))


def entry():
    run_tool("kubectl", main)
