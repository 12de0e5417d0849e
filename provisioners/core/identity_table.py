"""The cluster identity's attributes, once: name, secret or not, where steps put it on hosts,
its file in a credentials directory of the earlier release, and its documentation.

Everything that names them derives from `ATTRS`: the `Identity` protocol the steps read
(`provisioners.steps.context`), the `edge_cluster_identity` schema
(`edge_constructs.terraform.provider.identity_resource`), the constructs' upload sources
(`edge_constructs.terraform.identity_values`) and the import of a credentials directory
(`edge_constructs.credentials.identity`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from provisioners.core.paths import CA_HASH_FILE, ETC_DIR, PKI_DIR, RETIRED_TOKENS_FILE, TOKEN_FILE

__all__ = ["Attr", "ATTRS", "BY_NAME", "UPLOADED", "SECRET", "VALUES", "FILES", "EDGE_INFO_DIR"]

#: Where lite-apiserver's certificate waits for `edgeadm join` on edge nodes.
EDGE_INFO_DIR = f"{ETC_DIR}/edge-info"


@dataclass(frozen=True)
class Attr:
    """One value of the identity (a computed string attribute of `edge_cluster_identity`)."""
    name: str
    doc: str
    secret: bool = False
    #: Where steps put it on hosts (None: it never reaches a host) and with which mode.
    host_path: Optional[str] = None
    mode: str = "0600"
    #: Its file in a credentials directory written by the earlier release (None: not there,
    #: derived at import).
    file: Optional[str] = None
    #: The name steps read on `ctx.creds`, when not `name`.
    step_name: Optional[str] = None

    @property
    def uploaded(self) -> bool:
        return self.host_path is not None

    @property
    def creds_name(self) -> str:
        return self.step_name or self.name


def _pki(name: str) -> str:
    return f"{PKI_DIR}/{name}"


ATTRS: tuple[Attr, ...] = (
    Attr("ca_cert", "cluster CA certificate (PEM)", host_path=_pki("ca.crt"), mode="0644",
         file="ca.crt"),
    Attr("ca_key", "cluster CA private key (PEM)", secret=True, host_path=_pki("ca.key"),
         file="ca.key"),
    Attr("front_proxy_ca_cert", "front-proxy CA certificate",
         host_path=_pki("front-proxy-ca.crt"), mode="0644", file="front-proxy-ca.crt"),
    Attr("front_proxy_ca_key", "front-proxy CA key", secret=True,
         host_path=_pki("front-proxy-ca.key"), file="front-proxy-ca.key"),
    Attr("etcd_ca_cert", "etcd CA certificate", host_path=_pki("etcd/ca.crt"), mode="0644",
         file="etcd-ca.crt"),
    Attr("etcd_ca_key", "etcd CA key", secret=True, host_path=_pki("etcd/ca.key"),
         file="etcd-ca.key"),
    Attr("sa_key", "service-account signing key", secret=True, host_path=_pki("sa.key"),
         file="sa.key"),
    Attr("sa_pub", "service-account public key", host_path=_pki("sa.pub"), mode="0644",
         file="sa.pub"),
    Attr("admin_cert", "admin client certificate (system:masters)", file="admin.crt"),
    Attr("admin_key", "admin client key", secret=True, file="admin.key"),
    Attr("kubeconfig", "admin kubeconfig", secret=True, file="admin.conf"),
    Attr("tunnel_anp_client_cert", "tunnel-anp client certificate",
         host_path=_pki("tunnel-anp-client.crt"), mode="0644", file="tunnel-anp-client.crt"),
    Attr("tunnel_anp_client_key", "tunnel-anp client key", secret=True,
         host_path=_pki("tunnel-anp-client.key"), file="tunnel-anp-client.key"),
    Attr("lite_apiserver_cert", "lite-apiserver serving certificate",
         host_path=f"{EDGE_INFO_DIR}/lite-apiserver.crt", file="lite-apiserver.crt"),
    Attr("lite_apiserver_key", "lite-apiserver serving key", secret=True,
         host_path=f"{EDGE_INFO_DIR}/lite-apiserver.key", file="lite-apiserver.key"),
    Attr("bootstrap_token", 'bootstrap token "<id>.<secret>"', secret=True,
         host_path=TOKEN_FILE, file="bootstrap-token"),
    Attr("bootstrap_token_id", "public id of the bootstrap token"),
    Attr("ca_cert_hash", 'kubeadm discovery hash of the cluster CA: "sha256:<hex of its SPKI>"',
         host_path=CA_HASH_FILE, mode="0644", step_name="ca_cert_hash_file"),
    Attr("retired_bootstrap_token_ids",
         "ids of rotated-out bootstrap tokens (their Secrets are deleted)",
         host_path=RETIRED_TOKENS_FILE, mode="0644"),
)

BY_NAME = {a.name: a for a in ATTRS}
#: Every value attribute, in table order.
VALUES = tuple(a.name for a in ATTRS)
#: Values that reach hosts (uploaded by steps): the provider publishes a digest of each, so
#: a step is replaced exactly when what it uploads changes.
UPLOADED = tuple(a.name for a in ATTRS if a.uploaded)
SECRET = frozenset(a.name for a in ATTRS if a.secret)
#: attribute -> file name in a credentials directory of the earlier release.
FILES = {a.name: a.file for a in ATTRS if a.file}
