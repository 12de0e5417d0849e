"""What a step function is given: the cluster, the host, its role, and the cluster's identity."""
from __future__ import annotations

import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Protocol

from provisioners.core.identity_table import ATTRS
from provisioners.core.paths import PKG_DIR, package_name, package_path
from provisioners.steps.step import EDGE, MASTER, MASTER0

if TYPE_CHECKING:
    from provisioners.core.props import ClusterSpec, Host

__all__ = ["Context", "Identity", "MASTER0", "MASTER", "EDGE"]


def _identity_protocol() -> type:
    """`Identity`, made from the identity table: one `str` per uploaded attribute, by the
    name steps read (`Attr.creds_name`)."""
    ns = {"__doc__": """The cluster's identity as the steps need it: for each value a step uploads
    (`provisioners.core.identity_table.UPLOADED`), its upload source (`Upload.source`): a
    reference to the `edge_cluster_identity` attribute in state
    (`edge_constructs.terraform.identity_values.IdentityValues`), or a local file (the SSH
    runner without Terraform, `simsite.identity`).""",
          "__annotations__": {a.creds_name: str for a in ATTRS if a.uploaded},
          "__module__": __name__}
    return types.new_class("Identity", (Protocol,), exec_body=lambda body: body.update(ns))


Identity = _identity_protocol()


@dataclass(frozen=True)
class Context:
    """One host's view of the cluster."""
    spec: "ClusterSpec"
    host: "Host"
    role: str
    creds: Optional[Identity]

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
