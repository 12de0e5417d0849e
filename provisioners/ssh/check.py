"""Check hosts before a long chain: reach, authentication and host key, once per host, fast."""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

from provisioners.core.errors import SSHError
from provisioners.core.props import Host
from provisioners.ssh.runner import Connection, RunnerSettings

__all__ = ["CHECK_TIMEOUT", "Checked", "check_host", "check_hosts", "host_from_dict",
           "host_to_dict", "load_inventory"]

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
                           f"{result.tail()}", "authentication")
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


_HOST_FIELDS = ("address", "port", "user", "private_key_file", "password_env", "host_key", "name",
                "known_hosts_file", "insecure_ignore_host_key")


def host_from_dict(d: Mapping, where: str = "host") -> Host:
    """A `Host` from an inventory entry (the shape `host_to_dict` writes)."""
    if not isinstance(d, Mapping) or not isinstance(d.get("address"), str):
        raise ValueError(f"{where}: got {d!r}; an object with at least \"address\" "
                         f"(and {', '.join(_HOST_FIELDS[1:])}, bastion)")
    unknown = sorted(set(d) - set(_HOST_FIELDS) - {"bastion"})
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: "
                         f"{', '.join(_HOST_FIELDS)}, bastion")
    kw = {k: d[k] for k in _HOST_FIELDS[1:] if d.get(k) is not None}
    if d.get("bastion") is not None:
        kw["bastion"] = host_from_dict(d["bastion"], f"{where}.bastion")
    return Host(d["address"], **kw)


def host_to_dict(h: Host) -> dict:
    """A host as JSON (paths and names only: never key material or a password)."""
    d = {k: getattr(h, k) for k in _HOST_FIELDS if getattr(h, k) not in (None, False)}
    if h.known_hosts_file is not None:   # read where the check runs, not where it was made
        d["known_hosts_file"] = os.path.abspath(os.path.expanduser(h.known_hosts_file))
    if h.bastion is not None:
        d["bastion"] = host_to_dict(h.bastion)
    return d


def load_inventory(text: str, where: str = "inventory") -> list[Host]:
    """Hosts of an inventory: {"hosts": [{...}, ...]} (other keys ignored)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not JSON ({e})") from None
    hosts = data.get("hosts") if isinstance(data, dict) else None
    if not isinstance(hosts, list) or not hosts:
        raise ValueError(f"{where}: got {type(data).__name__}; an object with a non-empty "
                         f"\"hosts\" list")
    return [host_from_dict(h, f"{where}: hosts[{i}]") for i, h in enumerate(hosts)]
