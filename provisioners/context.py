"""What a step function is given: the cluster, the host, its role, and where things live."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

if TYPE_CHECKING:
    from edge_constructs.models import ClusterSpec, Host

# Where our own files live on a host.
ETC_DIR = "/etc/edge_constructs"
SECRETS_DIR = "/etc/edge_constructs/secrets"
STATE_DIR = "/var/lib/edge_constructs"
PKG_DIR = "/var/lib/edge_constructs/pkg"
HOOKS_DIR = "/var/lib/edge_constructs/hooks"
KUBEADM_CONFIG = "/etc/kubernetes/edge_constructs/kubeadm-config.yaml"
ADMIN_CONF = "/etc/kubernetes/admin.conf"
PKI_DIR = "/etc/kubernetes/pki"
TOKEN_FILE = f"{SECRETS_DIR}/bootstrap-token"

MASTER0, MASTER, EDGE = "master0", "master", "edge"


def package_name(spec: "ClusterSpec") -> str:
    return f"kube-linux-{spec.install_package.arch}-v{spec.kubernetes_version}.tar.gz"


def package_path(spec: "ClusterSpec") -> str:
    """Where the install package lies on a host (what `--install-pkg-path` names)."""
    return f"{PKG_DIR}/{package_name(spec)}"


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
