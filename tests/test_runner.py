"""The paramiko runner against a throwaway sshd on 127.0.0.1 (started per test module)."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from provisioners.core.errors import SSHError, StepFailed
from provisioners.core.props import Host
from provisioners.ssh.runner import TIMEOUT_EXIT_CODE, Connection, RunnerSettings, run_step
from provisioners.steps.step import STAGE_DIR, STEP_DIR, Step, Upload
from tests.chain_runner import run_chain

REPO = Path(__file__).resolve().parents[1]
FAST = RunnerSettings(connect_timeout=5, connect_retries=0, retry_delay=0.1)
#: Every step these tests run is named with this prefix, so teardown removes only ours.
PREFIX = "RunnerTest"

SSHD = "/usr/sbin/sshd"


def require_sshd_and_root() -> None:
    """CI runs as root and scripts/bootstrap installs openssh-server: without them these
    tests fail saying so, never skip."""
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (the loopback sshd logs in as root)")
    if not os.access(SSHD, os.X_OK):
        problems.append(f"{SSHD} missing: run sh scripts/bootstrap (it installs openssh-server)")
    if problems:
        pytest.fail("the runner tests' loopback sshd is unavailable: " + "; ".join(problems),
                    pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
                   check=True)
    return path


@dataclass
class Sshd:
    """A loopback sshd: key-only root login with `operator_key`; `host_public_key` pins it."""
    address: str
    port: int
    user: str
    private_key_file: str
    host_public_key: str
    workdir: Path

    def host(self, **changes) -> Host:
        """The sshd as a Host, its key pinned by host_key unless `changes` say otherwise."""
        if "known_hosts_file" in changes or changes.get("insecure_ignore_host_key"):
            changes.setdefault("host_key", None)
        return replace(Host(address=self.address, port=self.port, user=self.user,
                            private_key_file=self.private_key_file, name="loop",
                            host_key=self.host_public_key), **changes)


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _wait_for_sessions_to_end(pid: int, limit: float = 5.0) -> None:
    # sshd's per-connection children outliving it would be reparented to a pid 1 that
    # may not reap them; let them finish first.
    deadline = time.monotonic() + limit
    while _children(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    require_sshd_and_root()
    work = tmp_path_factory.mktemp("sshd")
    host_key = _keygen(work / "ssh_host_ed25519_key")
    operator = _keygen(work / "operator")
    (work / "authorized_keys").write_text((work / "operator.pub").read_text())
    port = _free_port()
    (work / "sshd_config").write_text(f"""\
ListenAddress 127.0.0.1
Port {port}
HostKey {host_key}
PidFile {work}/sshd.pid
AuthorizedKeysFile {work}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
LogLevel ERROR
""")
    os.makedirs("/run/sshd", exist_ok=True)
    log = open(work / "sshd.log", "wb")
    # umask 022, a machine's usual: the modes the tests check are the runner's doing, not
    # a strict umask's (sessions inherit sshd's umask; UsePAM no sets none)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(work / "sshd_config")],
                            stdout=log, stderr=subprocess.STDOUT, umask=0o022)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not start: {(work / 'sshd.log').read_text()}")
                time.sleep(0.05)
        yield Sshd("127.0.0.1", port, "root", str(operator),
                   (work / "ssh_host_ed25519_key.pub").read_text().strip(), work)
    finally:
        _wait_for_sessions_to_end(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        for p in Path(STEP_DIR).glob(f"{PREFIX}*.sh"):
            p.unlink()
        for p in Path(STAGE_DIR).glob(f"{PREFIX}*"):
            shutil.rmtree(p, ignore_errors=True)


@pytest.fixture
def logged():
    lines: list[str] = []
    return lines


# -- running steps ----------------------------------------------------------------------

def test_step_runs_and_its_uploads_land_with_their_mode(sshd, tmp_path, logged):
    # given a step with two uploads and a script that reads one of them
    (tmp_path / "token").write_text("abc\n")
    (tmp_path / "conf").write_text("key=value\n")
    dest = tmp_path / "dest"
    step = Step(name=f"{PREFIX}Uploads", script=f"say \"$(cat {dest}/etc/conf)\"",
                uploads=(Upload(str(tmp_path / "token"), f"{dest}/secret/token", "0600"),
                         Upload(str(tmp_path / "conf"), f"{dest}/etc/conf", "0644")))

    # when it runs
    result = run_step(sshd.host(), step, FAST, log=logged.append)

    # then the files are in place with their modes, the script is kept, the log is short
    assert result.exit_code == 0 and result.step == step.name and result.host == "loop"
    assert (dest / "secret/token").read_text() == "abc\n"
    assert (dest / "secret/token").stat().st_mode & 0o777 == 0o600
    assert (dest / "etc/conf").stat().st_mode & 0o777 == 0o644
    assert "key=value" in result.stdout and f"{step.name}: done" in result.stdout
    assert Path(step.remote_path).read_text().startswith("set -eu\nSTEP=RunnerTestUploads\n")
    assert os.stat(f"{STAGE_DIR}/{step.name}").st_mode & 0o777 == 0o700
    assert list(Path(f"{STAGE_DIR}/{step.name}").iterdir()) == []  # staged copies moved
    assert logged[0] == f"[loop] {step.name}: start"
    assert logged[1].startswith(f"[loop] {step.name}: done (") and logged[1].endswith("s)")
    assert len(logged) == 2


def test_fails_when_a_command_of_the_step_fails(sshd, logged):
    step = Step(name=f"{PREFIX}Fails", script=(
        "run echo first\n"
        "run sh -c 'for i in $(seq 1 30); do echo line $i; done; exit 3'\n"
        "run echo never"))

    with pytest.raises(StepFailed) as caught:
        run_step(sshd.host(), step, FAST, log=logged.append)

    e = caught.value
    assert (e.host, e.step, e.exit_code) == ("loop", step.name, 3)
    assert e.command == "sh -c for i in $(seq 1 30); do echo line $i; done; exit 3"
    assert "line 30" in e.output_tail and "line 10" not in e.output_tail
    assert len(e.output_tail.splitlines()) <= 20
    assert str(e).startswith(f"step {step.name} failed on host loop: command "
                             f"'sh -c for i in $(seq 1 30); do echo line $i; done; exit 3' "
                             f"exited 3\n  last lines of output:\n")
    assert logged[-1].startswith(f"[loop] {step.name}: failed (")
    assert logged[-1].endswith("exited 3")


def test_fails_with_the_script_command_when_a_bare_command_fails(sshd):
    step = Step(name=f"{PREFIX}Bare", script="echo about to fail\nfalse")

    with pytest.raises(StepFailed) as caught:
        run_step(sshd.host(), step, FAST, log=lambda _: None)

    assert caught.value.command == f"sh {step.remote_path}"
    assert caught.value.exit_code == 1
    assert "about to fail" in caught.value.output_tail


def test_secrets_are_masked_in_the_log_and_the_error(sshd, logged):
    secret = "s3cr3t-token-value"
    step = Step(name=f"{PREFIX}Secret", script=f"run sh -c 'echo token is {secret}; exit 4'")

    with pytest.raises(StepFailed) as caught:
        run_step(sshd.host(), step, FAST, log=logged.append, secrets=[secret])

    text = str(caught.value) + caught.value.command + caught.value.output_tail + "".join(logged)
    assert secret not in text
    assert "token is ***" in caught.value.output_tail
    assert "echo token is ***" in caught.value.command


def test_a_chain_stops_at_the_first_failure(sshd, tmp_path, logged):
    steps = [Step(f"{PREFIX}One", f"touch {tmp_path}/one"), None,
             Step(f"{PREFIX}Two", "run false"),
             Step(f"{PREFIX}Three", f"touch {tmp_path}/three")]

    with pytest.raises(StepFailed) as caught:
        run_chain(sshd.host(), steps, FAST, log=logged.append)

    assert caught.value.step == f"{PREFIX}Two" and caught.value.command == "false"
    assert (tmp_path / "one").exists() and not (tmp_path / "three").exists()
    assert logged[-1].startswith(f"[loop] chain failed at {PREFIX}Two after 1 step ok (")


def test_a_chain_runs_every_step_over_one_connection(sshd, logged):
    results = run_chain(sshd.host(), [Step(f"{PREFIX}A", "echo $PPID"),
                                      Step(f"{PREFIX}B", "echo b")], FAST, logged.append)
    assert [r.step for r in results] == [f"{PREFIX}A", f"{PREFIX}B"]
    assert logged[-1].startswith("[loop] chain ok: 2 steps (")


# -- the connection -------------------------------------------------------------------

def test_run_returns_non_zero_exit_codes_and_both_streams(sshd):
    with Connection(sshd.host(), FAST) as conn:
        r = conn.run("echo out; echo err >&2; exit 7", step="X")
    assert (r.exit_code, r.stdout, r.stderr, r.step, r.host) == (7, "out\n", "err\n", "X", "loop")
    assert r.duration > 0


def test_run_stops_a_command_past_its_timeout(sshd):
    with Connection(sshd.host(), FAST) as conn:
        # 3 s: long enough for "started" to arrive on a loaded machine (a site test running
        # beside it), far short of the 30.5 s the command would take
        r = conn.run("echo started; sleep 30.5; echo after", timeout=3.0)
    assert r.exit_code == TIMEOUT_EXIT_CODE and "started" in r.stdout
    assert "timed out after 3s" in r.stderr
    assert "after" not in r.stdout
    time.sleep(0.5)
    ps = subprocess.run(["pgrep", "-f", "sleep 30.5"], capture_output=True, text=True)
    assert ps.stdout == "", "the timed-out command kept running"


def test_put_text_is_atomic_and_sets_the_mode(sshd, tmp_path):
    target = tmp_path / "f.txt"
    with Connection(sshd.host(), FAST) as conn:
        conn.put_text("one\n", str(target), "0640")
        conn.put_text("two\n", str(target), "0600")
    assert target.read_text() == "two\n" and target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temp files left


def test_a_pinned_host_key_that_matches_is_accepted(sshd):
    with Connection(sshd.host(host_key=sshd.host_public_key), FAST) as conn:
        assert conn.run("true").exit_code == 0


def test_a_host_reached_through_a_bastion(behind_bastion):
    bastion, target = behind_bastion
    with pytest.raises(SSHError):  # not reachable from here without the bastion
        Connection(target, FAST).connect()
    with Connection(replace(target, bastion=bastion), FAST) as conn:
        result = conn.run("hostname; ss -tln")
    # it ran inside the bastion's namespaces (host h0), where the target listens
    assert result.stdout.startswith("h0\n") and "127.0.0.1:2222" in result.stdout


# -- SSH failures become advice ---------------------------------------------------------

def test_fails_when_the_host_key_changed(sshd, tmp_path):
    other = _keygen(tmp_path / "other")
    pinned = (tmp_path / "other.pub").read_text().strip()

    with pytest.raises(SSHError) as caught:
        Connection(sshd.host(host_key=pinned), FAST).connect()

    msg = str(caught.value)
    assert caught.value.kind == "host key"
    assert "host key of loop (127.0.0.1:%d) changed" % sshd.port in msg
    assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}'" in msg
    assert sshd.host_public_key.split()[1] in msg  # the new key, to paste into host_key
    # both keys by their full fingerprints, as ssh-keygen -lf shows them
    assert f"pins ssh-ed25519 {_fingerprint(tmp_path / 'other.pub')}, the host offered " \
           f"ssh-ed25519 {_fingerprint_of_line(sshd.host_public_key, tmp_path)}." in msg
    assert "authentication failed" not in msg
    del other


def _fingerprint(pub: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]


def _fingerprint_of_line(line: str, tmp_path: Path) -> str:
    p = tmp_path / "line.pub"
    p.write_text(line + "\n")
    return _fingerprint(p)


def _known_hosts(tmp_path: Path, name: str, line: str, hashed: bool = False) -> Path:
    p = tmp_path / "known_hosts"
    p.write_text(f"other.example.com {line}\n{name} {line}\n")
    if hashed:   # OpenSSH's own hashing: |1|salt|hash entries, no name left in clear
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(p)], check=True, capture_output=True)
        assert name not in p.read_text() and p.read_text().count("|1|") == 2
    return p


@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
def test_a_known_hosts_file_pins_the_key(sshd, tmp_path, hashed):
    known = _known_hosts(tmp_path, f"[127.0.0.1]:{sshd.port}", sshd.host_public_key, hashed)
    with Connection(sshd.host(known_hosts_file=str(known)), FAST) as conn:
        assert conn.run("echo pinned").stdout == "pinned\n"


def test_a_changed_key_stops_a_step_before_anything_is_uploaded(sshd, tmp_path, logged):
    # given a known_hosts file that holds another key for the host (it was replaced)
    _keygen(tmp_path / "old")
    old = (tmp_path / "old.pub").read_text().strip()
    known = _known_hosts(tmp_path, f"[127.0.0.1]:{sshd.port}", old)
    (tmp_path / "payload").write_text("secret\n")
    step = Step(name=f"{PREFIX}NeverUploaded", script=f"touch {tmp_path}/ran",
                uploads=(Upload(str(tmp_path / "payload"), f"{tmp_path}/landed", "0600"),))
    # when the step runs
    with pytest.raises(SSHError) as caught:
        run_step(sshd.host(known_hosts_file=str(known)), step, FAST, log=logged.append)
    # then it names both fingerprints and what to do, and nothing reached the host
    msg = str(caught.value)
    assert caught.value.kind == "host key"
    assert (f"known_hosts_file {known} pins ssh-ed25519 {_fingerprint(tmp_path / 'old.pub')}, "
            f"the host offered ssh-ed25519 "
            f"{_fingerprint_of_line(sshd.host_public_key, tmp_path)}.") in msg
    assert "Verify the new fingerprint out of band" in msg
    assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}' -f {known}" in msg
    assert not Path(step.remote_path).exists() and not Path(step.stage_dir).exists()
    assert not (tmp_path / "landed").exists() and not (tmp_path / "ran").exists()


def test_fails_when_the_known_hosts_file_does_not_hold_the_host(sshd, tmp_path):
    # an entry for the address on port 22 is not one for the port the host listens on
    known = _known_hosts(tmp_path, "127.0.0.1", sshd.host_public_key)
    with pytest.raises(SSHError) as caught:
        Connection(sshd.host(known_hosts_file=str(known)), FAST).connect()
    assert caught.value.kind == "setup"
    assert str(caught.value).startswith(
        f"host loop: known_hosts_file {str(known)!r} must hold an entry for "
        f"[127.0.0.1]:{sshd.port}")


def test_a_host_without_a_pinned_key_is_not_connected_to(sshd):
    with pytest.raises(SSHError) as caught:
        Connection(sshd.host(host_key=None), FAST).connect()
    assert caught.value.kind == "setup"
    assert str(caught.value) == (
        "host loop: its host key is not verified, so it is not connected to; give host_key "
        "(its OpenSSH public key line), known_hosts_file (a known_hosts file holding "
        f"[127.0.0.1]:{sshd.port}) or insecure_ignore_host_key=True")


def test_insecure_ignore_host_key_connects_with_a_warning_each_time(sshd, caplog):
    host = sshd.host(insecure_ignore_host_key=True)
    for _ in range(2):
        with Connection(host, FAST) as conn:
            assert conn.run("true").ok
    warned = [r.getMessage() for r in caplog.records if r.name == "edge_constructs.hostkeys"]
    assert len(warned) == 2, warned
    assert all(w.startswith(f"WARNING: host loop (127.0.0.1:{sshd.port}): "
                            "insecure_ignore_host_key=True, so the SSH runner accepts") for w in warned)


def test_fails_when_the_port_refuses_connections_after_retrying(sshd):
    port = _free_port()
    settings = replace(FAST, connect_retries=2, retry_delay=0.05)

    with pytest.raises(SSHError) as caught:
        Connection(sshd.host(port=port), settings).connect()

    assert str(caught.value) == (
        f"connection refused by 127.0.0.1:{port} (loop): is sshd running and listening on "
        f"port {port}? (tried 3 times)")


def test_fails_when_the_key_is_not_authorized(sshd, tmp_path):
    stranger = _keygen(tmp_path / "stranger")

    with pytest.raises(SSHError) as caught:
        run_step(sshd.host(private_key_file=str(stranger)), Step(f"{PREFIX}Never", "true"),
                 FAST, log=lambda _: None)

    assert str(caught.value).startswith(
        f"authentication failed for user root with key {stranger} on loop "
        f"(127.0.0.1:{sshd.port})")
    assert caught.value.kind == "authentication"


def test_fails_when_the_address_does_not_resolve(sshd):
    with pytest.raises(SSHError, match="could not resolve host no-such-host.invalid"):
        Connection(sshd.host(address="no-such-host.invalid"), FAST).connect()


def test_fails_when_the_password_env_is_not_set(sshd):
    host = sshd.host(private_key_file=None, password_env="EDGE_TEST_UNSET_PASSWORD")
    with pytest.raises(SSHError, match="EDGE_TEST_UNSET_PASSWORD, which is not set"):
        Connection(host, FAST).connect()


# -- python -m provisioners.ssh -------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provisioners.ssh", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def _inventory(tmp_path: Path, *hosts: Host) -> Path:
    p = tmp_path / "inventory.json"
    p.write_text(json.dumps({"hosts": [h.to_dict() for h in hosts]}))
    return p


def test_check_passes_each_host_in_one_line(sshd, tmp_path):
    # given an inventory of a reachable host with the right key and pinned host key
    inv = _inventory(tmp_path, sshd.host(host_key=sshd.host_public_key))
    # when it is checked without Terraform
    p = subprocess.run([sys.executable, "-m", "edge_constructs", "check", str(inv)], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    # then one line says all three checks passed
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"\[loop\] CheckSSH: ok: reach, authentication, host key "
                        r"\(\d+\.\ds\)\n", p.stdout), p.stdout


def test_check_fails_naming_which_check_failed_for_each_host(sshd, tmp_path):
    # given a host with a wrong key, one whose host key changed, and one not listening
    stranger = _keygen(tmp_path / "stranger")
    _keygen(tmp_path / "other")
    port = _free_port()
    inv = _inventory(tmp_path,
                     sshd.host(name="wrong-key", private_key_file=str(stranger)),
                     sshd.host(name="new-host-key",
                               host_key=(tmp_path / "other.pub").read_text().strip()),
                     sshd.host(name="down", port=port))
    # when they are checked
    p = _cli("check", str(inv), "--timeout", "5")
    # then each failure is one line naming the check, in seconds, and the run fails
    assert p.returncode == 255
    lines = p.stdout.splitlines()
    assert len(lines) == 3, p.stdout
    assert lines[0].startswith("[wrong-key] CheckSSH: failed (authentication)")
    assert lines[1].startswith("[new-host-key] CheckSSH: failed (host key)")
    assert "ssh-keygen -R" in lines[1] and "SHA256:" in lines[1]
    assert lines[2].startswith("[down] CheckSSH: failed (reach)")
    assert f"connection refused by 127.0.0.1:{port}" in lines[2]


def test_check_fails_when_the_inventory_is_not_one(tmp_path):
    bad = tmp_path / "inv.json"
    bad.write_text(json.dumps({"hosts": [{"address": "198.18.0.10", "keyfile": "k"}]}))
    p = _cli("check", str(bad))
    assert p.returncode == 2
    assert p.stderr == (f"edge_constructs: {bad}: hosts[0]: unknown field(s) keyfile; allowed: "
                        "address, port, user, private_key_file, password_env, host_key, name, "
                        "known_hosts_file, insecure_ignore_host_key, bastion\n")


def test_cli_runs_a_script_as_a_step(sshd, tmp_path):
    script = tmp_path / "hello.sh"
    script.write_text(f"run touch {tmp_path}/ran\nsay hello\n")

    p = _cli("run", "--host", "127.0.0.1", "--port", str(sshd.port), "--key",
             sshd.private_key_file, "--host-key", sshd.host_public_key,
             "--script", str(script), "--name", f"{PREFIX}Cli", "-v")

    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"[127.0.0.1] {PREFIX}Cli: start\n[127.0.0.1] {PREFIX}Cli: done (")
    assert f"{PREFIX}Cli: hello" in p.stdout
    assert (tmp_path / "ran").exists()


def test_cli_exits_with_the_step_exit_code(sshd, tmp_path):
    script = tmp_path / "fail.sh"
    script.write_text("run sh -c 'echo broken; exit 5'\n")

    known = tmp_path / "known_hosts"      # the host key pinned from a known_hosts file
    known.write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_public_key}\n")
    p = _cli("run", "--host", "127.0.0.1", "--port", str(sshd.port), "--key",
             sshd.private_key_file, "--known-hosts", str(known), "--script", str(script),
             "--name", f"{PREFIX}CliFail")

    assert p.returncode == 5
    assert f"step {PREFIX}CliFail failed on host 127.0.0.1: command " in p.stderr
    assert "broken" in p.stderr


def test_cli_help():
    p = _cli("--help")
    assert p.returncode == 0 and "run" in p.stdout
    p = _cli("run", "--help")
    assert p.returncode == 0 and "--host-key" in p.stdout


def test_fails_when_the_port_never_speaks_ssh(sshd):
    with socket.socket() as silent:  # accepts TCP connections (backlog) but says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        settings = RunnerSettings(connect_timeout=0.5, connect_retries=0)
        host = sshd.host(port=port, name="mute")

        with pytest.raises(SSHError) as caught:
            Connection(host, settings).connect()

    assert str(caught.value).startswith(
        f"timed out waiting for the SSH banner of 127.0.0.1:{port} (mute) after 0.5s")


def test_fails_when_the_bastion_cannot_reach_the_host(behind_bastion):
    bastion, target = behind_bastion
    host = replace(target, port=2223, bastion=bastion)  # nothing listens there, even behind the bastion

    with pytest.raises(SSHError) as caught:
        Connection(host, FAST).connect()

    assert str(caught.value).startswith(
        "host inner: bastion jump could not open a connection to 127.0.0.1:2223 (")


def test_fails_when_the_key_file_is_not_a_private_key(sshd, tmp_path):
    (tmp_path / "notakey").write_text("hello\n")
    with pytest.raises(SSHError, match=f"private_key_file {tmp_path}/notakey is not a private"):
        Connection(sshd.host(private_key_file=str(tmp_path / "notakey")), FAST).connect()


def test_fails_when_the_key_is_encrypted(sshd, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pw", "-f", str(tmp_path / "k")],
                   check=True)
    with pytest.raises(SSHError, match=f"private key {tmp_path}/k is encrypted"):
        Connection(sshd.host(private_key_file=str(tmp_path / "k")), FAST).connect()


def test_a_private_key_file_under_home_is_expanded(sshd, monkeypatch):
    monkeypatch.setenv("HOME", str(Path(sshd.private_key_file).parent))
    with Connection(sshd.host(private_key_file="~/operator"), FAST) as conn:
        assert conn.run("echo home").stdout == "home\n"
