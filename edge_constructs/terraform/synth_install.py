"""The provider installed where a stack is synthesized: the stack's own synthesizer, then
`provider.install.install_into` its output directory."""
from __future__ import annotations

from pathlib import Path

import jsii

from edge_constructs.terraform.cdk import IStackSynthesizer, TerraformStack
from edge_constructs.terraform.provider import install


@jsii.implements(IStackSynthesizer)
class InstallingSynthesizer:
    """The stack's own synthesizer, then the provider written beside what it wrote (wherever
    the session puts it: `cdktf synth`, `python main.py`, Testing.full_synth)."""

    def __init__(self, stack: TerraformStack):
        self._inner = stack.synthesizer
        self._name = stack.node.id

    def synthesize(self, session) -> None:
        self._inner.synthesize(session)
        install.install_into(Path(session.outdir) / "stacks" / self._name)
