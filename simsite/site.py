"""The simulated site: N hosts, each in its own namespaces with its own sshd.

A host is:

* a network namespace ``<prefix>-h<slot>`` whose ``eth0`` is one end of a veth pair;
  the root end ``<prefix>-v<slot>`` is a port of the bridge ``<prefix>-br0``
  (198.18.0.1/24). Hosts get 198.18.0.10, .11, ... (at most 240). There is no default
  route anywhere, IPv6 is off on every link we create: traffic only ever goes to
  198.18.0.0/24 or loopback.
* a "keeper": PID 1 of a new PID namespace, in a new mount and UTS namespace, made by
  ``ip netns exec NS unshare --mount --uts --pid --fork --mount-proc --propagation
  private sh -c SETUP``. SETUP sets the hostname, mounts overlays (upper/work dirs in the
  site's workdir) over the directories a host writes to and tmpfs on /tmp, /var/tmp,
  /dev/shm and /run, then execs a tiny perl loop that reaps orphans (the machine's PID 1
  does not reap, so without this every daemon a stand-in starts would end as a zombie).
  The keeper holds the host's namespaces; they outlive sshd restarts, so background
  daemons started on the host keep running when sshd is stopped.
* its own sshd, started with ``nsenter -t KEEPER -n -m -u -p -F -- sshd -D -e -f
  /run/ecsim/sshd_config`` (sshd's sessions live in the host's PID namespace). Key-only
  auth, per-host ed25519 host key, config/keys bind-mounted read-only at /run/ecsim.

Isolation covers OVERLAY_DIRS and the tmpfs dirs; a host writing elsewhere (a new
top-level directory, /boot) would reach the machine's root fs: the chain must not.

Only one process at a time may run sites (a flock on /run/lock/ecsim-site.lock; a
second process waits). Several sites may live at once inside one process: they share
the bridge and the address pool.
"""
from __future__ import annotations

import atexit
import dataclasses
import fcntl
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Sequence

from provisioners.core.props import Host
from provisioners.ssh.runner import Connection, RunnerSettings

__all__ = ["Site", "SimHost", "SiteError", "SUBNET", "BRIDGE_ADDRESS", "MAX_HOSTS"]

SUBNET = "198.18.0.0/24"
BRIDGE_ADDRESS = "198.18.0.1"
_NET = "198.18.0."
_FIRST_OCTET = 10
MAX_HOSTS = 240
#: A host name the site accepts (one DNS label, as `hostname` of a real machine usually is).
HOSTNAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
LOCK_FILE = "/run/lock/ecsim-site.lock"
WORKDIR_BASE = Path("/var/tmp")
MARKER = ".ecsim-site"
KEPT_MARKER = ".ecsim-kept"   # a site left running by Site.detach() (the demo's --keep)
IN_HOST_SSHD_DIR = "/run/ecsim"

# Directories a host may write to: each gets an overlay (lower = the machine's dir,
# upper/work = per host under the site's workdir). /usr covers /usr/local.
OVERLAY_DIRS = (
    "/etc", "/usr", "/opt", "/root", "/home", "/srv", "/media",
    "/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/mail", "/var/opt",
    "/var/backups", "/var/local",
)
# Must be overlaid or the site cannot claim isolation of what the chain writes.
_REQUIRED_OVERLAYS = ("/etc", "/usr", "/opt", "/var/lib", "/root")
TMPFS_DIRS = ("/tmp", "/var/tmp", "/dev/shm")  # /run is handled separately
#: The directory every host of a site sees as one (a bind mount of <workdir>/etcd-cluster): the
#: stand-in etcd members of a cluster's masters keep their replicated data there
#: (simsite/standins/store.py CLUSTER_DIR; STANDINS.md, "etcd").
SHARED_ETCD_DIR = "/var/lib/standins/etcd-cluster"
#: Where a shared operator directory waits, inside a host, for its own tmpfs to be mounted.
_SHARE_STAGE = "/run/ecsim-share"

# PID 1 of each host: reap whatever is reparented to us, exit on TERM.
_REAPER = (
    '$0="ecsim-init"; $SIG{CHLD}=sub{}; $SIG{TERM}=sub{exit 0}; $SIG{INT}=sub{exit 0};'
    ' while(1){ my $p=waitpid(-1,0); sleep 1 if $p<=0; }'
)


class SiteError(RuntimeError):
    """The simulated site could not be set up / operated."""


@dataclasses.dataclass(frozen=True)
class SimHost:
    name: str               # "h0", "h1", ... (site-local: the inventory name)
    address: str            # 198.18.0.x
    port: int               # 22
    user: str               # "root"
    private_key_file: str   # the site's operator key (0600)
    host_public_key: str    # "ssh-ed25519 AAAA..."
    netns: str              # e.g. "ecsim-h0"
    sshd_pid: int | None    # None while stopped
    hostname: str = ""      # its kernel host name (UTS namespace); `name` unless the site was told otherwise


@dataclasses.dataclass
class _HostState:
    name: str
    hostname: str
    slot: int
    address: str
    netns: str
    veth: str
    dir: Path
    host_public_key: str
    keeper: subprocess.Popen | None = None
    init_pid: int | None = None
    sshd: subprocess.Popen | None = None
    log: Path | None = None


# ----------------------------------------------------------------------------- helpers


def _run(argv: Sequence[str], *, input: str | None = None, check: bool = True,
         timeout: float = 60) -> subprocess.CompletedProcess:
    p = subprocess.run(list(argv), input=input, capture_output=True, text=True,
                       timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise SiteError(f"{' '.join(argv)} failed (rc={p.returncode}): {p.stderr.strip()}")
    return p


def _ip_batch(lines: Iterable[str], *, force: bool = False) -> subprocess.CompletedProcess | None:
    text = "".join(line + "\n" for line in lines)
    if not text:
        return None
    argv = ["ip"] + (["-force"] if force else []) + ["-batch", "-"]
    return _run(argv, input=text, check=not force)


def _set_sysctl(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        pass


def _proc_state(pid: int) -> str | None:
    """State letter of pid, or None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(")") + 2:].split(" ", 1)[0]


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _kill_and_wait(pids: Iterable[int], timeout: float = 10.0) -> None:
    """SIGKILL pids and wait until each is gone or a zombie we cannot reap."""
    pids = [p for p in set(pids) if p > 1 and p != os.getpid()]
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    pending = set(pids)
    while pending and time.monotonic() < deadline:
        for p in list(pending):
            st = _proc_state(p)
            if st is None:
                pending.discard(p)
            elif st == "Z":
                # dead; its parent reaps it (never waitpid() a child some Popen owns)
                pending.discard(p)
        if pending:
            time.sleep(0.02)


def _netns_list() -> list[str]:
    p = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def _netns_pids(*names: str) -> list[int]:
    """PIDs of the processes in the named network namespaces (like ``ip netns pids``,
    for many namespaces in one scan of /proc)."""
    inodes = set()
    for ns in names:
        try:
            inodes.add(os.stat(f"/run/netns/{ns}").st_ino)
        except OSError:
            pass
    if not inodes:
        return []
    wanted = {f"net:[{i}]" for i in inodes}
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/ns/net") in wanted:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


def _links() -> list[str]:
    p = _run(["ip", "-o", "link", "show"], check=False)
    names = []
    for line in p.stdout.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@", 1)[0])
    return names


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path).rstrip("/") + "/"
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                if mp == str(path) or mp.startswith(prefix):
                    found.append(mp)
    except OSError:
        pass
    return found


def _gen_ed25519() -> tuple[bytes, str]:
    """(OpenSSH private key PEM, "ssh-ed25519 AAAA...")."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    k = Ed25519PrivateKey.generate()
    priv = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                           serialization.NoEncryption())
    pub = k.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                      serialization.PublicFormat.OpenSSH).decode()
    return priv, pub


def _write(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)


def interpreter_paths() -> list[str]:
    """Directories of this Python (the venv and its base) that the hosts cannot see because
    their own tmpfs covers them: the stand-ins' shebang names this interpreter, so the site
    shares these read-only into every host at the same path."""
    roots = []
    for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.realpath(sys.executable))}:
        p = os.path.realpath(p)
        if p == "/run" or p.startswith("/run/"):
            raise SiteError(
                f"this Python lives under /run ({p}), which every simulated host replaces "
                f"with its own tmpfs, so the stand-ins could not run there: use a Python "
                f"(or a virtual environment) outside /run")
        if any(p == t or p.startswith(t + "/") for t in TMPFS_DIRS):
            roots.append(p)
    # keep only the outermost directories
    roots.sort()
    return [r for i, r in enumerate(roots) if not any(r.startswith(o + "/") for o in roots[:i])]


def _wait_ssh_banner(address: str, port: int, deadline: float,
                     proc: subprocess.Popen | None = None) -> bool:
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False  # sshd died: no point waiting
        try:
            with socket.create_connection((address, port), timeout=2) as s:
                s.settimeout(5)
                if s.recv(4).startswith(b"SSH-"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _wait_host_key(address: str, port: int, want: str, deadline: float) -> bool:
    """Wait until the SSH server at address:port offers the host key `want` ("type base64")."""
    import paramiko

    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=2) as s:
                t = paramiko.Transport(s)
                try:
                    t.start_client(timeout=5)
                    key = t.get_remote_server_key()
                    if f"{key.get_name()} {key.get_base64()}" == " ".join(want.split()[:2]):
                        return True
                finally:
                    t.close()
        except (OSError, EOFError, paramiko.SSHException):
            pass
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------- process-wide registry


class _Registry:
    lock = threading.RLock()
    flock_fd: int | None = None
    prefix: str | None = None
    sites: list["Site"] = []
    slots: set[int] = set()
    popen_pids: set[int] = set()

    @classmethod
    def acquire(cls, prefix: str, timeout: float) -> bool:
        """Take the machine-wide lock if we do not hold it. True if we just took it."""
        with cls.lock:
            if cls.flock_fd is not None:
                if cls.prefix != prefix:
                    raise SiteError(f"a site with prefix {cls.prefix!r} is live in this process; "
                                    f"cannot start one with prefix {prefix!r}")
                return False
            fd = cls._open_lock()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(f"ecsim: another process runs a simulated site; waiting for {LOCK_FILE}",
                      file=sys.stderr)
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            os.close(fd)
                            raise SiteError(f"timed out after {timeout}s waiting for {LOCK_FILE} "
                                            "(another process runs a simulated site)")
                        time.sleep(0.5)
            cls.flock_fd = fd
            cls.prefix = prefix
            return True

    @staticmethod
    def _open_lock() -> int:
        Path(LOCK_FILE).parent.mkdir(parents=True, exist_ok=True)
        return os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    @classmethod
    def release_if_idle(cls) -> None:
        with cls.lock:
            if not cls.sites and cls.flock_fd is not None:
                os.close(cls.flock_fd)
                cls.flock_fd = None
                cls.prefix = None


def _atexit_close_all() -> None:
    for s in list(_Registry.sites):
        try:
            s.close()
        except Exception as e:  # pragma: no cover - best effort at interpreter exit
            print(f"ecsim: teardown at exit failed: {e}", file=sys.stderr)


atexit.register(_atexit_close_all)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _tear_down_on_termination() -> None:
    """SIGTERM or SIGHUP ends Python without running `finally`, `__exit__` or atexit: a test
    run killed that way (a CI timeout, `kill PID`) left its namespaces, bridge address and
    sshd processes behind. In the main thread, and where nobody installed a handler, those
    signals become KeyboardInterrupt, which unwinds as Ctrl-C does: pytest tears its
    fixtures down, each Site closes, atexit closes what is left."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _raise_interrupt)


# ------------------------------------------------------------------------------ the site


class Site:
    """N simulated hosts. Use as a context manager (or call start()/close())."""

    def __init__(self, n: int = 3, workdir: str | os.PathLike | None = None,
                 host_tools: str | os.PathLike | None = None, prefix: str = "ecsim", *,
                 start_timeout: float = 60.0, lock_timeout: float = 1800.0,
                 hostnames: dict[str, str] | None = None):
        """`hostnames` maps a host's inventory name ("h1") to a kernel host name that differs
        from it (a real machine called `edge-box-1` listed as `h1`): its UTS namespace,
        /etc/hostname and /etc/hosts carry that name. Hosts not in it are named as listed."""
        if not re.fullmatch(r"[a-z][a-z0-9]{0,7}", prefix):
            raise ValueError(f"prefix must match [a-z][a-z0-9]{{0,7}} (interface names): {prefix!r}")
        if not 0 <= n <= MAX_HOSTS:
            raise ValueError(f"n must be 0..{MAX_HOSTS}: {n}")
        self.prefix = prefix
        self.n = n
        self.hostnames = dict(hostnames or {})
        for inv, hn in self.hostnames.items():
            if not HOSTNAME.fullmatch(hn):
                raise ValueError(f"hostnames[{inv!r}] must be a host name ({HOSTNAME.pattern}): {hn!r}")
        self.bridge = f"{prefix}-br0"
        self.host_tools = Path(host_tools).resolve() if host_tools is not None else None
        if self.host_tools is not None and not self.host_tools.is_dir():
            raise ValueError(f"host_tools is not a directory: {self.host_tools}")
        self._given_workdir = Path(workdir).resolve() if workdir is not None else None
        if self._given_workdir is not None:
            w = str(self._given_workdir)
            if re.search(r"[,:\s]", w):
                raise ValueError(f"workdir may not contain ',', ':' or whitespace: {w}")
            for d in OVERLAY_DIRS:
                if w == d or w.startswith(d + "/"):
                    raise ValueError(f"workdir may not live under {d} (overlaid in hosts): {w}")
        self.workdir: Path | None = None
        self._created_workdir = False
        self.start_timeout = start_timeout
        self.lock_timeout = lock_timeout
        self.operator_key_file: str | None = None
        self.operator_public_key: str | None = None
        self._states: dict[str, _HostState] = {}
        self._hosts: list[SimHost] = []
        self._next_index = 0
        self._started = False
        self._closed = False
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "Site":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> "Site":
        if self._started:
            raise SiteError("site already started")
        self._started = True
        _tear_down_on_termination()
        first = _Registry.acquire(self.prefix, self.lock_timeout)
        with _Registry.lock:
            _Registry.sites.append(self)
        try:
            if first:
                self.cleanup_leftovers(self.prefix)
            self._make_workdir()
            priv, pub = _gen_ed25519()
            _write(self.workdir / "operator_ed25519", priv, 0o600)
            _write(self.workdir / "operator_ed25519.pub", pub + "\n", 0o644)
            self.operator_key_file = str(self.workdir / "operator_ed25519")
            self.operator_public_key = pub
            self._ensure_bridge()
            if self.n:
                self.add_hosts(self.n)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Tear everything down. Idempotent; safe after a failed start."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            errors: list[str] = []
            try:
                self._teardown_hosts(list(self._states.values()))
            except Exception as e:
                errors.append(str(e))
            self._states.clear()
            self._hosts.clear()
            with _Registry.lock:
                if self in _Registry.sites:
                    _Registry.sites.remove(self)
                last = not _Registry.sites
                if last:
                    try:
                        if self.bridge in _links():
                            _run(["ip", "link", "del", self.bridge], check=False)
                    except Exception as e:
                        errors.append(str(e))
            try:
                self._remove_workdir()
            except Exception as e:
                errors.append(str(e))
            _Registry.release_if_idle()
            if errors:
                raise SiteError("teardown problems: " + "; ".join(errors))

    def detach(self) -> None:
        """Leave the hosts running when this process exits (the demo's --keep): the site is
        no longer torn down at exit and the machine-wide lock is released. The next process
        that starts a site with the same prefix removes it as a leftover, and so does
        `Site.cleanup_leftovers(prefix)` (`scripts/demo --down`)."""
        with self._lock:
            self._check_live()
            self._closed = True
            (self.workdir / KEPT_MARKER).write_text(f"kept by pid {os.getpid()}\n")
            for st in self._states.values():
                for p in (st.keeper, st.sshd):
                    if p is not None:
                        _Registry.popen_pids.discard(p.pid)
            with _Registry.lock:
                if self in _Registry.sites:
                    _Registry.sites.remove(self)
            _Registry.release_if_idle()

    # ------------------------------------------------------------------ public API

    @property
    def hosts(self) -> list[SimHost]:
        return list(self._hosts)

    def host(self, name: str) -> SimHost:
        for h in self._hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def add_hosts(self, k: int) -> list[SimHost]:
        """Bring up k more hosts (in parallel); return them."""
        self._check_live()
        if k <= 0:
            return []
        with self._lock:
            states = self._allocate(k)
            try:
                self._bring_up(states)
            except BaseException:
                self._teardown_hosts(states)
                for st in states:
                    self._states.pop(st.name, None)
                raise
            new = [self._publish(st) for st in states]
            return new

    def remove_host(self, h: SimHost | str) -> None:
        self._check_live()
        with self._lock:
            st = self._state(h)
            self._teardown_hosts([st])
            self._states.pop(st.name, None)
            self._hosts = [x for x in self._hosts if x.name != st.name]

    def stop_sshd(self, h: SimHost | str) -> SimHost:
        """Kill the host's sshd listener; the host keeps its files and daemons."""
        self._check_live()
        with self._lock:
            st = self._state(h)
            if st.sshd is not None:
                self._stop_popen(st.sshd)
                st.sshd = None
            return self._publish(st)

    def start_sshd(self, h: SimHost | str) -> SimHost:
        """Start the host's sshd again (same host key, same files); wait until it accepts."""
        self._check_live()
        with self._lock:
            st = self._state(h)
            if st.sshd is None or st.sshd.poll() is not None:
                self._spawn_sshd(st)
                if not _wait_ssh_banner(st.address, 22, time.monotonic() + self.start_timeout, st.sshd):
                    raise SiteError(f"sshd of {st.name} did not come back; log:\n{self._log_tail(st)}")
            return self._publish(st)

    def add_address(self, h: SimHost | str, address: str) -> None:
        """Give the host a second address on 198.18.0.0/24 and let its sshd listen on it too
        (a host that moved, for tests of a changed address)."""
        if not address.startswith(_NET):
            raise SiteError(f"{address}: simulated hosts live on {SUBNET} only")
        self._check_live()
        with self._lock:
            st = self._state(h)
            _run(["ip", "-n", st.netns, "addr", "add", f"{address}/24", "dev", "eth0"])
            cfg = st.dir / "sshd" / "sshd_config"
            cfg.write_text(f"ListenAddress {address}:22\n" + cfg.read_text())
            if st.sshd is not None:
                self._stop_popen(st.sshd)
            self._spawn_sshd(st)
            if not _wait_ssh_banner(address, 22, time.monotonic() + self.start_timeout, st.sshd):
                raise SiteError(f"sshd of {st.name} does not answer on {address}; log:\n"
                                f"{self._log_tail(st)}")

    def ssh_logins(self, h: SimHost | str) -> int:
        """How many SSH connections the host's sshd has accepted (its log's "Accepted" lines)."""
        return self._state(h).log.read_text(errors="replace").count("Accepted publickey for ")

    def cpu_seconds(self, hosts: Sequence[SimHost | str]) -> float:
        """CPU seconds used so far by the processes of `hosts` and by their reaped children
        (utime + stime + cutime + cstime of each live process in their namespaces)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in _netns_pids(*(self._state(h).netns for h in hosts)):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(x) for x in fields[11:15])
        return total / tick

    def replace_host_key(self, h: SimHost | str) -> SimHost:
        """Give the host a new SSH host key, as a reinstall (or an impostor) would: new key
        files, then SIGHUP to its sshd's PID (sshd re-executes and reads them); returns once
        sshd serves the new key, with `host_public_key` the new key."""
        self._check_live()
        with self._lock:
            st = self._state(h)
            if st.sshd is None or st.sshd.poll() is not None:
                raise SiteError(f"sshd of {st.name} is not running; start_sshd first")
            priv, pub = _gen_ed25519()
            _write(st.dir / "sshd" / "ssh_host_ed25519_key", priv, 0o600)
            _write(st.dir / "sshd" / "ssh_host_ed25519_key.pub", pub + "\n")
            st.host_public_key = pub
            os.kill(st.sshd.pid, signal.SIGHUP)
            if not _wait_host_key(st.address, 22, pub, time.monotonic() + self.start_timeout):
                raise SiteError(f"sshd of {st.name} does not serve its new host key; log:\n"
                                f"{self._log_tail(st)}")
            return self._publish(st)

    def write_inventory(self, path: str | os.PathLike) -> Path:
        data = {"hosts": [
            {"name": h.name, "address": h.address, "port": h.port, "user": h.user,
             "private_key_file": h.private_key_file, "host_key": h.host_public_key}
            for h in self._hosts]}
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(data, indent=2) + "\n")
        return p

    def as_host(self, h: SimHost | str) -> Host:
        """The simulated host as the product's `Host` (key file, host key pinned)."""
        s = h if isinstance(h, SimHost) else self._public(h)
        return Host(s.address, port=s.port, user=s.user, private_key_file=s.private_key_file,
                    host_key=s.host_public_key, name=s.name)

    def connect(self, h: SimHost | str, timeout: float = 30) -> Connection:
        """A connected `Connection` of the product's SSH layer, host key pinned (caller
        closes it, or uses it as a context manager)."""
        settings = RunnerSettings(connect_timeout=timeout, connect_retries=0)
        return Connection(self.as_host(h), settings).connect()

    def ssh(self, h: SimHost | str, cmd: str, timeout: float = 60,
            input: str | bytes | None = None) -> tuple[int, str, str]:
        """Run cmd on the host over SSH (host key pinned). (rc, stdout, stderr); past
        `timeout` the command is stopped and rc is 124."""
        with self.connect(h, timeout=min(timeout, 30)) as conn:
            r = conn.run(cmd, timeout=timeout, input=input)
        return r.exit_code, r.stdout, r.stderr

    def exec_in(self, h: SimHost | str, argv: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        """Run argv inside the host's net+mount+uts+pid namespaces, as root (tests only)."""
        st = self._state(h)
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        kwargs.setdefault("timeout", 60)
        return subprocess.run(["nsenter", "-t", str(st.init_pid), "-n", "-m", "-u", "-p", "--",
                               *argv], **kwargs)

    def host_dir(self, h: SimHost | str) -> Path:
        """The host's directory in the workdir (overlay upper dirs live under it)."""
        return self._state(h).dir

    # ------------------------------------------------------------- leftovers cleanup

    @classmethod
    def cleanup_leftovers(cls, prefix: str = "ecsim", wait: float = 0.0) -> dict:
        """Remove what a crashed run left: namespaces ``<prefix>-*`` (and the processes in
        them), ``<prefix>-*`` links (veths, the bridge) and stale workdirs
        ``/var/tmp/<prefix>-*``. Resources of sites live in this process are kept. Raises
        SiteError if another process is running a site right now, or, with `wait` seconds,
        if it still is after that long."""
        removed = {"netns": [], "links": [], "pids": [], "workdirs": []}
        with _Registry.lock:
            took = False
            if _Registry.flock_fd is None:
                fd = _Registry._open_lock()
                deadline = time.monotonic() + wait
                told = False
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            os.close(fd)
                            raise SiteError("another process is running a simulated site; "
                                            "not cleaning up") from None
                        if not told:
                            print(f"ecsim: another process runs a simulated site; waiting for "
                                  f"{LOCK_FILE}", file=sys.stderr)
                            told = True
                        time.sleep(0.5)
                took = True
            try:
                live_sites = [s for s in _Registry.sites if not s._closed]
                live_ns = {st.netns for s in live_sites for st in s._states.values()}
                live_links = {st.veth for s in live_sites for st in s._states.values()}
                live_dirs = {s.workdir for s in live_sites if s.workdir is not None}
                if live_sites:
                    live_links |= {s.bridge for s in live_sites}
                ours = prefix + "-"
                stale_ns = [ns for ns in _netns_list() if ns.startswith(ours) and ns not in live_ns]
                pids = _netns_pids(*stale_ns)
                _kill_and_wait(pids)
                removed["pids"] = sorted(set(pids))
                stale_links = [l for l in _links() if l.startswith(ours) and l not in live_links]
                # veths first, then the bridge
                stale_links.sort(key=lambda l: l.endswith("-br0"))
                _ip_batch([f"link del {l}" for l in stale_links], force=True)
                _ip_batch([f"netns del {ns}" for ns in stale_ns], force=True)
                removed["netns"], removed["links"] = stale_ns, stale_links
                # A site this process detached (kept) held its slots until now: free them.
                for ns in stale_ns:
                    m = re.fullmatch(re.escape(ours) + r"h(\d+)", ns)
                    if m:
                        _Registry.slots.discard(int(m.group(1)))
                for d in sorted(WORKDIR_BASE.glob(ours + "*")):
                    if d in live_dirs or not (d / MARKER).exists():
                        continue
                    if _mounts_under(d):
                        continue  # never rm -rf through a mount
                    if (d / KEPT_MARKER).exists():
                        print(f"ecsim: removing a site that was kept running ({d})",
                              file=sys.stderr)
                    shutil.rmtree(d, ignore_errors=True)
                    removed["workdirs"].append(str(d))
            finally:
                if took:
                    os.close(fd)
        return removed

    # ------------------------------------------------------------------ internals

    def _check_live(self) -> None:
        if not self._started or self._closed:
            raise SiteError("site is not running")

    def _state(self, h: SimHost | str) -> _HostState:
        name = h if isinstance(h, str) else h.name
        try:
            return self._states[name]
        except KeyError:
            raise KeyError(f"no host {name!r} in this site") from None

    def _public(self, h: SimHost | str) -> SimHost:
        return self.host(h if isinstance(h, str) else h.name)

    def _publish(self, st: _HostState) -> SimHost:
        pid = st.sshd.pid if st.sshd is not None and st.sshd.poll() is None else None
        sh = SimHost(name=st.name, address=st.address, port=22, user="root",
                     private_key_file=self.operator_key_file, host_public_key=st.host_public_key,
                     netns=st.netns, sshd_pid=pid, hostname=st.hostname)
        for i, x in enumerate(self._hosts):
            if x.name == st.name:
                self._hosts[i] = sh
                break
        else:
            self._hosts.append(sh)
        return sh

    def _make_workdir(self) -> None:
        if self._given_workdir is None:
            WORKDIR_BASE.mkdir(parents=True, exist_ok=True)
            self.workdir = WORKDIR_BASE / f"{self.prefix}-{os.getpid()}-{secrets.token_hex(4)}"
            self.workdir.mkdir(mode=0o700)
            self._created_workdir = True
        else:
            self.workdir = self._given_workdir
            if not self.workdir.exists():
                self.workdir.mkdir(parents=True, mode=0o700)
                self._created_workdir = True
        (self.workdir / MARKER).write_text(f"pid {os.getpid()}\n")

    def _remove_workdir(self) -> None:
        if self.workdir is None or not self.workdir.exists():
            return
        if _mounts_under(self.workdir):
            raise SiteError(f"mounts remain under {self.workdir}; not removing it")
        if self._created_workdir:
            shutil.rmtree(self.workdir)
        else:
            for name in ("hosts", "operator_ed25519", "operator_ed25519.pub", MARKER):
                p = self.workdir / name
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()

    def _ensure_bridge(self) -> None:
        if self.bridge in _links():
            return
        _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        _set_sysctl(f"/proc/sys/net/ipv6/conf/{self.bridge}/disable_ipv6", "1")
        _ip_batch([f"addr add {BRIDGE_ADDRESS}/24 dev {self.bridge}",
                   f"link set {self.bridge} up"])

    def _allocate(self, k: int) -> list[_HostState]:
        with _Registry.lock:
            free = [s for s in range(MAX_HOSTS) if s not in _Registry.slots]
            if len(free) < k:
                raise SiteError(f"only {len(free)} of {MAX_HOSTS} host slots are free; asked for {k}")
            slots = free[:k]
            _Registry.slots.update(slots)
        states = []
        for slot in slots:
            name = f"h{self._next_index}"
            self._next_index += 1
            st = _HostState(name=name, hostname=self.hostnames.get(name, name), slot=slot, address=f"{_NET}{_FIRST_OCTET + slot}",
                            netns=f"{self.prefix}-h{slot}", veth=f"{self.prefix}-v{slot}",
                            dir=self.workdir / "hosts" / name, host_public_key="")
            self._states[name] = st
            states.append(st)
        return states

    def _prepare_dirs(self, st: _HostState) -> None:
        d = st.dir
        d.mkdir(parents=True, mode=0o700)
        ov = d / "ov"
        for src in OVERLAY_DIRS:
            if not os.path.isdir(src) or os.path.islink(src):
                continue
            key = src.strip("/").replace("/", "_")
            (ov / key / "upper").mkdir(parents=True)
            (ov / key / "work").mkdir()
            os.chmod(ov / key / "upper", os.stat(src).st_mode & 0o7777)
        etc = ov / "etc" / "upper"
        _write(etc / "hostname", st.hostname + "\n")
        try:
            hosts = Path("/etc/hosts").read_text()
        except OSError:
            hosts = "127.0.0.1 localhost\n"
        _write(etc / "hosts", hosts.rstrip("\n") + f"\n{st.address} {st.hostname}\n")
        _write(etc / "machine-id", secrets.token_hex(16) + "\n", 0o444)
        self._fix_root_account(etc)
        # A fresh host's root has Debian's plain dotfiles, not this machine's (its .bashrc runs
        # `pyenv init`, slow on every SSH session and able to wedge them on a stale lock).
        root_upper = ov / "root" / "upper"
        if root_upper.is_dir():
            _write(root_upper / ".bashrc", "# ~/.bashrc of a simulated host\n")
            _write(root_upper / ".profile", 'if [ -f ~/.bashrc ]; then . ~/.bashrc; fi\n')
        if self.host_tools is not None:
            bindir = ov / "usr" / "upper" / "local" / "bin"
            for p in ("local", "local/bin"):
                q = ov / "usr" / "upper" / p
                q.mkdir(exist_ok=True)
                os.chmod(q, os.stat("/usr/" + p).st_mode & 0o7777 if os.path.isdir("/usr/" + p) else 0o755)
            for src in sorted(self.host_tools.iterdir()):
                if src.is_dir() and src.name == "sbin":
                    # tools a real host keeps in /sbin (= /usr/sbin): simsite.package.SBIN_TOOLS
                    sbin = ov / "usr" / "upper" / "sbin"
                    sbin.mkdir(exist_ok=True)
                    os.chmod(sbin, os.stat("/usr/sbin").st_mode & 0o7777)
                    for tool in sorted(src.iterdir()):
                        shutil.copy2(tool, sbin / tool.name)
                elif src.is_dir():
                    shutil.copytree(src, bindir / src.name, symlinks=True)
                else:
                    shutil.copy2(src, bindir / src.name)
        sshd_dir = d / "sshd"
        sshd_dir.mkdir(mode=0o700)
        priv, pub = _gen_ed25519()
        st.host_public_key = pub
        _write(sshd_dir / "ssh_host_ed25519_key", priv, 0o600)
        _write(sshd_dir / "ssh_host_ed25519_key.pub", pub + "\n")
        _write(sshd_dir / "authorized_keys", self.operator_public_key + "\n", 0o600)
        _write(sshd_dir / "sshd_config", "\n".join([
            f"ListenAddress {st.address}:22",
            f"HostKey {IN_HOST_SSHD_DIR}/ssh_host_ed25519_key",
            f"AuthorizedKeysFile {IN_HOST_SSHD_DIR}/authorized_keys",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "MaxStartups 100:30:200",
            "MaxSessions 50",
            "MaxAuthTries 10",
            "LoginGraceTime 60",
            "PidFile none",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "AcceptEnv LANG LC_*",
            f"Subsystem sftp {SFTP_SERVER}",
            "",
        ]))
        st.log = d / "host.log"
        st.log.touch()

    @staticmethod
    def _fix_root_account(etc_upper: Path) -> None:
        # sshd without PAM refuses accounts whose password starts with "!" (locked).
        try:
            lines = Path("/etc/shadow").read_text().splitlines()
        except OSError:
            return
        out, changed = [], False
        for line in lines:
            f = line.split(":")
            if f[0] == "root" and len(f) > 1 and f[1].startswith("!"):
                f[1] = "*"
                changed = True
            out.append(":".join(f))
        if changed:
            _write(etc_upper / "shadow", "\n".join(out) + "\n", 0o640)

    def _setup_script(self, st: _HostState) -> str:
        q = lambda s: "'" + str(s).replace("'", "'\\''") + "'"  # noqa: E731
        ov = st.dir / "ov"
        lines = [
            "set -e",
            "for f in all default eth0; do echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6 2>/dev/null || true; done",
            "ip link set lo up",
            f"ip addr add {st.address}/24 dev eth0",
            "ip link set eth0 up",
            f"echo {st.hostname} > /proc/sys/kernel/hostname",
        ]
        for src in OVERLAY_DIRS:
            if not os.path.isdir(src) or os.path.islink(src):
                continue
            key = src.strip("/").replace("/", "_")
            lines.append(f"mount -t overlay overlay -o lowerdir={src},upperdir={ov / key / 'upper'},"
                         f"workdir={ov / key / 'work'},volatile {src}")
        # one etcd cluster's data, shared by the site's hosts (after the /var/lib overlay)
        lines += [f"mkdir -p {SHARED_ETCD_DIR}", f"mount --bind {q(self.workdir / 'etcd-cluster')} {SHARED_ETCD_DIR}"]
        lines += [
            "mount -t tmpfs -o mode=0755,size=256m tmpfs /run",
            f"mkdir -p /run/sshd /run/lock {IN_HOST_SSHD_DIR}",
            f"mount --bind {q(st.dir / 'sshd')} {IN_HOST_SSHD_DIR}",
            f"mount -o remount,bind,ro {IN_HOST_SSHD_DIR}",
        ]
        # The interpreter the stand-ins name may live under /tmp & co. (a throwaway venv):
        # held under /run before the host's own tmpfs hides it, then put back read-only.
        shared = interpreter_paths()
        for i, p in enumerate(shared):
            lines += [f"mkdir -p {_SHARE_STAGE}/{i}", f"mount --bind {q(p)} {_SHARE_STAGE}/{i}"]
        for t in TMPFS_DIRS:
            if os.path.isdir(t):
                lines.append(f"mount -t tmpfs -o mode=1777,size=1g tmpfs {t}")
        for i, p in enumerate(shared):
            lines += [f"mkdir -p {q(p)}", f"mount --bind {_SHARE_STAGE}/{i} {q(p)}",
                      f"mount -o remount,bind,ro {q(p)}", f"umount {_SHARE_STAGE}/{i}"]
        lines += [
            "echo ready",
            f"exec perl -e {q(_REAPER)} </dev/null >/dev/null",
        ]
        return "\n".join(lines) + "\n"

    def _bring_up(self, states: list[_HostState]) -> None:
        (self.workdir / "etcd-cluster").mkdir(mode=0o700, exist_ok=True)
        for st in states:
            self._prepare_dirs(st)
        # root side: namespaces and veths (peer created straight into the namespace)
        _ip_batch([line for st in states for line in (
            f"netns add {st.netns}",
            f"link add {st.veth} type veth peer name eth0 netns {st.netns}")])
        for st in states:
            _set_sysctl(f"/proc/sys/net/ipv6/conf/{st.veth}/disable_ipv6", "1")
        _ip_batch([f"link set {st.veth} master {self.bridge} up" for st in states])
        # keepers, all at once
        for st in states:
            log = open(st.log, "ab")
            try:
                st.keeper = subprocess.Popen(
                    ["ip", "netns", "exec", st.netns, "unshare", "--mount", "--uts", "--pid",
                     "--fork", "--kill-child", "--mount-proc", "--propagation", "private",
                     "sh", "-c", self._setup_script(st)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                    start_new_session=True)
            finally:
                log.close()
            _Registry.popen_pids.add(st.keeper.pid)
        deadline = time.monotonic() + self.start_timeout
        pending = {st.keeper.stdout.fileno(): st for st in states}
        bufs = {fd: b"" for fd in pending}
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                names = ", ".join(st.name for st in pending.values())
                raise SiteError(f"hosts did not finish setup in {self.start_timeout}s: {names}")
            ready, _, _ = select.select(list(pending), [], [], min(left, 1.0))
            for fd in ready:
                st = pending[fd]
                chunk = os.read(fd, 4096)
                bufs[fd] += chunk
                if b"ready\n" in bufs[fd]:
                    del pending[fd]
                elif not chunk:
                    st.keeper.wait(timeout=5)
                    raise SiteError(f"setup of host {st.name} failed (rc={st.keeper.returncode}); "
                                    f"log:\n{self._log_tail(st)}")
        for st in states:
            st.keeper.stdout.close()
            kids = []
            for _ in range(100):
                kids = _children(st.keeper.pid)
                if kids:
                    break
                time.sleep(0.01)
            if not kids:
                raise SiteError(f"host {st.name}: keeper has no init process")
            st.init_pid = kids[0]
        for st in states:
            self._spawn_sshd(st)
        deadline = time.monotonic() + self.start_timeout
        with ThreadPoolExecutor(max_workers=min(64, len(states))) as ex:
            oks = list(ex.map(lambda st: _wait_ssh_banner(st.address, 22, deadline, st.sshd), states))
        bad = [st for st, ok in zip(states, oks) if not ok]
        if bad:
            raise SiteError("sshd did not accept on " + ", ".join(st.name for st in bad) +
                            f"; log of {bad[0].name}:\n{self._log_tail(bad[0])}")

    def _spawn_sshd(self, st: _HostState) -> None:
        log = open(st.log, "ab")
        try:
            st.sshd = subprocess.Popen(
                ["nsenter", "-t", str(st.init_pid), "-n", "-m", "-u", "-p", "-F", "--",
                 SSHD, "-D", "-e", "-f", f"{IN_HOST_SSHD_DIR}/sshd_config"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()
        _Registry.popen_pids.add(st.sshd.pid)

    @staticmethod
    def _stop_popen(p: subprocess.Popen, timeout: float = 5.0) -> None:
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=timeout)
        _Registry.popen_pids.discard(p.pid)

    def _teardown_hosts(self, states: list[_HostState]) -> None:
        if not states:
            return
        # 1. SIGKILL every host's init: that kills its whole PID namespace (the kernel
        #    reaps it). The keeper (unshare) reaps the init itself, so no init ends up a
        #    zombie of the machine's PID 1 (which never reaps). sshd listeners go after
        #    that: killing a listener just before the init makes the kernel's PID-namespace
        #    teardown stall for about 1.5 s.
        for st in states:
            if st.keeper is None or st.keeper.poll() is not None:
                continue
            # (a host that failed during setup has no init_pid recorded yet)
            targets = _children(st.keeper.pid) or [st.keeper.pid]
            for pid in targets:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for attr in ("keeper", "sshd"):
            for st in states:
                p = getattr(st, attr)
                if p is None:
                    continue
                if attr == "sshd" and p.poll() is None:
                    p.kill()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
                if p.stdout is not None:
                    p.stdout.close()
                _Registry.popen_pids.discard(p.pid)
                setattr(st, attr, None)
        # 2. anything else still in the network namespaces
        existing = set(_netns_list())
        stray = _netns_pids(*(st.netns for st in states if st.netns in existing))
        _kill_and_wait(stray)
        # 3. links and namespaces
        links = set(_links())
        _ip_batch([f"link del {st.veth}" for st in states if st.veth in links], force=True)
        _ip_batch([f"netns del {st.netns}" for st in states if st.netns in existing], force=True)
        # 4. host dirs (no mounts can remain: the mount namespaces died with their processes)
        for st in states:
            if st.dir.exists() and not _mounts_under(st.dir):
                shutil.rmtree(st.dir, ignore_errors=True)
        with _Registry.lock:
            for st in states:
                _Registry.slots.discard(st.slot)
        left_ns = [st.netns for st in states if st.netns in set(_netns_list())]
        if left_ns:
            raise SiteError(f"namespaces left behind: {left_ns}")

    @staticmethod
    def _log_tail(st: _HostState, n: int = 4000) -> str:
        try:
            return st.log.read_text(errors="replace")[-n:]
        except Exception:
            return "(no log)"
