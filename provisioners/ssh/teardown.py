"""What runs when masters leave the cluster (it is destroyed): a teardown chain, over the SSH
runner. (Edge nodes leave through their `edge_node` resource, which runs their reset with
the same runner: `terraform.provider.node_resource`.)

Terraform's destroy-time provisioners may read only `self`, cannot take a password or a
bastion from anywhere safe, and a failing one blocks every later destroy. So each master's
Reset resource carries its teardown chain, rendered at synth from
`steps.chains.MASTER_TEARDOWN`, as JSON in its `input` (hosts as paths and names, never key
material; the reset scripts by reference, `steps.resets`), and a destroy-time local-exec runs `python -m provisioners.ssh.teardown` with
it in `$EDGE_TEARDOWN`.

Steps are best effort: an unreachable host or a failed step is reported with the exact
commands to run by hand (rendered from the same step), and the destroy goes on.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import sys
from typing import Sequence

from provisioners.core.errors import SSHError, StepFailed
from provisioners.core.props import Host
from provisioners.ssh.runner import Log, RunnerSettings, run_step
from provisioners.steps import resets
from provisioners.steps.chains import Placed
from provisioners.steps.step import On, Step, full_script

#: A step's own line: `[host] Step: message` (sh/lib/prelude.sh `say`).
_STEP_LINE = re.compile(r"^\[[^\]\s]+\] [A-Za-z][\w.-]*: \S")
#: One short try: removal (a master's teardown, an edge node's reset) must never hang on a
#: host that is gone.
SETTINGS = RunnerSettings(connect_timeout=10.0, connect_retries=1, retry_delay=1.0,
                          command_timeout=300.0)


def encode(placed: Sequence[Placed]) -> str:
    """A teardown chain as the JSON a master's Reset resource carries: a reset step by
    reference (`steps.resets`: no script body in a plan), any other step with its script."""
    def step(s: Step) -> dict:
        try:
            return {"name": s.name, "ref": resets.reference(s), "on": s.on.name}
        except ValueError:
            return {"name": s.name, "script": s.script, "on": s.on.name}
    return json.dumps([{"host": p.host.to_dict(), "step": step(p.step)} for p in placed],
                      sort_keys=True)


def decode(text: str) -> list[Placed]:
    out = []
    for item in json.loads(text):
        s = item["step"]
        step = (Step(s["name"], s["script"], on=On[s["on"]]) if "script" in s
                else resets.resolve(s["name"], s["ref"]))
        out.append(Placed(Host.from_dict(item["host"], "teardown host"), step))
    return out


def manual_advice(p: Placed) -> str:
    """The exact commands that do what `p` does, to run by hand."""
    h = p.host
    port = f" -p {h.port}" if h.port != 22 else ""
    jump = f" -J {h.bastion.user}@{h.bastion.address}:{h.bastion.port}" if h.bastion else ""
    return (f"run {p.step.name} on {h.key} by hand:\n"
            f"ssh{port}{jump} {shlex.quote(f'{h.user}@{h.address}')} sh -s <<'EDGE_TEARDOWN_EOF'\n"
            f"{full_script(p.step, h.key)}EDGE_TEARDOWN_EOF")


def run_teardown(placed: Sequence[Placed], log: Log = print,
                 settings: RunnerSettings = SETTINGS) -> int:
    """Run the chain, best effort (see the module docstring); always 0."""
    for p in placed:
        who = f"[{p.host.key}] {p.step.name}"
        try:
            result = run_step(p.host, p.step, settings, log)
            # what the step did, one line each; not its commands' own output
            for line in result.stdout.splitlines():
                if _STEP_LINE.match(line):
                    log(line)
        except (SSHError, StepFailed) as e:
            log(f"{who}: WARNING: {str(e).splitlines()[0]}")
            log(f"{who}: WARNING: {manual_advice(p)}")
    return 0


def main(argv: list[str]) -> int:
    if argv or "EDGE_TEARDOWN" not in os.environ:
        print("usage: EDGE_TEARDOWN='<teardown chain json>' python -m provisioners.ssh.teardown",
              file=sys.stderr)
        return 2
    return run_teardown(decode(os.environ["EDGE_TEARDOWN"]), log=lambda m: print(m, flush=True))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
