"""The `edge` provider in a stack: the metadata that ties a resource to it, its provider
blocks, and `use_provider`, which declares the default block once per stack and has the
provider installed beside the stack's output (`synth_install`).

The default block has no settings (the identity, the status). `cluster_provider` declares
the aliased block of one cluster in one stack, which its `edge_node` resources use: it
carries the cluster's name, admin kubeconfig and node bundle, so no node's state holds them,
and, in the cluster's own stack, its CAs, which the masters' certificate renewal signs with
(terraform/provider/provider.py)."""
from __future__ import annotations

from constructs import Construct

from edge_constructs.terraform.cdk import (TerraformProvider, TerraformProviderGeneratorMetadata,
                                           TerraformStack)
from edge_constructs.terraform.provider import install
from provisioners.core.errors import ValidationError


def edge_metadata() -> TerraformProviderGeneratorMetadata:
    """What ties a resource or data source of this package to the `edge` provider."""
    return TerraformProviderGeneratorMetadata(
        provider_name="edge", provider_version_constraint=install.required_providers()["edge"]["version"])


class EdgeProvider(TerraformProvider):
    """An `edge` provider block; cdktf emits `required_providers`. `settings` (the cluster
    block's) are Terraform expressions."""

    def __init__(self, scope: Construct, id: str = "edge", *, alias: str | None = None,
                 settings: dict | None = None):
        req = install.required_providers()["edge"]
        super().__init__(scope, id, terraform_resource_type="edge",
                         terraform_provider_source=req["source"],
                         terraform_generator_metadata=edge_metadata())
        if alias:
            self.add_override("alias", alias)
        self.alias_name = alias
        for k, v in (settings or {}).items():
            self.add_override(k, v)


def cluster_provider(stack: TerraformStack, alias: str, *, owner: str, cluster: str,
                     kubeconfig: str, node_bundle: str, cas: str | None = None) -> EdgeProvider:
    """The aliased `edge` block of one cluster (`owner`, its construct path) in `stack`, made
    once; its nodes use it. Two clusters whose blocks would share an alias in one stack are
    refused: one cluster's nodes would get the other's kubeconfig and bundle."""
    use_provider(stack)
    found = getattr(stack, "_edge_cluster_providers", None)
    if found is None:
        found = {}
        setattr(stack, "_edge_cluster_providers", found)
    if alias in found and found[alias][0] != owner:
        raise ValidationError(
            "id", owner, f"names a cluster whose nodes' provider block in stack "
            f"{stack.node.id!r} would be edge.{alias}, the block of the cluster "
            f"{found[alias][0]!r} too: give the two EdgeClusters different ids")
    if alias not in found:
        found[alias] = (owner, EdgeProvider(
            stack, f"edge_provider_{alias}", alias=alias, settings={
                "cluster": cluster, "kubeconfig": kubeconfig, "node_bundle": node_bundle,
                **({"cas": cas} if cas else {})}))
    return found[alias][1]


def use_provider(stack: TerraformStack) -> None:
    """Declare the `edge` provider in `stack` and install it beside the stack's output, so
    `terraform init` there finds it with no download and no warning."""
    from edge_constructs.terraform.synth_install import InstallingSynthesizer
    marker = "_edge_provider_installed"
    if getattr(stack, marker, False):
        return
    EdgeProvider(stack, "edge_provider")
    stack.synthesizer = InstallingSynthesizer(stack)
    setattr(stack, marker, True)
