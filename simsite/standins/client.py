"""Tiny HTTPS client (kubectl, edgeadm join, token) speaking to the stand-in apiserver."""
import http.client
import json
import os
import ssl
import tempfile
import urllib.parse


class APIError(Exception):
    def __init__(self, status, body):
        self.status = status
        self.body = body
        try:
            self.message = json.loads(body).get("message", body)
        except Exception:
            self.message = body
        super().__init__(self.message)


def context(ca_pem=None, cert_pem=None, key_pem=None, verify=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify and ca_pem:
        ctx.load_verify_locations(cadata=ca_pem)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert_pem:
        d = tempfile.mkdtemp()
        cf, kf = os.path.join(d, "c"), os.path.join(d, "k")
        with open(cf, "w") as f:
            f.write(cert_pem)
        with open(kf, "w") as f:
            f.write(key_pem)
        os.chmod(kf, 0o600)
        ctx.load_cert_chain(cf, kf)
        os.unlink(cf)
        os.unlink(kf)
        os.rmdir(d)
    return ctx


def request(server, method, path, ctx, body=None, token=None, timeout=60, content_type="application/json"):
    # client-go sets no timeout on a request by default (kubeadm bounds its waits instead);
    # 60 s keeps a stand-in from giving up on a stand-in API server that 50 joins load.
    u = urllib.parse.urlparse(server)
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx, timeout=timeout)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = content_type
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read().decode()
    finally:
        conn.close()
    if resp.status >= 400:
        raise APIError(resp.status, raw)
    return json.loads(raw) if raw else {}


def path_for(group, version, plural, ns=None, name=None):
    base = "/api/v1" if not group else "/apis/%s/%s" % (group, version)
    if ns:
        base += "/namespaces/%s" % ns
    base += "/" + plural
    if name:
        base += "/" + name
    return base
