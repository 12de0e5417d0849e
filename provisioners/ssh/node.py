"""An edge node's host over ONE SSH connection: run the node bundle (`steps.bundle`) (the
reset when it leaves is a plain `run_step`). Used by the `edge_node` resource of the provider and by the join
benchmark; the bundle's ledger makes a second run resume after the last finished step."""
from __future__ import annotations

import posixpath
import shlex
import time
from dataclasses import dataclass
from typing import Optional

from provisioners.core.errors import StepFailed
from provisioners.core.props import Host
from provisioners.ssh.runner import DEFAULT_SETTINGS, Connection, Log, Result, RunnerSettings
from provisioners.steps.bundle import BUNDLE_PATH, FAILED_STEP, NODE_NAME_VAR
from provisioners.steps.step import STEP_DIR, Step

q = shlex.quote


@dataclass(frozen=True)
class Package:
    """The install package given by path: copied to the node unless already there."""
    local_path: str
    remote_path: str
    sha256: str


def place_package(conn: Connection, pkg: Package, log: Log) -> None:
    """The package lies at its path on the host (sha256-checked), or at `<path>.upload` for
    the install step to verify and move into place."""
    have = conn.run(f"echo {q(pkg.sha256 + '  ' + pkg.remote_path)} | sha256sum -c --status")
    if have.ok:
        return
    started = time.monotonic()
    conn.run(f"mkdir -p {q(posixpath.dirname(pkg.remote_path))}")
    conn.put(pkg.local_path, pkg.remote_path + ".upload", "0644")
    log(f"[{conn.host.key}] package copied ({time.monotonic() - started:.1f}s)")


def run_bundle(host: Host, node_name: str, bundle: str, *, package: Optional[Package] = None,
               settings: RunnerSettings = DEFAULT_SETTINGS, log: Log = print,
               secrets: tuple[str, ...] = ()) -> Result:
    """Prepare `host` and join it as `node_name` over one connection. Raises StepFailed
    naming the step that failed (its command and exit code, from its result file) or
    SSHError; the bundle is removed from the host either way (it holds the token)."""
    with Connection(host, settings) as conn:
        started = time.monotonic()
        log(f"[{node_name}] node bundle: start")
        prep = conn.run(f"mkdir -p -m 0700 {STEP_DIR}")
        if not prep.ok:
            raise StepFailed(node_name, "NodeBundle", prep.command, prep.exit_code, prep.tail())
        if package:
            place_package(conn, package, log)
        conn.put_text(bundle, BUNDLE_PATH, "0600")
        try:
            # verbose: the provider keeps the whole run in the node's log (edge-logs/<node>.log)
            result = conn.run(f"EDGE_VERBOSE=1 {NODE_NAME_VAR}={q(node_name)} sh {BUNDLE_PATH}",
                              step="NodeBundle", secrets=secrets)
        finally:
            conn.run(f"rm -f {BUNDLE_PATH}")
        for line in result.stdout.splitlines():
            log(line)
        if not result.ok:
            raise _failure(conn, node_name, result)
        log(f"[{node_name}] node bundle: done ({time.monotonic() - started:.1f}s)")
        return result


def _failure(conn: Connection, node_name: str, result: Result) -> StepFailed:
    """The failing step, with the command and exit code its prelude recorded."""
    step = conn.run(f"cat {FAILED_STEP} 2>/dev/null").stdout.strip() or "NodeBundle"
    command, code = result.command, result.exit_code
    if step != "NodeBundle":
        recorded = conn.run(f"cat {q(Step(step, '').result_path)} 2>/dev/null").stdout
        first, _, rest = recorded.partition("\n")
        if first.strip().isdigit():
            code, command = int(first), rest.strip() or command
    return StepFailed(node_name, step, command, code, result.tail())
