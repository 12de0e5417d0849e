"""Check hosts before a long chain: reach, authentication and host key, once per host, fast."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from provisioners.core.errors import SSHError, SSHFailure
from provisioners.core.props import Host
from provisioners.ssh.runner import Connection, RunnerSettings

__all__ = ["CHECK_TIMEOUT", "Checked", "check_host", "check_hosts"]

#: Connect/authentication timeout of one check, seconds: long enough for a slow link, short
#: enough that a wrong key or a dead host is reported in seconds, not minutes.
CHECK_TIMEOUT = 10.0


@dataclass(frozen=True)
class Checked:
    """What the check of one host found: `error` is None when all three checks passed."""
    host: Host
    duration: float
    error: Optional[SSHError] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        """The one line the check prints for this host."""
        who = f"[{self.host.key}] CheckSSH"
        if self.ok:
            return f"{who}: ok: reach, authentication, host key ({self.duration:.1f}s)"
        return f"{who}: failed ({self.error.kind}) ({self.duration:.1f}s): {self.error}"


def check_host(host: Host, timeout: float = CHECK_TIMEOUT) -> Checked:
    """Connect once (no retry) and run `true`: the host is reachable, lets us in, and is
    the host whose key is pinned (by `host_key` or `known_hosts_file`)."""
    started = time.monotonic()
    settings = RunnerSettings(connect_timeout=timeout, connect_retries=0)
    try:
        with Connection(host, settings) as conn:
            result = conn.run("true", timeout=timeout)
        if not result.ok:
            raise SSHError(f"host {host.key}: logged in, but `true` exited {result.exit_code}: "
                           f"{result.tail()}", SSHFailure.AUTHENTICATION)
    except SSHError as e:
        return Checked(host, time.monotonic() - started, e)
    return Checked(host, time.monotonic() - started)


def check_hosts(hosts: Sequence[Host], timeout: float = CHECK_TIMEOUT,
                log: Callable[[str], None] = print) -> list[Checked]:
    """Check every host, in parallel; one line each, in the order given."""
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(32, len(hosts))) as ex:
        results = list(ex.map(lambda h: check_host(h, timeout), hosts))
    for r in results:
        log(r.line())
    return results
