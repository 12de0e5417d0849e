"""The few Kubernetes API calls the provider makes, with the `kubernetes` client from the
operator's machine, through the API server endpoint of the admin kubeconfig in state.

Objects stay plain JSON (dicts): the provider reads a handful of fields and patches with JSON
merge patches (RFC 7386, `application/merge-patch+json`), guarded by resourceVersion where a
list is replaced (taints)."""
from __future__ import annotations

import base64
import json
import os
import time
from typing import Optional

import yaml

from provisioners.core.errors import KubeError

#: Seconds one API request may take.
REQUEST_TIMEOUT = 15.0


def _current(doc: dict, kind: str, name: Optional[str]) -> dict:
    for item in doc.get(f"{kind}s") or []:
        if item.get("name") == name:
            return item.get(kind) or {}
    raise KubeError(f"kubeconfig: no {kind} named {name!r} (its current-context names it)")


def _load_client_cert(ctx, cert_pem: bytes, key_pem: bytes) -> None:
    """`ctx.load_cert_chain` from memory. Python's ssl reads a certificate chain only from a
    path, so the path is an anonymous memory file (memfd_create, /proc/self/fd/N) that never
    touches a disk and is gone when closed; where memfd is missing, a 0700 directory of ours
    removed as soon as the chain is loaded."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("edge-kube-client", getattr(os, "MFD_CLOEXEC", 0))
        try:
            os.write(fd, cert_pem + b"\n" + key_pem)
            ctx.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="edge-kube-")  # 0700
    try:
        path = os.path.join(d, "client.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(cert_pem + b"\n" + key_pem)
        ctx.load_cert_chain(path)
    finally:
        shutil.rmtree(d, ignore_errors=True)


class Kube:
    """A client of one cluster's API server, from its kubeconfig text (the admin kubeconfig
    in state: server, CA, client certificate and key as `*-data`, or a bearer token).

    The credentials stay in this process's memory: the `kubernetes` library's own loader
    writes `*-data` to temporary files removed only at exit (left behind when the process is
    killed), so the TLS context is made here and handed to urllib3."""

    def __init__(self, kubeconfig: str):
        import ssl

        import urllib3
        from kubernetes import client

        doc = yaml.safe_load(kubeconfig) or {}
        ctx_name = doc.get("current-context")
        context = _current(doc, "context", ctx_name)
        cluster = _current(doc, "cluster", context.get("cluster"))
        user = _current(doc, "user", context.get("user"))
        cfg = client.Configuration()
        cfg.host = self.server = cluster.get("server", "")
        if user.get("token"):
            cfg.api_key = {"BearerToken": "Bearer " + user["token"]}
        self._api = client.ApiClient(cfg)
        if self.server.startswith("https://"):
            if cluster.get("insecure-skip-tls-verify"):
                tls = ssl._create_unverified_context()  # noqa: S323 - the kubeconfig asks for it
            else:
                ca = cluster.get("certificate-authority-data")
                tls = ssl.create_default_context(
                    cadata=base64.b64decode(ca).decode() if ca else None)
            if user.get("client-certificate-data") and user.get("client-key-data"):
                _load_client_cert(tls, base64.b64decode(user["client-certificate-data"]),
                                  base64.b64decode(user["client-key-data"]))
            kw = {}
            if cluster.get("tls-server-name"):
                kw["server_hostname"] = cluster["tls-server-name"]
            self._api.rest_client.pool_manager = urllib3.PoolManager(
                ssl_context=tls, maxsize=4, **kw)

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> "Kube":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- one request ---------------------------------------------------------------------

    def call(self, method: str, path: str, body=None, *, query: Optional[dict] = None,
             content_type: str = "application/json", ok=(200, 201)) -> Optional[dict]:
        """The decoded answer of `method path`; None for 404 (unless 404 is in `ok`)."""
        import urllib3
        m, url, headers, data, post = self._api.param_serialize(
            method, path, query_params=list((query or {}).items()),
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body, auth_settings=["BearerToken"])
        try:
            resp = self._api.call_api(m, url, headers, data, post,
                                      _request_timeout=REQUEST_TIMEOUT)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise KubeError(f"{method} {path}: cannot reach the API server {self.server}: "
                            f"{e}") from None
        raw = resp.read() or b"{}"
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = {"message": raw.decode("utf-8", "replace")[:300]}
        if resp.status in ok:
            return doc
        if resp.status == 404:
            return None
        raise KubeError(f"{method} {path}: {resp.status} {doc.get('reason', resp.reason)}: "
                        f"{doc.get('message', '')}", resp.status, doc.get("reason", ""))

    # --- nodes ---------------------------------------------------------------------------

    def node(self, name: str) -> Optional[dict]:
        return self.call("GET", f"/api/v1/nodes/{name}")

    def nodes(self) -> list[dict]:
        return (self.call("GET", "/api/v1/nodes") or {}).get("items", [])

    def patch_node(self, name: str, patch: dict) -> dict:
        got = self.call("PATCH", f"/api/v1/nodes/{name}", patch,
                        content_type="application/merge-patch+json")
        if got is None:
            raise KubeError(f"PATCH /api/v1/nodes/{name}: the node is gone", 404, "NotFound")
        return got

    def delete_node(self, name: str) -> None:
        self.call("DELETE", f"/api/v1/nodes/{name}")

    def cluster_uid(self) -> str:
        """The UID of the `kube-system` namespace: which cluster answers (two clusters made
        from one CA accept each other's admin certificate; their namespaces' UIDs differ)."""
        ns = self.call("GET", "/api/v1/namespaces/kube-system")
        uid = ((ns or {}).get("metadata") or {}).get("uid")
        if not uid:
            raise KubeError(f"GET /api/v1/namespaces/kube-system on {self.server}: no such "
                            "namespace (or no UID): this is not a cluster to act on", 404)
        return uid

    # --- pods and eviction ---------------------------------------------------------------

    def pods_on(self, node: str) -> list[dict]:
        items = (self.call("GET", "/api/v1/pods",
                           query={"fieldSelector": f"spec.nodeName={node}"}) or {}).get("items", [])
        return [p for p in items if (p.get("spec") or {}).get("nodeName") == node]

    def evict(self, pod: dict) -> Optional[str]:
        """Ask the eviction subresource; None when accepted (or the pod is gone), else why
        not (a PodDisruptionBudget, 429)."""
        meta = pod["metadata"]
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
        try:
            self.call("POST", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/eviction",
                      body, ok=(200, 201))
        except KubeError as e:
            if e.status == 429:
                return str(e)
            raise
        return None

    # --- custom objects -------------------------------------------------------------------

    def ensure(self, path: str, obj: dict, attempts: int = 5) -> None:
        """`obj` exists under the collection `path` (created unless present)."""
        name = obj["metadata"]["name"]
        for i in range(attempts):
            if self.call("GET", f"{path}/{name}") is not None:
                return
            try:
                self.call("POST", path, obj, ok=(200, 201))
                return
            except KubeError as e:
                if e.status != 409 or i == attempts - 1:
                    raise
            time.sleep(0.5)

    def items(self, path: str) -> list[dict]:
        return (self.call("GET", path) or {}).get("items", [])


def condition(node: dict, kind: str = "Ready") -> Optional[dict]:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


def is_ready(node: dict) -> bool:
    c = condition(node)
    return bool(c and c.get("status") == "True")


def describe_conditions(node: dict) -> str:
    """The node's conditions, one per line, as `kubectl describe node` lists them."""
    lines = [f"  {c.get('type')}={c.get('status')} ({c.get('reason', '')}: {c.get('message', '')})"
             for c in (node.get("status") or {}).get("conditions") or []]
    return "\n".join(lines) or "  (the node reports no conditions)"
