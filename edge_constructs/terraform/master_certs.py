"""Each master's kubeadm certificates as an `edge_master_certificates` resource
(terraform/provider/master_certs_resource.py): their expiry in every plan, renewal as a
planned update, masters one at a time."""
from __future__ import annotations

import json
from typing import Sequence

from constructs import Construct

from provisioners.core.props import ClusterSpec
from edge_constructs.terraform.cdk import TerraformResource
from edge_constructs.terraform.literal import literal_tree
from edge_constructs.terraform.provider_block import edge_metadata
from edge_constructs.terraform.resources import MASTER_CERTS_TYPE, logical_id, tf_literal


class MasterCertificates(TerraformResource):
    """One master's `edge_master_certificates`, under its cluster's provider block (which
    carries the CAs it renews with)."""

    def __init__(self, scope: Construct, id: str, *, resource_name: str, config: dict,
                 provider, depends_on: Sequence):
        super().__init__(scope, id, terraform_resource_type=MASTER_CERTS_TYPE,
                         terraform_generator_metadata=edge_metadata(),
                         depends_on=list(depends_on))
        self.override_logical_id(resource_name)
        self.add_override("provider", f"edge.{provider.alias_name}")
        for k, v in config.items():
            self.add_override(k, v)


def master_certificates(scope: Construct, cluster_id: str, spec: ClusterSpec, provider,
                        after: Sequence) -> dict[str, MasterCertificates]:
    """One resource per master, each waiting for the one before: a renewal restarts one
    master's control plane at a time, and stops at the first that fails."""
    made: dict[str, MasterCertificates] = {}
    prev = list(after)
    for host in spec.masters:
        address = f"[{host.address}]" if ":" in host.address else host.address
        res = MasterCertificates(
            scope, f"certificates-{host.key}",
            resource_name=logical_id(f"{cluster_id}_certificates_{host.key}"),
            provider=provider, depends_on=prev, config={
                "master": literal_tree(host.key),
                "host": tf_literal(json.dumps(host.to_dict(), sort_keys=True)),
                "api_server": tf_literal(f"{address}:{spec.api_server_port}"),
                "renew_before": literal_tree(spec.certificate_renewal_before)})
        made[host.key] = res
        prev = [res]
    return made


def certificates_output_value(identity_address: str,
                              masters: dict[str, MasterCertificates], status: str) -> str:
    """`<id>_certificates`: per master its kubeadm certificates, the kubelet's client
    certificate and the CAs; the cluster-wide ones the identity issues; whether kubelets'
    renewals of their own client certificates are approved (`status`: the status data
    source's address)."""
    refs = ", ".join(f"{MASTER_CERTS_TYPE}.{r.friendly_unique_id}" for r in masters.values())
    # keyed by each resource's own `master`: no name of ours is pasted into the expression
    return ("${{ masters = { for m in [%s] : m.master => jsondecode(m.certificates) }, "
            "cluster = jsondecode(%s.certificates), "
            "kubelet_rotation = jsondecode(%s.kubelet_rotation) }}"
            % (refs, identity_address, status))
