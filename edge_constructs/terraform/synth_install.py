"""The provider installed where a stack is synthesized: the stack's own synthesizer, then
`provider.install.install_into` its output directory, and the stack's private files made
private before any Terraform runs there (`protect_stack_output`)."""
from __future__ import annotations

import json
from pathlib import Path

import jsii

from edge_constructs.terraform.cdk import IStackSynthesizer, TerraformStack
from edge_constructs.terraform.provider import install
from edge_constructs.terraform.state import private_state_files


@jsii.implements(IStackSynthesizer)
class InstallingSynthesizer:
    """The stack's own synthesizer, then the provider written beside what it wrote (wherever
    the session puts it: `cdktf synth`, `python main.py`, Testing.full_synth)."""

    def __init__(self, stack: TerraformStack):
        self._inner = stack.synthesizer
        self._name = stack.node.id

    def synthesize(self, session) -> None:
        self._inner.synthesize(session)
        stack_dir = Path(session.outdir) / "stacks" / self._name
        install.install_into(stack_dir)
        protect_stack_output(Path(session.outdir), stack_dir)


def protect_stack_output(outdir: Path, stack_dir: Path) -> None:
    """The state, its backups and saved plans hold the cluster's keys, and Terraform creates
    them with the mode its umask gives (0644 under the usual 022), wherever `cdktf deploy` or a
    pipeline starts it. So, at every synth: `<outdir>/stacks` and the stack's directory
    (plans, `.terraform`, a relative local state) become 0700 (not the output directory
    itself, which an app may point anywhere), and a local backend's state
    file and its backup exist 0600 (Terraform rewrites an existing file in place, keeping
    its mode: hashicorp/terraform internal/states/statemgr/filesystem.go)."""
    for d in (outdir / "stacks", stack_dir):
        if d.is_dir():
            d.chmod(0o700)
    try:
        doc = json.loads((stack_dir / "cdk.tf.json").read_text())
    except (OSError, ValueError):
        return
    local = ((doc.get("terraform") or {}).get("backend") or {}).get("local")
    if isinstance(local, dict):
        path = local.get("path") or "terraform.tfstate"
        if isinstance(path, str) and "${" not in path:
            private_state_files(stack_dir / Path(path).expanduser())
