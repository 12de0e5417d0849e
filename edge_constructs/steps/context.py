"""What a step function is given: the cluster, the host, its role, and where things live."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

from edge_constructs.core.paths import PKG_DIR, package_name, package_path

if TYPE_CHECKING:
    from edge_constructs.core.props import ClusterSpec, Host

MASTER0, MASTER, EDGE = "master0", "master", "edge"


@dataclass(frozen=True)
class NodeOptions:
    """What an edge node adds to the cluster's settings (labels, taints, node unit)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[str] = ()
    node_unit: Optional[str] = None


@dataclass(frozen=True)
class Context:
    """One host's view of the cluster. `creds` is an `edge_constructs.credentials.ClusterCredentials`."""
    spec: "ClusterSpec"
    host: "Host"
    role: str
    creds: object
    node: NodeOptions = field(default_factory=NodeOptions)

    @property
    def is_master(self) -> bool:
        return self.role in (MASTER0, MASTER)

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
