"""What the `edge_node` resource asks a node's host directly, and the order it keeps on one
host (docs/DESIGN_NOTES.md, "Edge nodes", "One host, one membership").

Terraform runs every instance of the configuration through ONE provider process (one per
provider configuration), calling them from concurrent gRPC threads (server.py: a thread pool).
So a lock per host in this process orders what the instances do to that host: a renamed host
(same address, new name) is the old instance's delete (drain, reset) and the new one's create
(join), two instances that Terraform may run at the same time.
"""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Iterator, Optional

from provisioners.core.errors import EdgeConstructsError, StepFailed
from provisioners.core.props import Host
from provisioners.ssh.runner import Connection, Log, RunnerSettings
from provisioners.steps.step import sh_script

#: A look at a host (is it joined, as what): one short try, so that a plan over NotReady
#: nodes whose hosts are down stays bounded (about connect_timeout per such node).
PROBE_SETTINGS = RunnerSettings(connect_timeout=5.0, connect_retries=0, retry_delay=1.0,
                                command_timeout=20.0)
#: How long a create that finds its host joined under another Node name waits for the removal
#: of that Node to start in this process (the old instance's delete of a rename: Terraform
#: starts it at about the same time) before it fails.
RENAME_GRACE = 30.0
_MARK = "edge_constructs joined_as="

_registry = threading.Condition()
_locks: dict[str, threading.Lock] = {}
_leaving: dict[str, str] = {}


def host_id(host: Host) -> str:
    """The machine behind `host`: its address and port (and bastion), not its name."""
    via = f" via {host.bastion.address}:{host.bastion.port}" if host.bastion else ""
    return f"{host.address}:{host.port}{via}"


@contextlib.contextmanager
def host_lock(host: Host) -> Iterator[None]:
    """Held while an instance runs anything on the host (bundle, restart, reset)."""
    with _registry:
        lock = _locks.setdefault(host_id(host), threading.Lock())
    with lock:
        yield


@contextlib.contextmanager
def leaving(host: Host, name: str) -> Iterator[None]:
    """Announce, for the whole of a delete, that Node `name` is leaving this host: a create
    that finds the host joined as `name` waits for it instead of failing."""
    hid = host_id(host)
    with _registry:
        _leaving[hid] = name
        _registry.notify_all()
    try:
        yield
    finally:
        with _registry:
            if _leaving.get(hid) == name:
                del _leaving[hid]
            _registry.notify_all()


def wait_for_removal(host: Host, other: str, grace: float) -> bool:
    """Wait until a removal of Node `other` from this host has started and ended in this
    process; False when none started within `grace` seconds."""
    hid = host_id(host)
    deadline = time.monotonic() + grace
    with _registry:
        while _leaving.get(hid) != other:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _registry.wait(left)
        while _leaving.get(hid) == other:
            _registry.wait()
    return True


def probe_script() -> str:
    return sh_script("joined_as") + f'echo "{_MARK}$(joined_as)"\n'


def joined_as(host: Host, settings: RunnerSettings = PROBE_SETTINGS) -> Optional[str]:
    """The Node name the host's kubelet registers as; None when the host is not joined (no
    kubelet.conf). Raises SSHError when the host cannot be reached, StepFailed when the
    look fails."""
    with Connection(host, settings) as conn:
        got = conn.run("sh -s", input=probe_script(), step="JoinedAs")
    line = next((ln for ln in got.stdout.splitlines() if ln.startswith(_MARK)), None)
    if not got.ok or line is None:
        raise StepFailed(host.key, "JoinedAs", "sh -s (is the host joined, as what)",
                         got.exit_code, got.tail(5))
    return line[len(_MARK):].strip() or None


def restart_kubelet(host: Host, name: str, log: Log) -> None:
    """kubelet 1.22 registers its Node once per start (`registerWithAPIServer` returns at once
    after `registrationCompleted`, kubernetes `pkg/kubelet/kubelet_node_status.go`; issue
    71398): a Node deleted under a running kubelet comes back only when the kubelet starts
    again, with the client certificate it has (the Node authorizer's rules let a node create
    its own Node, `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go` NodeRules;
    NodeRestriction limits it to its own name)."""
    log(f"[{name}] the host is joined as {name} but the Node is gone: restarting the kubelet "
        "so that it registers the Node again (a kubelet registers once per start)")
    with Connection(host, PROBE_SETTINGS) as conn:
        got = conn.run("systemctl restart kubelet", step="RestartKubelet")
    if not got.ok:
        raise StepFailed(name, "RestartKubelet", "systemctl restart kubelet", got.exit_code,
                         got.tail(5))


class HostTaken(EdgeConstructsError):
    """The host is joined to the cluster under another Node name, and nothing removes it."""
