"""The paramiko runner: runs a `Step` on a `Host` exactly as Terraform's provisioners do."""
from __future__ import annotations

import base64
import dataclasses
import errno
import hashlib
import io
import os
import posixpath
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import paramiko

from provisioners.core.masking import mask
from provisioners.core.errors import SSHError, SSHFailure, StepFailed
from provisioners.core.hostkeys import HostKeyError, known_hosts_name, pinned_key, warn_insecure
from provisioners.core.props import Host
from provisioners.steps.step import Step, full_script, staged_path

__all__ = ["RunnerSettings", "Result", "Connection", "run_step", "fingerprint",
           "TIMEOUT_EXIT_CODE", "TAIL_LINES"]

#: Exit code of a command stopped because it ran past its timeout (as coreutils `timeout`).
TIMEOUT_EXIT_CODE = 124
#: How many lines of combined output a StepFailed carries.
TAIL_LINES = 20
#: How long to wait for the end of output after a command exited (see Connection._collect).
_EOF_GRACE = 0.5

Log = Callable[[str], None]


@dataclass(frozen=True)
class RunnerSettings:
    """Timeouts and retries of the runner, in one place (seconds unless said otherwise)."""
    #: TCP connect, SSH banner and authentication timeout of one connection attempt.
    connect_timeout: float = 10.0
    #: How many more attempts after a first connect attempt that failed for a reason that
    #: may pass (refused, timed out, reset). Authentication, host key and name resolution
    #: failures are not retried. Commands are never retried.
    connect_retries: int = 3
    #: Pause between connect attempts.
    retry_delay: float = 2.0
    #: Default limit on one command (a step script); past it the command is stopped and
    #: its Result has exit code TIMEOUT_EXIT_CODE.
    command_timeout: float = 1800.0
    #: SSH keepalive interval, so idle NATs and firewalls keep long steps' connections.
    keepalive: int = 15


DEFAULT_SETTINGS = RunnerSettings()


@dataclass
class Result:
    """What one command did on one host; secrets given to `run` are already masked."""
    host: str
    step: str
    command: str
    exit_code: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last `lines` lines of stdout followed by stderr."""
        combined = (self.stdout.rstrip("\n") + "\n" + self.stderr.rstrip("\n")).strip("\n")
        return "\n".join(combined.splitlines()[-lines:])


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's fingerprint of a public key, as `ssh-keygen -lf` prints it: SHA256:…"""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def _where(host: Host) -> str:
    return f"{host.address}:{host.port}"


def _known_hosts_name(host: Host) -> str:
    return known_hosts_name(host.address, host.port)


def _pinned(host: Host) -> Optional[paramiko.PKey]:
    """The key `host` pins (host_key, or its known_hosts_file entry, read now); None only
    with insecure_ignore_host_key=True, after a warning naming the host."""
    source = "host_key" if host.host_key else "known_hosts_file"
    try:
        line = pinned_key(host)
    except HostKeyError as e:
        raise SSHError(f"host {host.key}: {e.field} {e.value!r} {e.allowed}", SSHFailure.SETUP) from None
    if line is None:
        if host.insecure_ignore_host_key:
            warn_insecure(host, "the SSH runner")
            return None
        raise SSHError(f"host {host.key}: its host key is not verified, so it is not "
                       f"connected to; give host_key (its OpenSSH public key line), "
                       f"known_hosts_file (a known_hosts file holding "
                       f"{_known_hosts_name(host)}) or insecure_ignore_host_key=True", SSHFailure.SETUP)
    parts = line.split()
    try:
        return paramiko.PKey.from_type_string(parts[0], base64.b64decode(parts[1]))
    except Exception as e:  # noqa: BLE001 - any parse failure means the same advice
        raise SSHError(
            f"host {host.key}: {source} gives {line!r}, which is not an OpenSSH public key "
            f"line (\"ssh-ed25519 AAAA...\", as in the host's /etc/ssh/ssh_host_*_key.pub): "
            f"{e}", SSHFailure.SETUP) from None


class _RejectOtherKeys(paramiko.MissingHostKeyPolicy):
    """With a pinned key, a server key of another type is a changed key: rejected before
    authentication, so nothing is sent to that server."""

    def __init__(self, pinned: paramiko.PKey):
        self.pinned = pinned

    def missing_host_key(self, client, hostname, key):
        raise paramiko.BadHostKeyException(hostname, key, self.pinned)


class _AcceptAnyKey(paramiko.MissingHostKeyPolicy):
    """insecure_ignore_host_key=True: any key (the warning was logged at connect)."""

    def missing_host_key(self, client, hostname, key):
        return None


class Connection:
    """One SSH connection to one `Host` (through its bastion when it has one).

    Use as a context manager; it connects on entry (or on first use) and closes on exit.
    """

    def __init__(self, host: Host, settings: RunnerSettings = DEFAULT_SETTINGS):
        self.host = host
        self.settings = settings
        self._client: Optional[paramiko.SSHClient] = None
        self._sftp: Optional[paramiko.SFTPClient] = None
        self._bastion: Optional[Connection] = None

    # -- connecting -------------------------------------------------------------------

    def __enter__(self) -> "Connection":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> "Connection":
        """Connect now (retrying transient failures); a no-op when already connected."""
        if self._client is not None and self._client.get_transport() is not None \
                and self._client.get_transport().is_active():
            return self
        self.close()
        attempts = 1 + max(0, self.settings.connect_retries)
        for attempt in range(1, attempts + 1):
            try:
                self._client = self._connect_once()
                return self
            except _Transient as e:
                if attempt == attempts:
                    self.close()  # the bastion's connection too
                    raise SSHError(f"{e} (tried {attempts} time{'s' if attempts > 1 else ''})",
                                   SSHFailure.REACH) from None
                time.sleep(self.settings.retry_delay)
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def _auth(self) -> dict:
        h = self.host
        kw: dict = {}
        if h.private_key_file:
            path = os.path.expanduser(h.private_key_file)
            if not os.path.isfile(path):
                raise SSHError(f"host {h.key}: private_key_file {path} does not exist", SSHFailure.SETUP)
            try:
                kw["pkey"] = paramiko.PKey.from_path(path)
            except Exception as e:  # noqa: BLE001 - sorted just below
                if not (isinstance(e, paramiko.PasswordRequiredException)
                        or "password" in str(e).lower()):
                    raise SSHError(
                        f"host {h.key}: private_key_file {path} is not a private key "
                        f"(OpenSSH or PEM, e.g. from ssh-keygen -t ed25519): {e}", SSHFailure.SETUP) from None
                raise SSHError(f"host {h.key}: private key {path} is encrypted; use an "
                               f"unencrypted key (an SSH agent is not supported yet)", SSHFailure.SETUP) from None
            kw["key_filename"] = path
        if h.password_env:
            if h.password_env not in os.environ:
                raise SSHError(f"host {h.key}: password_env names {h.password_env}, "
                               f"which is not set in the environment; export it and retry", SSHFailure.SETUP)
            kw["password"] = os.environ[h.password_env]
        if not kw:
            raise SSHError(f"host {h.key}: give private_key_file or password_env", SSHFailure.SETUP)
        return kw

    def _connect_once(self) -> paramiko.SSHClient:
        h, s = self.host, self.settings
        auth = self._auth()
        pinned = _pinned(h)
        sock = None
        if h.bastion is not None:
            if self._bastion is None:
                self._bastion = Connection(h.bastion, s).connect()
            sock = self._open_tunnel()
        client = paramiko.SSHClient()
        if pinned is not None:
            # Known to paramiko: it prefers that key type and rejects a different key.
            client.get_host_keys().add(_known_hosts_name(h), pinned.get_name(), pinned)
        client.set_missing_host_key_policy(_AcceptAnyKey() if pinned is None
                                           else _RejectOtherKeys(pinned))
        made: list[paramiko.Transport] = []

        def transport_factory(*args, **kwargs) -> paramiko.Transport:
            made.append(paramiko.Transport(*args, **kwargs))
            return made[-1]
        try:
            client.connect(
                h.address, port=h.port, username=h.user, timeout=s.connect_timeout,
                banner_timeout=s.connect_timeout, auth_timeout=s.connect_timeout,
                channel_timeout=s.connect_timeout, allow_agent=False, look_for_keys=False,
                sock=sock, transport_factory=transport_factory, pkey=auth.get("pkey"),
                password=auth.get("password"))
        except BaseException as e:
            # paramiko may give up on the handshake with a bare "No existing session";
            # whether the server's banner ever came tells what happened.
            no_banner = bool(made) and not made[-1].remote_version
            client.close()
            raise self._advice(e, auth, no_banner) from None
        transport = client.get_transport()
        if transport is not None and s.keepalive:
            transport.set_keepalive(int(s.keepalive))
        return client

    def _open_tunnel(self) -> paramiko.Channel:
        h, b = self.host, self.host.bastion
        transport = self._bastion._client.get_transport()
        try:
            return transport.open_channel(
                "direct-tcpip", (h.address, h.port), ("127.0.0.1", 0),
                timeout=self.settings.connect_timeout)
        except paramiko.ChannelException as e:
            raise _Transient(
                f"host {h.key}: bastion {b.key} could not open a connection to {_where(h)} "
                f"({e.text}): is sshd running there and reachable from the bastion, and does "
                f"the bastion allow TCP forwarding?") from None
        except (paramiko.SSHException, OSError) as e:
            raise _Transient(f"host {h.key}: connection to bastion {b.key} failed while "
                             f"opening a tunnel to {_where(h)}: {e}") from None

    def _advice(self, e: BaseException, auth: dict, no_banner: bool = False) -> Exception:
        """Turn what paramiko/socket raised into an SSHError (or a _Transient to retry)."""
        h = self.host
        where = _where(h)
        via = f" via bastion {h.bastion.key}" if h.bastion else ""
        if isinstance(e, paramiko.BadHostKeyException):
            return SSHError(self._changed_key_text(e.expected_key, e.key), SSHFailure.HOST_KEY)
        if isinstance(e, paramiko.AuthenticationException):
            how = []
            if "key_filename" in auth:
                how.append(f"key {auth['key_filename']}")
            if "password" in auth:
                how.append(f"the password in ${h.password_env}")
            return SSHError(
                f"authentication failed for user {h.user} with {' and '.join(how)} on "
                f"{h.key} ({where}): is the public key in ~{h.user}/.ssh/authorized_keys "
                f"there (ssh-copy-id -i {auth.get('key_filename', 'KEY')} -p {h.port} "
                f"{h.user}@{h.address}), and may {h.user} log in?", SSHFailure.AUTHENTICATION)
        if isinstance(e, socket.gaierror):
            return SSHError(f"could not resolve host {h.address} ({h.key}): {e.strerror}; "
                            f"check the address or DNS", SSHFailure.REACH)
        if isinstance(e, paramiko.ssh_exception.NoValidConnectionsError) and any(
                getattr(x, "errno", None) == errno.EHOSTUNREACH for x in e.errors.values()):
            return _Transient(f"no route to {where}{via} ({h.key}): is the host up and is "
                              f"the address right?")
        if isinstance(e, (paramiko.ssh_exception.NoValidConnectionsError,
                          ConnectionRefusedError)):
            return _Transient(f"connection refused by {where}{via} ({h.key}): is sshd "
                              f"running and listening on port {h.port}?")
        if isinstance(e, (socket.timeout, TimeoutError)):
            return _Transient(f"timed out connecting to {where}{via} ({h.key}) after "
                              f"{self.settings.connect_timeout:g}s: is the host up and port "
                              f"{h.port} open in its firewall?")
        if isinstance(e, paramiko.SSHException) and (no_banner or "banner" in str(e)):
            return _Transient(f"timed out waiting for the SSH banner of {where}{via} "
                              f"({h.key}) after {self.settings.connect_timeout:g}s: is an "
                              f"SSH server listening on port {h.port}?")
        if isinstance(e, (paramiko.SSHException, OSError, EOFError)):
            return _Transient(f"SSH connection to {where}{via} ({h.key}) failed: {e}")
        if isinstance(e, Exception):
            return SSHError(f"SSH connection to {where}{via} ({h.key}) failed: {e!r}")
        raise e  # KeyboardInterrupt and friends

    def _changed_key_text(self, expected: paramiko.PKey, got: paramiko.PKey) -> str:
        h = self.host
        where, name = _where(h), _known_hosts_name(h)
        line = f"{got.get_name()} {got.get_base64()}"
        if h.host_key:
            update = (f"set host_key to \"{line}\" (and drop the old key from your own "
                      f"known_hosts: ssh-keygen -R '{name}')")
            pins = "host_key pins"
        else:
            update = (f"replace the entry for {name} in {h.known_hosts_file} (ssh-keygen -R "
                      f"'{name}' -f {h.known_hosts_file}, then ssh-keyscan"
                      f"{f' -p {h.port}' if h.port != 22 else ''} {h.address} >> "
                      f"{h.known_hosts_file})")
            pins = f"known_hosts_file {h.known_hosts_file} pins"
        return (f"host key of {h.key} ({where}) changed; nothing was sent and the login was "
                f"not tried: {pins} {expected.get_name()} {fingerprint(expected)}, the host "
                f"offered {got.get_name()} {fingerprint(got)}. Verify the new fingerprint out "
                f"of band (on the host's console: ssh-keygen -lf /etc/ssh/ssh_host_"
                f"{_short_type(got)}_key.pub); only if it matches, {update}. If the host was "
                f"not reinstalled on purpose, find out who answers at {where} before going on.")

    def close(self) -> None:
        """Close the SFTP session, the connection and the bastion's; safe to call twice."""
        for closing in (self._sftp, self._client, self._bastion):
            if closing is not None:
                try:
                    closing.close()
                except Exception:  # noqa: BLE001 - closing a dead connection is fine
                    pass
        self._sftp = self._client = self._bastion = None

    # -- using ------------------------------------------------------------------------

    def _transport(self) -> paramiko.Transport:
        self.connect()
        return self._client.get_transport()

    def run(self, command: str, *, step: str = "", timeout: Optional[float] = None,
            secrets: Sequence[str] = (), input: Union[str, bytes, None] = None) -> Result:
        """Run `command` (by the user's shell), with `input` on its stdin; returns its Result
        whatever the exit code.

        Past `timeout` (default settings.command_timeout) the command is stopped and the
        Result has exit code TIMEOUT_EXIT_CODE. Raises SSHError only when the connection
        fails or is lost.
        """
        h = self.host
        limit = self.settings.command_timeout if timeout is None else timeout
        # The login shell is the leader of the command's process group (sshd setsid()s it);
        # it notes its pid so that a timed-out command can be killed. OpenSSH refuses
        # "signal" channel requests on root logins, so that route is closed.
        pidfile = f"/tmp/.edge-run.{uuid.uuid4().hex[:12]}.pid"
        wrapped = (f"{{ echo $$ >{pidfile}; }} 2>/dev/null; trap 'rm -f {pidfile}' EXIT; "
                   f"{command}")
        started = time.monotonic()
        try:
            chan = self._transport().open_session(timeout=self.settings.connect_timeout)
            chan.exec_command(wrapped)
            if input is not None:
                chan.sendall(input.encode() if isinstance(input, str) else input)
            chan.shutdown_write()
            out, err, rc = self._collect(chan, started + limit)
            if rc is None:
                self._kill_group(pidfile)
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise SSHError(f"connection to {h.key} ({_where(h)}) lost while running "
                           f"{mask(command, secrets)!r}: {e}") from None
        stderr = err.decode("utf-8", "replace")
        if rc is None:
            rc = TIMEOUT_EXIT_CODE
            stderr += f"edge_constructs: command timed out after {limit:g}s and was stopped\n"
        return Result(host=h.key, step=step, command=mask(command, secrets), exit_code=rc,
                      stdout=mask(out.decode("utf-8", "replace"), secrets),
                      stderr=mask(stderr, secrets), duration=time.monotonic() - started)

    def _kill_group(self, pidfile: str) -> None:
        """Kill the process group whose leader wrote `pidfile` (best effort): SIGTERM first,
        so the step script's EXIT trap removes its log (unmasked output) and its token file,
        then SIGKILL two seconds later for what is left."""
        chan = self._transport().open_session(timeout=self.settings.connect_timeout)
        chan.exec_command(f"p=$(cat {pidfile} 2>/dev/null) && [ -n \"$p\" ] && "
                          f"{{ kill -TERM -- -$p; sleep 2; kill -KILL -- -$p 2>/dev/null; }}; "
                          f"rm -f {pidfile}")
        self._collect(chan, time.monotonic() + self.settings.connect_timeout)

    @staticmethod
    def _collect(chan: paramiko.Channel, deadline: float):
        """Read stdout and stderr until the command exits; rc None when past `deadline`."""
        out, err = bytearray(), bytearray()
        pause, exited_at = 0.005, 0.0
        try:
            while True:
                got = False
                while chan.recv_ready():
                    out += chan.recv(65536); got = True
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536); got = True
                if chan.exit_status_ready() and not got:
                    # Output ends with EOF; a daemon the command left behind may hold the
                    # session's stdin/stdout socket open, so EOF never comes: a short grace
                    # after the exit status, then the command is done.
                    exited_at = exited_at or time.monotonic()
                    if chan.eof_received or time.monotonic() - exited_at > _EOF_GRACE:
                        while chan.recv_ready():
                            out += chan.recv(65536)
                        while chan.recv_stderr_ready():
                            err += chan.recv_stderr(65536)
                        return bytes(out), bytes(err), chan.recv_exit_status()
                if chan.closed and not got and not chan.exit_status_ready():
                    raise paramiko.SSHException("channel closed before the command exited")
                if time.monotonic() > deadline:
                    return bytes(out), bytes(err), None
                if got:
                    pause = 0.005
                else:
                    time.sleep(pause)
                    pause = min(pause * 2, 0.1)
        finally:
            chan.close()

    def sftp(self) -> paramiko.SFTPClient:
        """The connection's SFTP session (opened on first use)."""
        if self._sftp is None or self._sftp.sock.closed:
            self._sftp = paramiko.SFTPClient.from_transport(self._transport())
        return self._sftp

    def put(self, local_path: str, remote_path: str, mode: Union[str, int] = "0600") -> None:
        """Copy a local file to `remote_path` with `mode`, atomically (temp file + rename)."""
        with open(local_path, "rb") as f:
            self._put_fo(f, remote_path, mode, what=local_path)

    def put_text(self, text: str, remote_path: str, mode: Union[str, int] = "0600") -> None:
        """Write `text` (UTF-8) to `remote_path` with `mode`, atomically."""
        self._put_fo(io.BytesIO(text.encode()), remote_path, mode, what="text")

    def _put_fo(self, fo, remote_path: str, mode: Union[str, int], what: str) -> None:
        h = self.host
        perm = int(mode, 8) if isinstance(mode, str) else int(mode)
        tmp = f"{remote_path}.edge-tmp.{uuid.uuid4().hex[:8]}"
        sftp = None
        try:
            sftp = self.sftp()
            with sftp.open(tmp, "wb") as rf:
                rf.chmod(perm)  # before any byte lands: secrets never sit world-readable
                rf.set_pipelined(True)
                for chunk in iter(lambda: fo.read(1 << 20), b""):
                    rf.write(chunk)
            sftp.posix_rename(tmp, remote_path)
        except (OSError, paramiko.SSHException, EOFError) as e:
            if sftp is not None:
                try:
                    sftp.remove(tmp)
                except Exception:  # noqa: BLE001 - best effort cleanup
                    pass
            raise SSHError(f"could not upload {what} to {h.key}:{remote_path}: {e}; does "
                           f"the directory exist and may {h.user} write to it?") from None


def _short_type(key: paramiko.PKey) -> str:
    """The file-name part of a host key type: ssh-ed25519 -> ed25519, ecdsa-… -> ecdsa."""
    name = key.get_name()
    return "ecdsa" if name.startswith("ecdsa") else name.removeprefix("ssh-")


class _Transient(Exception):
    """A connect failure worth retrying; becomes an SSHError after the last attempt."""


def _failed_command(conn: "Connection", step: Step, result: Result) -> str:
    """The command the prelude recorded in step.result_path when it failed (its first line
    is the exit code, the rest the command, masked); else the script itself."""
    try:
        with conn.sftp().open(step.result_path, "r") as f:
            recorded = f.read().decode("utf-8", "replace")
    except (OSError, paramiko.SSHException, EOFError):
        return result.command
    _, _, command = recorded.partition("\n")
    return command.rstrip("\n") or result.command


def run_step(conn_or_host: Union[Connection, Host], step: Step,
             settings: RunnerSettings = DEFAULT_SETTINGS, log: Log = print, *,
             secrets: Sequence[str] = (), verbose: bool = True) -> Result:
    """Run `step` on a host the way Terraform does: stage the uploads, write the script to
    step.remote_path, run `sh` on it. Raises StepFailed on a non-zero exit, SSHError when
    the host cannot be reached; `secrets` are masked in the log and in errors. `verbose`:
    the result's stdout holds the step's progress and its commands' output (EDGE_VERBOSE,
    sh/lib/prelude.sh), not only its last line."""
    if isinstance(conn_or_host, Host):
        with Connection(conn_or_host, settings) as conn:
            return run_step(conn, step, settings, log, secrets=secrets, verbose=verbose)
    conn = conn_or_host
    who = f"[{conn.host.key}] {step.name}"
    log(f"{who}: start")
    started = time.monotonic()

    def failed(command: str, exit_code: int, tail: str) -> StepFailed:
        log(mask(f"{who}: failed ({time.monotonic() - started:.1f}s): command {command!r} "
                 f"exited {exit_code}", secrets))
        return StepFailed(conn.host.key, step.name, mask(command, secrets), exit_code,
                          mask(tail, secrets))

    try:
        prep = conn.run(f"mkdir -p -m 0700 {step.stage_dir} {posixpath.dirname(step.remote_path)}",
                        step=step.name, timeout=settings.command_timeout, secrets=secrets)
        if not prep.ok:
            raise failed(prep.command, prep.exit_code, prep.tail())
        for i, up in enumerate(step.uploads):
            conn.put(up.source, staged_path(step, i), "0600")
        conn.put_text(full_script(step, conn.host.key), step.remote_path, "0600")
        result = conn.run(f"{'EDGE_VERBOSE=1 ' if verbose else ''}sh {step.remote_path}", step=step.name,
                          timeout=settings.command_timeout, secrets=secrets)
        result = dataclasses.replace(result, command=f"sh {step.remote_path}")
        if not result.ok:
            # The script's exit code is the failing command's (the prelude exits with it).
            raise failed(_failed_command(conn, step, result), result.exit_code, result.tail())
    except SSHError as e:
        log(mask(f"{who}: failed ({time.monotonic() - started:.1f}s): {e}", secrets))
        raise
    log(f"{who}: done ({time.monotonic() - started:.1f}s)")
    return result
