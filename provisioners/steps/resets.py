"""The reset steps by name. What a removal runs (an edge node's `ResetNode`, a master's
`ResetMaster`) must be in Terraform state, since a removal has nothing but state; but a
script in state is shown, line by line, in every plan that creates or removes the resource.
So state keeps a reference, `<StepName> sha256:<digest of the script>` (one line in a plan,
and a new digest shows that the reset changed), and the script that runs is rendered here by
the installed package. Both scripts depend on no prop (only on fixed paths), which
tests/test_demo_output.py checks against the scripts the chains render.

A value that is not a reference is a script itself (state written before references)."""
from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

from provisioners.core.paths import PKG_DIR
from provisioners.steps import cluster, node
from provisioners.steps.step import On, Step

#: name -> (step function, where it runs)
_RESETS = {"ResetMaster": (cluster.reset_master, On.MASTERS),
           "ResetNode": (node.reset_node, On.EDGE_NODE)}
#: The only part of a Context the reset scripts read (`host.uninstall_script`).
_FIXED = SimpleNamespace(install_dir=f"{PKG_DIR}/edge-install")
_REF = re.compile(r"^([A-Z][A-Za-z]+) sha256:([0-9a-f]{16})$")


def reset_step(name: str) -> Step:
    """The reset step `name` as this package renders it."""
    fn, on = _RESETS[name]
    body = fn.__wrapped__(_FIXED)
    return Step(name, body, on=on)


def reference(step: Step) -> str:
    """What state keeps for a reset step: its name and the digest of its script."""
    if step.name not in _RESETS or reset_step(step.name).script != step.script:
        raise ValueError(f"{step.name}: not a reset step this package renders by name")
    return f"{step.name} sha256:{hashlib.sha256(step.script.encode()).hexdigest()[:16]}"


def resolve(name: str, value: str) -> Step:
    """The step a value from state stands for: a reference is rendered, a script runs as is."""
    m = _REF.match(value)
    if m and m.group(1) in _RESETS:
        return reset_step(m.group(1))
    return Step(name, value, on=_RESETS[name][1] if name in _RESETS else On.EVERY_HOST)
