"""`ClusterIdentity`: the cluster's identity in a stack, an `edge_cluster_identity` of the
`edge` provider (made on the first apply, kept in state, never regenerated)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from constructs import Construct

from provisioners.core.certificates import DEFAULT_WINDOW
from edge_constructs.terraform.cdk import TerraformResource, TerraformStack
from edge_constructs.terraform.identity_values import IdentityValues
from edge_constructs.terraform.literal import literal_tree
from edge_constructs.terraform.provider_block import edge_metadata, use_provider
from edge_constructs.terraform.resources import IDENTITY_TYPE


class ClusterIdentity(TerraformResource):
    """`edge_cluster_identity`: made on the first apply, kept in state, never regenerated;
    `values` is what steps and outputs read of it."""

    def __init__(self, scope: Construct, id: str, *, resource_name: str, cluster_name: str,
                 endpoint: str, virtual_address: str, token_rotation: Optional[str],
                 kubernetes_service_ip: Optional[str] = None,
                 leaf_validity_days: Optional[int], ca_cert_file: Optional[str],
                 ca_key_file: Optional[str], allow_replace: bool,
                 admin_credential_rotation: Optional[str] = None,
                 renew_before: Optional[str] = None):
        super().__init__(scope, id, terraform_resource_type=IDENTITY_TYPE,
                         terraform_generator_metadata=edge_metadata())
        self.override_logical_id(resource_name)
        config = {"cluster_name": cluster_name, "endpoint": endpoint,
                  "virtual_address": virtual_address, "token_rotation": token_rotation,
                  "kubernetes_service_ip": kubernetes_service_ip,
                  "leaf_validity_days": leaf_validity_days,
                  "ca_cert_file": _absolute(ca_cert_file), "ca_key_file": _absolute(ca_key_file),
                  "allow_replace": True if allow_replace else None,
                  "admin_credential_rotation": admin_credential_rotation,
                  # left out at the default, so a cluster made before it plans no change
                  "renew_before": None if renew_before == DEFAULT_WINDOW else renew_before}
        for k, v in config.items():
            if v is not None:
                self.add_override(k, literal_tree(v))     # data, never a template
        self.values = IdentityValues(resource_name)
        use_provider(TerraformStack.of(self))


def _absolute(path: Optional[str]) -> Optional[str]:
    return str(Path(path).expanduser().resolve()) if path else None
