"""Where edge_constructs keeps its files on a host, and where the install package lies."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioners.core.props import ClusterSpec

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
#: The cluster CA's discovery hash ("sha256:<hex>"), for `edgeadm join`'s CA pin.
CA_HASH_FILE = f"{SECRETS_DIR}/ca-cert-hash"
#: Ids of bootstrap tokens rotated out of the identity (master 0 deletes their Secrets).
RETIRED_TOKENS_FILE = f"{SECRETS_DIR}/retired-bootstrap-token-ids"
#: What the chain installs on masters; a user file must not overwrite the cluster's identity.
PROTECTED_PATHS = ("/etc/kubernetes", ETC_DIR, STATE_DIR, "/var/lib/etcd", "/var/lib/kubelet")



def package_name(spec: "ClusterSpec") -> str:
    return f"kube-linux-{spec.install_package.arch}-v{spec.kubernetes_version}.tar.gz"


def package_path(spec: "ClusterSpec") -> str:
    """Where the install package lies on a host (what `--install-pkg-path` names)."""
    return f"{PKG_DIR}/{package_name(spec)}"
