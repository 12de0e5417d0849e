"""The few Kubernetes API calls the provider makes, with the `kubernetes` client from the
operator's machine, through the API server endpoint of the admin kubeconfig in state.

Objects stay plain JSON (dicts): the provider reads a handful of fields and patches with JSON
merge patches (RFC 7386, `application/merge-patch+json`), guarded by resourceVersion where a
list is replaced (taints)."""
from __future__ import annotations

import json
import time
from typing import Optional

import yaml

from provisioners.core.errors import KubeError

#: Seconds one API request may take.
REQUEST_TIMEOUT = 15.0


class Kube:
    """A client of one cluster's API server, from its kubeconfig text."""

    def __init__(self, kubeconfig: str):
        from kubernetes import config
        self._api = config.new_client_from_config_dict(yaml.safe_load(kubeconfig))
        self.server = self._api.configuration.host

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
