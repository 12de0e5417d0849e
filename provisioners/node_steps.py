"""Steps only edge nodes have: join, labels/taints/node unit (from master 0), and removal.

Host preparation reuses `provisioners.steps` (the same functions the masters run); this
module adds what happens after: `edgeadm join`, then what master 0 records about the node.
"""
from __future__ import annotations

import shlex

from provisioners.context import PKG_DIR

q = shlex.quote


def install_pkg_path(spec) -> str:
    """What `--install-pkg-path` names: the package URL, or where the package lies on a node."""
    pkg = spec.install_package
    return pkg.url or f"{PKG_DIR}/kube-linux-{pkg.arch}-v{spec.kubernetes_version}.tar.gz"


def join_command(spec, ca_cert_hash: str, token: str) -> str:
    """The `edgeadm join` command of a cluster. The ONE place it is built: the cluster's
    output passes the token as a Terraform expression, node scripts pass `"$TOKEN"`."""
    return (f"edgeadm join {spec.endpoint} --token {token} "
            f"--discovery-token-ca-cert-hash {ca_cert_hash} "
            f"--install-pkg-path {install_pkg_path(spec)} --enable-edge=true")
