"""The `edge` provider in a stack: the metadata that ties a resource to it, its (empty)
provider block, and `use_provider`, which declares it once per stack and has it installed
beside the stack's output (`synth_install`)."""
from __future__ import annotations

from constructs import Construct

from edge_constructs.terraform.cdk import (TerraformProvider, TerraformProviderGeneratorMetadata,
                                           TerraformStack)
from edge_constructs.terraform.provider import install


def edge_metadata() -> TerraformProviderGeneratorMetadata:
    """What ties a resource or data source of this package to the `edge` provider."""
    return TerraformProviderGeneratorMetadata(
        provider_name="edge", provider_version_constraint=install.required_providers()["edge"]["version"])


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
    from edge_constructs.terraform.synth_install import InstallingSynthesizer
    marker = "_edge_provider_installed"
    if getattr(stack, marker, False):
        return
    EdgeProvider(stack, "edge_provider")
    stack.synthesizer = InstallingSynthesizer(stack)
    setattr(stack, marker, True)
