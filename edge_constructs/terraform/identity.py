"""The cluster's identity in a stack: an `edge_cluster_identity` of the `edge` provider, the
provider installed beside the stack, and what steps and outputs read from it."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import jsii
from edge_constructs.terraform.cdk import (IStackSynthesizer, TerraformProvider,
                                           TerraformProviderGeneratorMetadata, TerraformResource,
                                           TerraformStack)
from constructs import Construct

import os

from provisioners.steps.step import identity_source, parse_identity_source
from edge_constructs.terraform.provider import install
from edge_constructs.terraform.resources import (IDENTITY_TYPE, identity_digest_expr,
                                                 identity_expr)

#: Attributes steps upload, by the names step functions read on `ctx.creds`.
_UPLOADABLE = ("ca_cert", "ca_key", "front_proxy_ca_cert", "front_proxy_ca_key", "etcd_ca_cert",
               "etcd_ca_key", "sa_key", "sa_pub", "tunnel_anp_client_cert",
               "tunnel_anp_client_key", "lite_apiserver_cert", "lite_apiserver_key",
               "bootstrap_token")


class IdentityValues:
    """What step functions and the constructs read of the identity (`ctx.creds`): upload
    sources for the files steps copy to hosts, Terraform references for outputs. No value
    is known at synth: they live in state."""

    def __init__(self, resource_name: str):
        self.resource_name = resource_name
        for attr in _UPLOADABLE:
            setattr(self, attr, identity_source(resource_name, attr))
        #: Uploaded to hosts that check the CA pin (edgeadm join's discovery hash).
        self.ca_cert_hash_file = identity_source(resource_name, "ca_cert_hash")
        #: Uploaded to master 0: ids of rotated-out tokens whose Secrets it deletes.
        self.retired_bootstrap_token_ids = identity_source(resource_name,
                                                           "retired_bootstrap_token_ids")

    def expr(self, attribute: str) -> str:
        return identity_expr(self.resource_name, attribute)

    def digest(self, attribute: str) -> str:
        return identity_digest_expr(self.resource_name, attribute)

    @property
    def ca_cert_hash(self) -> str:
        return self.expr("ca_cert_hash")

    @property
    def address(self) -> str:
        """The resource address, e.g. for `terraform import <address> <credentials dir>`."""
        return f"{IDENTITY_TYPE}.{self.resource_name}"


def edge_metadata() -> TerraformProviderGeneratorMetadata:
    """What ties a resource or data source of this package to the `edge` provider."""
    return TerraformProviderGeneratorMetadata(
        provider_name="edge", provider_version_constraint=install.required_providers()["edge"]["version"])


class ClusterIdentity(TerraformResource):
    """`edge_cluster_identity`: made on the first apply, kept in state, never regenerated."""

    def __init__(self, scope: Construct, id: str, *, resource_name: str, cluster_name: str,
                 endpoint: str, virtual_address: str, token_rotation: Optional[str],
                 kubernetes_service_ip: Optional[str] = None,
                 leaf_validity_days: Optional[int], ca_cert_file: Optional[str],
                 ca_key_file: Optional[str], allow_replace: bool):
        super().__init__(scope, id, terraform_resource_type=IDENTITY_TYPE,
                         terraform_generator_metadata=edge_metadata())
        self.override_logical_id(resource_name)
        config = {"cluster_name": cluster_name, "endpoint": endpoint,
                  "virtual_address": virtual_address, "token_rotation": token_rotation,
                  "kubernetes_service_ip": kubernetes_service_ip,
                  "leaf_validity_days": leaf_validity_days,
                  "ca_cert_file": str(Path(ca_cert_file).expanduser().resolve()) if ca_cert_file else None,
                  "ca_key_file": str(Path(ca_key_file).expanduser().resolve()) if ca_key_file else None,
                  "allow_replace": True if allow_replace else None}
        for k, v in config.items():
            if v is not None:
                self.add_override(k, v)
        self.values = IdentityValues(resource_name)
        use_provider(TerraformStack.of(self))


class EdgeProvider(TerraformProvider):
    """The `edge` provider block (it has no settings); cdktf emits `required_providers`."""

    def __init__(self, scope: Construct, id: str = "edge"):
        req = install.required_providers()["edge"]
        super().__init__(scope, id, terraform_resource_type="edge",
                         terraform_provider_source=req["source"],
                         terraform_generator_metadata=edge_metadata())


def use_provider(stack: TerraformStack) -> None:
    """Declare the `edge` provider in `stack` and install it beside the stack's output, so
    `terraform init` there finds it with no download and no warning."""
    marker = "_edge_provider_installed"
    if getattr(stack, marker, False):
        return
    EdgeProvider(stack, "edge_provider")
    stack.synthesizer = _InstallingSynthesizer(stack)
    setattr(stack, marker, True)


@jsii.implements(IStackSynthesizer)
class _InstallingSynthesizer:
    """The stack's own synthesizer, then the provider written beside what it wrote (wherever
    the session puts it: `cdktf synth`, `python main.py`, Testing.full_synth)."""

    def __init__(self, stack: TerraformStack):
        self._inner = stack.synthesizer
        self._name = stack.node.id

    def synthesize(self, session) -> None:
        self._inner.synthesize(session)
        install.install_into(Path(session.outdir) / "stacks" / self._name)


def embed(source: str) -> str:
    """How a script spells the base64 of an upload: an identity value from state, or a local
    file by path (the JSON never holds the bytes of either)."""
    ref = parse_identity_source(source)
    if ref:
        return "${base64encode(%s)}" % identity_expr(*ref)[2:-1]
    return '${filebase64("%s")}' % os.path.abspath(source)
