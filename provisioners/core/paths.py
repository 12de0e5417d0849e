"""Where edge_constructs keeps its files on a host, and where the install package lies."""
from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Optional

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


def normalize_host_path(path: str) -> str:
    """The one spelling of an absolute path on a host: '//', '/./', a trailing '/.' and
    '..' resolved lexically (as the kernel does when no symlink is involved), any run of
    leading slashes made one (POSIX leaves '//' implementation-defined; Linux reads it as
    '/'). ValueError for a relative path: it would depend on the working directory."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"not an absolute path: {path!r}")
    norm = posixpath.normpath(path)
    return "/" + norm.lstrip("/")


def protected_root(path: str) -> Optional[str]:
    """The entry of PROTECTED_PATHS that holds `path` (normalized first), or None."""
    norm = normalize_host_path(path)
    return next((d for d in PROTECTED_PATHS if norm == d or norm.startswith(d + "/")), None)



def package_name(spec: "ClusterSpec") -> str:
    return f"kube-linux-{spec.install_package.arch}-v{spec.kubernetes_version}.tar.gz"


def package_path(spec: "ClusterSpec") -> str:
    """Where the install package lies on a host (what `--install-pkg-path` names)."""
    return f"{PKG_DIR}/{package_name(spec)}"
