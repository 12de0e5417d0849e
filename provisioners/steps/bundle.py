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

from provisioners.core.paths import STATE_DIR
from provisioners.steps.context import Context
from provisioners.steps.node import JOIN_STEP, join_body
from provisioners.steps.step import (STAGE_DIR, STEP_DIR, Step, full_script, sh_quote,
                                        sh_script, staged_path)

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
            s = dataclasses.replace(s, script=join_body(ctx, ""))
        out.append(dataclasses.replace(
            s, uploads=tuple(u for u in s.uploads if u.destination != pkg_upload)))
    return out


def node_bundle(ctx: Context, steps: Sequence[Step], embed: Callable[[str], str],
                literal: Callable[[str], str] = lambda s: s) -> str:
    """One POSIX sh script running the node-side `steps` in order with the ledger.
    `embed(source)` is how the script spells the base64 of an upload (for Terraform: an
    interpolation reading the identity in state or a local file, so the JSON holds no
    secret); `literal(text)` escapes the rest. A package given by path must lie at its path
    (or at `<path>.upload`) before the run."""
    pkg = ctx.spec.install_package
    steps = node_steps(ctx, steps)
    ledger_from = next((i for i, s in enumerate(steps) if s.name == JOIN_STEP), len(steps))
    out = [literal("#!/bin/sh\n# edge_constructs node bundle: prepares this host and joins it as "
                   "an edge node\n# (also usable as cloud-init user-data). It holds a bootstrap "
                   "token: keep it secret.\n"
                   + sh_script("bundle_head", CLUSTER=ctx.spec.name, STATE_DIR=STATE_DIR,
                               STAGE_DIR=STAGE_DIR, STEP_DIR=STEP_DIR, LEDGER=LEDGER,
                               FAILED_STEP=FAILED_STEP, JOIN_STEP=JOIN_STEP,
                               PKG_PATH=ctx.package_path, PKG_NAME=ctx.package_name,
                               SHA256=pkg.sha256, NEED_PKG=bool(pkg.path)).rstrip("\n"))]
    for i, s in enumerate(steps):
        q = sh_quote
        body = [literal(f"mkdir -p {q(s.stage_dir)}")]
        for n, up in enumerate(s.uploads):
            body.append(literal("printf '%s' '") + embed(up.source)
                        + literal(f"' | base64 -d > {q(staged_path(s, n))}"))
        # base64: no text of the step (a hook's lines) can end or break what carries it
        body.append(literal(f"printf '%s' {q(_b64(full_script(s)))} | base64 -d > {q(s.remote_path)}"))
        body.append(literal(f"run_step {q(s.name)} {q(s.remote_path)}"))
        if i < ledger_from:
            entry = q(f"{s.name} {s.fingerprint()}")
            body.append(literal(f"echo {entry} >> \"$LEDGER\""))
            out.append(literal(f"# --- {s.name}\nif done_before {entry}; then skip_step "
                               f"{q(s.name)}\nelse\n")
                       + "\n".join("  " + b for b in body) + literal("\nfi"))
        else:
            out.append(literal(f"# --- {s.name}\n") + "\n".join(body))
    out.append(literal('echo "[$EDGE_NODE_NAME] node bundle: every step done"'))
    return "\n".join(out) + "\n"
