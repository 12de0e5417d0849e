"""A chain of steps run over one connection: what the runner tests drive (the package runs
chains through the node bundle, `provisioners.ssh.node`, and teardown)."""
from __future__ import annotations

import time
from typing import Iterable, Optional, Sequence

from provisioners.core.errors import SSHError, StepFailed
from provisioners.core.props import Host
from provisioners.ssh.runner import DEFAULT_SETTINGS, Connection, Log, Result, RunnerSettings, run_step
from provisioners.steps.step import Step


def run_chain(host: Host, steps: Iterable[Optional[Step]],
              settings: RunnerSettings = DEFAULT_SETTINGS, log: Log = print, *,
              secrets: Sequence[str] = ()) -> list[Result]:
    """Run `steps` in order on `host` over one connection; stop at the first failure
    (StepFailed or SSHError propagate). `None` entries (steps not needed) are skipped.
    Ends with one line saying the chain succeeded or which step failed."""
    results: list[Result] = []
    started = time.monotonic()
    current = "connect"
    try:
        with Connection(host, settings) as conn:
            for step in steps:
                if step is None:
                    continue
                current = step.name
                results.append(run_step(conn, step, settings, log, secrets=secrets))
    except (StepFailed, SSHError):
        log(f"[{host.key}] chain failed at {current} after {len(results)} step"
            f"{'' if len(results) == 1 else 's'} ok ({time.monotonic() - started:.1f}s)")
        raise
    log(f"[{host.key}] chain ok: {len(results)} step{'' if len(results) == 1 else 's'} "
        f"({time.monotonic() - started:.1f}s)")
    return results
