"""What a step function is given: the cluster, the host, its role, and the cluster's identity."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Protocol, Sequence

from edge_constructs.core.paths import PKG_DIR, package_name, package_path
from edge_constructs.steps.step import EDGE, MASTER, MASTER0

if TYPE_CHECKING:
    from edge_constructs.core.props import ClusterSpec, Host

__all__ = ["Context", "Identity", "NodeOptions", "MASTER0", "MASTER", "EDGE"]


class Identity(Protocol):
    """The cluster's identity as the steps need it: local files to upload, and the CA hash.
    (`edge_constructs.credentials.ClusterCredentials` is one.)"""
    ca_cert_hash: str
    ca_cert: Path
    ca_key: Path
    front_proxy_ca_cert: Path
    front_proxy_ca_key: Path
    etcd_ca_cert: Path
    etcd_ca_key: Path
    sa_key: Path
    sa_pub: Path
    tunnel_anp_client_cert: Path
    tunnel_anp_client_key: Path
    lite_apiserver_cert: Path
    lite_apiserver_key: Path
    bootstrap_token: Path


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
