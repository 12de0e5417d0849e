"""Stand-in etcd, kube-controller-manager and kube-scheduler: the processes of their static pods.
See STANDINS.md, "Static pods".

* etcd (kubeadm 1.22 `cmd/kubeadm/app/phases/etcd/local.go` GetEtcdPodSpec): loads
  --cert-file/--key-file (its server certificate), --peer-cert-file/--peer-key-file and
  --trusted-ca-file when it starts; serves TLS with client certificates required
  (--client-cert-auth) on --listen-client-urls, and `GET /health` over plain HTTP on
  --listen-metrics-urls (http://127.0.0.1:2381, the pod's liveness probe), answering
  `{"health":"true","reason":""}` (etcd 3.5 `server/etcdserver/api/etcdhttp/metrics.go`); its
  peer URL (--listen-peer-urls, advertise:2380) serves TLS with the peer certificate.
  The data is the cluster's shared store (store.py); the member registers itself there.
* kube-controller-manager, kube-scheduler (kubeadm 1.22 `cmd/kubeadm/app/phases/controlplane/
  manifests.go`): load their --kubeconfig's client certificate when they start and refuse to
  start when it is not signed by the kubeconfig's CA or not valid now (the real ones could not
  talk to the API server); serve HTTPS on --bind-address:--secure-port (127.0.0.1:10257 and
  127.0.0.1:10259) with a self-signed certificate made in memory, `GET /healthz` -> `ok` (an
  always-allowed path: `--authorization-always-allow-paths` defaults to /healthz).
"""
import datetime
import json
import os
import ssl
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from . import pki, store
from .common import P, go_flags, local_host, read


def fatal(msg):
    sys.stderr.write("%s F %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()
    os._exit(1)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _handler(routes):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_GET(self):
            code, ctype, body = routes.get(self.path.split("?")[0], (404, "text/plain; charset=utf-8", b"404 page not found\n"))
            if callable(body):
                code, body = body()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    return H


def _listen(host, port, handler, ctx=None):
    import threading
    srv = Server((local_host(host), int(port)), handler)
    if ctx is not None:
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


def _read_or_die(path, what):
    text = read(path)
    if text is None:
        fatal("%s: open %s: no such file or directory" % (what, path))
    return text


def _tls_context(cert_path, key_path, ca_path=None, require_client=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # loaded once, now: a renewed file is seen only by the next process
    ctx.load_cert_chain(P(cert_path), P(key_path))
    if ca_path:
        ctx.load_verify_locations(P(ca_path))
        ctx.verify_mode = ssl.CERT_REQUIRED if require_client else ssl.CERT_OPTIONAL
    return ctx


# ------------------------------------------------------------------------------------ etcd
ETCD_HEALTH = json.dumps({"health": "true", "reason": ""}).encode()


def serve_etcd(argv):
    f = go_flags(argv)
    name = f.get("name", "default")
    for flag in ("cert-file", "key-file", "trusted-ca-file", "peer-cert-file", "peer-key-file", "peer-trusted-ca-file"):
        if f.get(flag):
            _read_or_die(f[flag], "etcd: --%s" % flag)
    ctx = _tls_context(f["cert-file"], f["key-file"], f.get("trusted-ca-file"), f.get("client-cert-auth") == "true")
    peer = f.get("initial-advertise-peer-urls", "").split(",")[0]
    store.add_member(name, peer)
    routes = {"/health": (200, "text/plain; charset=utf-8", ETCD_HEALTH),
              "/version": (200, "application/json", b'{"etcdserver":"3.5.0","etcdcluster":"3.5.0"}'),
              "/metrics": (200, "text/plain; version=0.0.4", b"etcd_server_has_leader 1\n")}
    servers, bound = [], set()
    for flag, default_port in (("listen-client-urls", 2379), ("listen-metrics-urls", 2381)):
        for url in [x for x in f.get(flag, "https://127.0.0.1:2379" if default_port == 2379 else "").split(",") if x]:
            u = urlparse(url)
            where = (local_host(u.hostname), u.port or default_port)
            if where in bound:   # a sandbox's advertise address is its loopback too
                continue
            bound.add(where)
            servers.append(_listen(u.hostname, where[1], _handler(routes), ctx if u.scheme == "https" else None))
    # the peer URL serves with the peer certificate (raft itself is not modelled: the data is shared)
    peer_ctx = _tls_context(f.get("peer-cert-file") or f["cert-file"], f.get("peer-key-file") or f["key-file"],
                            f.get("peer-trusted-ca-file"), f.get("peer-client-cert-auth") == "true")
    for url in [x for x in f.get("listen-peer-urls", "").split(",") if x]:
        u = urlparse(url)
        where = (local_host(u.hostname), u.port or 2380)
        if where not in bound:
            bound.add(where)
            servers.append(_listen(u.hostname, where[1], _handler({"/version": routes["/version"]}), peer_ctx))
    sys.stderr.write("stand-in etcd %s serving: %s\n" % (name, ", ".join("%s:%d" % s.server_address[:2] for s in servers)))
    sys.stderr.flush()
    while True:
        time.sleep(3600)


# ------------------------------------------------ kube-controller-manager, kube-scheduler
def check_kubeconfig(path, who):
    """The component's client identity: refuses (exits) when its certificate is not the CA's."""
    text = _read_or_die(path, "%s: invalid configuration: unable to read client-cert/key for --kubeconfig" % who)
    kc = pki.parse_kubeconfig(text)
    if not kc.get("cert") or not kc.get("ca"):
        fatal("%s: invalid kubeconfig %s: no client certificate or certificate-authority-data" % (who, path))
    cert, ca = pki.load_cert(kc["cert"]), pki.load_cert(kc["ca"])
    if not pki.verify_signed_by(cert, ca):
        fatal('%s: error building controller context: the client certificate of %s is not signed by its CA: '
              'x509: certificate signed by unknown authority (the API server answers "Unauthorized")' % (who, path))
    now = datetime.datetime.now(datetime.timezone.utc)
    nb, na = pki.not_before(cert), pki.not_after(cert)
    if not nb <= now <= na:
        fatal("%s: the client certificate of %s is not valid now: x509: certificate has expired or is not yet valid: "
              "current time %s is outside %s - %s" % (who, path, now.strftime("%Y-%m-%dT%H:%M:%SZ"), nb.isoformat(), na.isoformat()))
    return cert


def _self_signed_context(cn):
    """What the real component does without --tls-cert-file: a self-signed serving certificate
    made in memory (`staging/src/k8s.io/apiserver/pkg/server/options/serving.go`
    MaybeDefaultWithSelfSignedCerts)."""
    ca_cert, ca_key = pki.make_ca("%s-ca@%d" % (cn, int(time.time())))
    cert, key = pki.new_signed_cert(ca_cert, ca_key, "%s@%d" % (cn, int(time.time())), dns=["localhost"],
                                    ips=["127.0.0.1"], usages=(pki.SERVER,))
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "c"), "w") as f:
            f.write(pki.cert_pem(cert) + pki.cert_pem(ca_cert))
        with open(os.path.join(d, "k"), "w") as f:
            f.write(pki.key_pem(key))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "c"), os.path.join(d, "k"))
    return ctx


def serve_component(comp, argv):
    port = {"kube-controller-manager": 10257, "kube-scheduler": 10259}[comp]
    f = go_flags(argv)
    kubeconfig = f.get("kubeconfig")
    if not kubeconfig:
        fatal("%s: no --kubeconfig: the stand-in needs the component's client identity" % comp)
    check_kubeconfig(kubeconfig, comp)
    bind = f.get("bind-address", "0.0.0.0")
    routes = {"/healthz": (200, "text/plain; charset=utf-8", b"ok")}
    srv = _listen(bind, int(f.get("secure-port", port)), _handler(routes), _self_signed_context(comp))
    sys.stderr.write("stand-in %s serving /healthz on https://%s:%d\n" % (comp, *srv.server_address[:2]))
    sys.stderr.flush()
    while True:
        time.sleep(3600)


def main(comp, argv):
    try:
        if comp == "etcd":
            serve_etcd(argv)
        elif comp == "kube-apiserver":
            from .apiserver import serve
            serve(argv)
        else:
            serve_component(comp, argv)
    except Exception as e:  # noqa: BLE001 - a process that cannot start exits 1 with its error
        fatal("%s: %s: %s" % (comp, type(e).__name__, e))
