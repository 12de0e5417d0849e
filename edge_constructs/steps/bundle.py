"""The node chain as ONE script: what the `edge_node` resource runs on a node over one SSH
connection, and what the cluster's `<id>_join_script` output hands to cloud-init.

Every step is the very script Terraform or the runner would run alone (`full_script`); the
bundle writes each one to its path (decoded from base64, so no step text can end a heredoc
or reach shell syntax) and runs it. A ledger on the host (`LEDGER`) records each step that
finished, with its fingerprint, so the next run after a failure skips what is done and says
so; a step whose fingerprint changed runs again. The join step and the steps after it
are never skipped by the ledger: they check the host themselves (the join looks for
kubelet.conf), and a host reset since (no kubelet.conf, a ledger that says it joined) has its
ledger dropped so that every step runs again.
"""
from __future__ import annotations

import base64
import dataclasses
from typing import Callable, Sequence

from edge_constructs.core.paths import STATE_DIR
from edge_constructs.steps.context import Context
from edge_constructs.steps.node import JOIN_STEP, join_body
from edge_constructs.steps.step import STAGE_DIR, STEP_DIR, Step, full_script, staged_path

#: Steps that finished on this host: "<step name> <fingerprint>" per line.
LEDGER = f"{STATE_DIR}/ledger"
#: Where the bundle notes the step that failed (its `.failed` result file says the command).
FAILED_STEP = f"{STEP_DIR}/bundle.failed-step"
#: Where the provider writes the bundle on the node (0600 in a 0700 directory: it holds the
#: bootstrap token until the run ends).
BUNDLE_PATH = f"{STEP_DIR}/node-bundle.sh"
#: The node's name; the bundle and its steps read it from the environment.
NODE_NAME_VAR = "EDGE_NODE_NAME"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def node_steps(ctx: Context, steps: Sequence[Step]) -> list[Step]:
    """The node-side steps as the bundle runs them: the join names the node from
    `$EDGE_NODE_NAME`; the package upload is dropped (it is placed at the package path
    beforehand by the runner, or by hand for the join script)."""
    pkg_upload = f"{ctx.package_path}.upload"
    out = []
    for s in steps:
        if s.name == JOIN_STEP:
            s = dataclasses.replace(s, script=join_body(ctx, f'"${NODE_NAME_VAR}"'))
        out.append(dataclasses.replace(
            s, uploads=tuple(u for u in s.uploads if u.destination != pkg_upload)))
    return out


def _package_check(ctx: Context) -> str:
    """A package given by path must be on the host already (a URL is downloaded by a step)."""
    if ctx.spec.install_package.url:
        return ""
    pkg = ctx.package_path
    return f"""\
if [ ! -f {pkg} ] && [ ! -f {pkg}.upload ]; then
  echo "edge node bundle: the install package is missing: copy {ctx.package_name} to {pkg} on this host (the join command's --install-pkg-path), then run this script again" >&2
  exit 1
fi
"""


def node_bundle(ctx: Context, steps: Sequence[Step], embed: Callable[[str], str],
                literal: Callable[[str], str] = lambda s: s) -> str:
    """One POSIX sh script running the node-side `steps` in order with the ledger.
    `embed(source)` is how the script spells the base64 of an upload (for Terraform: an
    interpolation reading the identity in state or a local file, so the JSON holds no
    secret); `literal(text)` escapes the rest. The package must lie at its path (or at
    `<path>.upload`) before the run."""
    steps = node_steps(ctx, steps)
    ledger_from = next((i for i, s in enumerate(steps) if s.name == JOIN_STEP), len(steps))
    out = [literal(f"""\
#!/bin/sh
# edge_constructs node bundle for cluster {ctx.spec.name}: prepares this host and joins it as
# an edge node named ${NODE_NAME_VAR}. It holds a bootstrap token: keep it secret.
set -eu
[ "$(id -u)" = 0 ] || {{ echo "edge node bundle: run me as root" >&2; exit 1; }}
{NODE_NAME_VAR}=${{{NODE_NAME_VAR}:-$(hostname | tr 'A-Z' 'a-z')}}
export {NODE_NAME_VAR}
umask 077
mkdir -p -m 0700 {STATE_DIR} {STAGE_DIR} {STEP_DIR}
rm -f {FAILED_STEP}
if [ -f {LEDGER} ] && grep -q '^{JOIN_STEP} ' {LEDGER} && [ ! -f /etc/kubernetes/kubelet.conf ]; then
  rm -f {LEDGER}
  echo "[${NODE_NAME_VAR}] ledger: the host left the cluster since its last join: every step runs again"
fi
touch {LEDGER}
{_package_check(ctx)}done_before() {{ grep -qx "$1" {LEDGER}; }}
run_step() {{
  sh "$2" || {{ rc=$?; echo "$1" > {FAILED_STEP}; exit "$rc"; }}
}}""")]
    for i, s in enumerate(steps):
        entry = f"{s.name} {s.fingerprint()}"
        body = [literal(f"mkdir -p -m 0700 {s.stage_dir}")]
        for n, up in enumerate(s.uploads):
            body.append(literal("printf '%s' '") + embed(up.source)
                        + literal(f"' | base64 -d > {staged_path(s, n)}"))
        body.append(literal(f"printf '%s' '{_b64(full_script(s))}' | base64 -d > {s.remote_path}"))
        body.append(literal(f"run_step {s.name} {s.remote_path}"))
        if i < ledger_from:
            body.append(literal(f"echo '{entry}' >> {LEDGER}"))
            out.append(literal(f"# --- {s.name}\nif done_before '{entry}'; then\n"
                               f"  echo \"[${NODE_NAME_VAR}] {s.name}: done in an earlier run "
                               f"(ledger)\"\nelse\n")
                       + "\n".join("  " + b for b in body) + literal("\nfi"))
        else:
            out.append(literal(f"# --- {s.name}\n") + "\n".join(body))
    out.append(literal(f'echo "[${NODE_NAME_VAR}] node bundle: every step done"'))
    return "\n".join(out) + "\n"
