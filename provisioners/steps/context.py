"""What a step function is given: the cluster, the host, its role, and the cluster's identity."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Optional, Protocol, Sequence

from provisioners.core.paths import PKG_DIR, package_name, package_path
from provisioners.steps.step import EDGE, MASTER, MASTER0

if TYPE_CHECKING:
    from provisioners.core.props import ClusterSpec, Host

__all__ = ["Context", "Identity", "NodeOptions", "MASTER0", "MASTER", "EDGE"]


class Identity(Protocol):
    """The cluster's identity as the steps need it: for each value a step uploads, its upload
    source (`Upload.source`): a reference to the `edge_cluster_identity` attribute in state
    (`terraform.identity.IdentityValues`), or a local file (the SSH runner without Terraform,
    `simsite.identity`)."""
    ca_cert: str
    ca_key: str
    front_proxy_ca_cert: str
    front_proxy_ca_key: str
    etcd_ca_cert: str
    etcd_ca_key: str
    sa_key: str
    sa_pub: str
    tunnel_anp_client_cert: str
    tunnel_anp_client_key: str
    lite_apiserver_cert: str
    lite_apiserver_key: str
    bootstrap_token: str
    ca_cert_hash_file: str
    retired_bootstrap_token_ids: str


@dataclass(frozen=True)
class NodeOptions:
    """What an edge node adds to the cluster's settings (labels, taints, node unit)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[str] = ()
    node_unit: Optional[str] = None


@dataclass(frozen=True)
class Context:
    """One host's view of the cluster."""
    spec: "ClusterSpec"
    host: "Host"
    role: str
    creds: Optional[Identity]
    node: NodeOptions = field(default_factory=NodeOptions)

    @property
    def is_master(self) -> bool:
        return self.role in (MASTER0, MASTER)

    @property
    def master0(self) -> "Host":
        return self.spec.masters[0]

    @property
    def node_name(self) -> str:
        return self.host.key

    @property
    def package_name(self) -> str:
        return package_name(self.spec)

    @property
    def package_path(self) -> str:
        """Where the install package lies on the host (what `--install-pkg-path` names)."""
        return package_path(self.spec)

    @property
    def install_dir(self) -> str:
        return f"{PKG_DIR}/edge-install"
