"""Stand-in kube-apiserver: HTTPS, cert signed by the cluster CA, generic object REST, kubeadm token discovery."""
import base64
import datetime
import json
import os
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import ThreadingMixIn

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from . import jws, pki, store
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
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions"): ("CustomResourceDefinition", False),
}
NODE_GRACE = "/etc/standins/node-monitor-grace-period"


def resources(objs):
    """Every served resource: the built-in ones and those of installed CRDs (each served version)."""
    out = dict(BUILTIN)
    for k, o in objs.items():
        if not k.startswith("apiextensions.k8s.io|customresourcedefinitions|"):
            continue
        spec = o.get("spec") or {}
        names = spec.get("names") or {}
        for v in spec.get("versions") or []:
            if v.get("served", True):
                out[(spec.get("group"), v.get("name"), names.get("plural"))] = (names.get("kind"), spec.get("scope") == "Namespaced")
    return out


def discovery(objs, group, version):
    res = [{"name": pl, "singularName": "", "namespaced": ns, "kind": kind,
            "verbs": ["create", "delete", "get", "list", "patch", "update"]}
           for (g, v, pl), (kind, ns) in sorted(resources(objs).items()) if g == group and v == version]
    if not res:
        return None
    if group == "" and version == "v1":
        res.append({"name": "pods/eviction", "singularName": "", "namespaced": True, "kind": "Eviction", "group": "policy",
                    "version": "v1", "verbs": ["create"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": (group + "/" if group else "") + version,
            "resources": res}


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

    def send(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def status(self, code, reason, message):
        self.send(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": message, "reason": reason, "code": code})

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

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        path = self.path.split("?")[0]
        if path in ("/healthz", "/readyz", "/livez"):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        if path == "/version":
            return self.send(200, {"major": "1", "minor": "22", "gitVersion": "v1.22.6"})
        if path in ("/api", "/apis") or path.startswith("/apis/") and path.count("/") == 3 or path == "/api/v1":
            return self.discover(path)
        parsed = parse_path(path)
        if not parsed:
            return self.status(404, "NotFound", "the server could not find the requested resource")
        group, version, plural, ns, name, sub = parsed
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
        if sub == "eviction" and method == "POST":
            verb = "create"
        with store.locked(write=method != "GET") as data:
            objs = data["objects"]
            if method != "GET":
                for kk in [kk for kk, o in objs.items() if kk.startswith("|secrets|kube-system|") and expired_token(o)]:
                    del objs[kk]
            if (group, version, plural) not in resources(objs):
                return self.status(404, "NotFound", "the server could not find the requested resource")
            kind = resources(objs)[(group, version, plural)][0]
            user, groups, has_cert = self.who(objs)
            if user is None:
                return self.status(401, "Unauthorized", "Unauthorized")
            if not self.allowed(objs, user, groups, has_cert, verb, group, plural, ns, name, body):
                what = '%s "%s"' % (plural, name) if name else plural
                where = ' in the namespace "%s"' % ns if ns else " at the cluster scope"
                return self.status(403, "Forbidden", '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s"%s'
                                   % (what, user, verb, plural, group, where))
            if group == "certificates.k8s.io" and plural == "certificatesigningrequests" and method == "POST":
                return self.sign_csr(body)
            k = store.key(group, plural, ns, name) if name else None
            gone = lambda o: plural == "secrets" and expired_token(o)  # noqa: E731
            view = (lambda o: node_view(o)) if plural == "nodes" else (lambda o: o)
            if method == "GET":
                if name:
                    o = objs.get(k)
                    if o is None or gone(o):
                        return self.status(404, "NotFound", '%s "%s" not found' % (plural, name))
                    if (ns, plural, name) == ("kube-public", "configmaps", "cluster-info"):
                        o = self.with_jws(objs, o)
                    return self.send(200, view(o))
                items = [view(o) for kk, o in sorted(objs.items()) if kk.split("|")[:2] == [group, plural]
                         and (ns is None or kk.split("|")[2] == ns) and not gone(o)]
                return self.send(200, {"apiVersion": (group + "/" if group else "") + version, "kind": kind + "List", "items": items,
                                       "metadata": {"resourceVersion": str(data["rv"])}})
            if method == "POST" and sub == "eviction":
                return self.evict(data, objs, k, ns, name)
            if method == "POST":
                name = (body.get("metadata") or {}).get("name")
                k = store.key(group, plural, ns, name)
                if k in objs:
                    return self.status(409, "AlreadyExists", '%s "%s" already exists' % (plural, name))
                if ns:
                    body["metadata"]["namespace"] = ns
                body.setdefault("apiVersion", (group + "/" if group else "") + version)
                body.setdefault("kind", kind)
                objs[k] = store.stamp(data, body)
                return self.send(201, objs[k])
            if k not in objs and method != "PUT":
                return self.status(404, "NotFound", '%s "%s" not found' % (plural, name))
            # optimistic concurrency: a resourceVersion in the body is a precondition
            want_rv = ((body or {}).get("metadata") or {}).get("resourceVersion") if method in ("PUT", "PATCH") else None
            if want_rv and (k not in objs or objs[k]["metadata"].get("resourceVersion") != str(want_rv)):
                if k not in objs:
                    return self.status(404, "NotFound", '%s "%s" not found' % (plural, name))
                what = plural if not group else "%s.%s" % (plural, group)
                return self.status(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                                   "please apply your changes to the latest version and try again" % (what, name))
            if method == "DELETE":
                o = objs.pop(k)
                return self.send(200, o)
            if method == "PUT":
                old = objs.get(k)
                if ns:
                    body.setdefault("metadata", {})["namespace"] = ns
                if sub == "status" and old:
                    body = dict(old, status=body.get("status"))
                objs[k] = store.stamp(data, body, old)
                return self.send(200 if old else 201, objs[k])
            # PATCH: JSON merge patch (of the status only, for the status subresource)
            if sub == "status":
                body = {"status": (body or {}).get("status")}
            objs[k] = store.stamp(data, merge(objs[k], body), objs[k])
            return self.send(200, objs[k])

    def discover(self, path):
        with store.locked() as data:
            objs = data["objects"]
            if path == "/api":
                return self.send(200, {"kind": "APIVersions", "versions": ["v1"]})
            if path == "/apis":
                gvs = sorted({(g, v) for (g, v, _) in resources(objs) if g})
                groups = {}
                for g, v in gvs:
                    groups.setdefault(g, []).append({"groupVersion": g + "/" + v, "version": v})
                return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    {"name": g, "versions": vs, "preferredVersion": vs[-1]} for g, vs in sorted(groups.items())]})
            parts = path.strip("/").split("/")
            group, version = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
            d = discovery(objs, group, version)
            if d is None:
                return self.status(404, "NotFound", "the server could not find the requested resource")
            return self.send(200, d)

    def evict(self, data, objs, k, ns, name):
        pod = objs.get(k)
        if pod is None:
            return self.status(404, "NotFound", 'pods "%s" not found' % name)
        ok, pdb, want, healthy = pdb_allows(objs, pod)
        if not ok:
            body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
                    "details": {"causes": [{"reason": "DisruptionBudget", "message": "The disruption budget %s needs %d healthy pods "
                                            "and has %d currently" % (pdb, want, healthy)}]}, "code": 429}
            return self.send(429, body)
        del objs[k]
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
            if group == "certificates.k8s.io" and verb == "create":
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

    def sign_csr(self, body):
        req = x509.load_pem_x509_csr(base64.b64decode(body["spec"]["request"]))
        ca_cert = pki.load_cert(read(pki.PKI + "/ca.crt"))
        ca_key = pki.load_key(read(pki.PKI + "/ca.key"))
        cn = req.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
        orgs = [a.value for a in req.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)]
        cert, _ = pki.sign(ca_cert, ca_key, cn, orgs, pub=req.public_key())
        body.setdefault("status", {})["certificate"] = base64.b64encode(pki.cert_pem(cert).encode()).decode()
        body["status"]["conditions"] = [{"type": "Approved", "status": "True", "reason": "AutoApproved"}]
        return self.send(201, body)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


def merge(a, b):
    if not isinstance(b, dict) or not isinstance(a, dict):
        return b
    out = dict(a)
    for k, v in b.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(a.get(k), v)
    return out


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve():
    conf = json.loads(read(CONF))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(P(pki.PKI + "/apiserver.crt"), P(pki.PKI + "/apiserver.key"))
    ctx.load_verify_locations(P(pki.PKI + "/ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    # kube-apiserver binds 0.0.0.0 by default (so a kube-vip VIP reaches it too); the
    # local sandboxes of the unit tests share one network, so they keep to their address.
    bind = conf["address"] if os.environ.get("STANDIN_ROOT") else "0.0.0.0"
    srv = Server((bind, int(conf["port"])), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    sys.stderr.write("stand-in kube-apiserver listening on %s:%s\n" % (conf["address"], conf["port"]))
    sys.stderr.flush()
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
