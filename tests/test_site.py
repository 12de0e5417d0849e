"""The simulated site itself: reachability, isolation, key pinning, faults, teardown.

Tests that must see the machine without any other site come first: site3 is
module-scoped and only comes up at the first test that asks for it.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

import paramiko
import pytest

from simsite import site as sitemod
from provisioners.core.errors import SSHError
from simsite.site import Site, SimHost

pytestmark = pytest.mark.site


# ----------------------------------------------------------------------------- helpers


def _netns() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _ecsim_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    names = {line.split(":", 2)[1].strip().split("@")[0] for line in out.splitlines()}
    return {n for n in names if n.startswith("ecsim")}


def _sim_addresses() -> list[str]:
    out = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if " 198.18.0." in line]


def _site_sshds() -> set[int]:
    """PIDs of sshd listeners of simulated hosts (whatever their parent)."""
    pids = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmdline = (d / "cmdline").read_bytes()
        except OSError:
            continue
        # sshd rewrites its argv into one string: "sshd: /usr/sbin/sshd -D -e -f ... [listener]"
        if b"sshd" in cmdline and f"-f {sitemod.IN_HOST_SSHD_DIR}/sshd_config".encode() in cmdline.replace(b"\0", b" "):
            pids.add(int(d.name))
    return pids


def _our_zombies() -> list[int]:
    me = os.getpid()
    z = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if fields[0] == "Z" and int(fields[1]) == me:
            z.append(int(d.name))
    return z


def _comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:  # exited meanwhile (e.g. the ssh session's shell)
        return None


def _live_sites() -> list[Site]:
    return [s for s in sitemod._Registry.sites if not s._closed]


def _accepts(h: SimHost) -> bool:
    try:
        with socket.create_connection((h.address, h.port), timeout=2) as s:
            s.settimeout(3)
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


# ------------------------------------------------------ tests that need the machine alone


def test_teardown_leaves_nothing_behind():
    others = _live_sites()
    with Site(n=3) as s:
        ns = {h.netns for h in s.hosts}
        veths = {s._states[h.name].veth for h in s.hosts}
        sshds = {h.sshd_pid for h in s.hosts}
        workdir = s.workdir
        # a daemon started under sshd, detached from the session
        rc, out, err = s.ssh(s.hosts[0], "nohup sleep 1000 >/dev/null 2>&1 & echo started")
        assert (rc, out.strip()) == (0, "started"), err
        daemon_pids = [p for p in map(int, subprocess.run(
            ["ip", "netns", "pids", s.hosts[0].netns], capture_output=True, text=True).stdout.split())
            if _comm(p) == "sleep"]
        assert daemon_pids
        assert ns <= _netns() and veths <= _ecsim_links() and sshds <= _site_sshds()
        assert workdir.is_dir()
    assert not (ns & _netns())
    assert not (veths & _ecsim_links())
    assert not (sshds & _site_sshds())
    assert not workdir.exists()
    for p in daemon_pids:
        assert not Path(f"/proc/{p}").exists(), "host daemon survived teardown"
    assert not _our_zombies()
    if not others:  # nothing else of ours may remain on the machine
        assert not {n for n in _netns() if n.startswith("ecsim-")}, _netns()
        assert not _ecsim_links()
        assert not _sim_addresses()
        assert not _site_sshds()


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_a_run_ended_by_a_signal_tears_its_site_down(sig, tmp_path):
    """`kill PID` (a CI timeout) ends Python without `__exit__` or atexit: the site turns the
    signal into KeyboardInterrupt, so a killed test run leaves no namespace, address or sshd."""
    import signal as _signal
    assert not _live_sites()          # this process holds no site: the child takes the lock
    script = tmp_path / "child.py"
    script.write_text(
        "import sys, time\n"
        "from simsite.site import Site\n"
        "with Site(n=1) as s:\n"
        "    h = s.hosts[0]\n"
        "    print(h.netns, h.sshd_pid, s.workdir, flush=True)\n"
        "    time.sleep(600)\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    child = subprocess.Popen([os.sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                             env=env)
    try:
        netns, sshd, workdir = child.stdout.readline().split()
        assert netns in _netns() and int(sshd) in _site_sshds()
        child.send_signal(getattr(_signal, sig))
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert netns not in _netns()
    assert int(sshd) not in _site_sshds()
    assert not Path(workdir).exists()
    assert not _sim_addresses() and not {n for n in _netns() if n.startswith("ecsim-")}


def test_cleanup_leftovers_removes_leaked_namespace(site_factory):
    # a site's start removes what an earlier run left
    subprocess.run(["ip", "netns", "add", "ecsim-leak"], check=True)
    live = site_factory(1)  # must itself survive the explicit cleanup below
    h = live.hosts[0]
    assert "ecsim-leak" not in _netns()

    leak_ns, leak_link = "ecsim-leak", "ecsim-leak0"
    subprocess.run(["ip", "netns", "add", leak_ns], check=True)
    subprocess.run(["ip", "link", "add", leak_link, "type", "veth", "peer", "name", "ecsim-leak1"],
                   check=True)
    proc = subprocess.Popen(["ip", "netns", "exec", leak_ns, "sleep", "1000"], start_new_session=True)
    stale = sitemod.WORKDIR_BASE / f"ecsim-leak-{secrets.token_hex(3)}"
    (stale / "hosts").mkdir(parents=True)
    (stale / sitemod.MARKER).write_text("stale\n")
    try:
        for _ in range(100):  # the sleep must be inside before we look
            if proc.pid in map(int, subprocess.run(["ip", "netns", "pids", leak_ns],
                                                   capture_output=True, text=True).stdout.split()):
                break
            time.sleep(0.02)
        removed = Site.cleanup_leftovers()
        assert leak_ns in removed["netns"] and leak_ns not in _netns()
        assert leak_link not in _ecsim_links() and "ecsim-leak1" not in _ecsim_links()
        assert proc.pid in removed["pids"]
        assert proc.wait(timeout=10) == -9
        assert str(stale) in removed["workdirs"] and not stale.exists()
        assert h.netns in _netns() and live.bridge in _ecsim_links()
        assert live.ssh(h, "hostname")[1].strip() == "h0"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "netns", "del", leak_ns], capture_output=True)
        subprocess.run(["ip", "link", "del", leak_link], capture_output=True)
        subprocess.run(["rm", "-rf", str(stale)])


def test_stop_sshd_makes_host_unreachable_and_start_brings_it_back(site_factory):
    s = site_factory(2)
    h = s.hosts[0]
    assert s.ssh(h, "echo kept > /var/lib/kept && nohup sleep 1000 >/dev/null 2>&1 &")[0] == 0
    stopped = s.stop_sshd(h)
    assert stopped.sshd_pid is None and not _accepts(h)
    with pytest.raises(SSHError, match="connection refused"):
        s.ssh(h, "true", timeout=5)
    assert s.ssh(s.hosts[1], "hostname")[1].strip() == "h1"  # the other host is unaffected
    started = s.start_sshd(h)
    assert started.sshd_pid and started.sshd_pid != h.sshd_pid
    assert started.host_public_key == h.host_public_key
    rc, out, _ = s.ssh(started, "cat /var/lib/kept; pgrep -x sleep >/dev/null && echo daemon-alive")
    assert rc == 0 and out.split() == ["kept", "daemon-alive"]


def test_add_remove_hosts_and_inventory(site_factory, tmp_path):
    s = site_factory(1)
    new = s.add_hosts(2)
    assert [h.name for h in new] == ["h1", "h2"]
    assert [h.name for h in s.hosts] == ["h0", "h1", "h2"]
    assert len({h.address for h in s.hosts}) == 3
    for h in new:
        assert s.ssh(h, "hostname")[1].strip() == h.name
    gone = s.hosts[1]
    s.remove_host(gone)
    assert gone.netns not in _netns() and [h.name for h in s.hosts] == ["h0", "h2"]
    inv = json.loads(s.write_inventory(tmp_path / "inv.json").read_text())
    assert inv == {"hosts": [
        {"name": h.name, "address": h.address, "port": 22, "user": "root",
         "private_key_file": h.private_key_file, "host_key": h.host_public_key} for h in s.hosts]}
    key = Path(s.hosts[0].private_key_file)
    assert key.stat().st_mode & 0o777 == 0o600


def test_a_host_name_may_differ_from_the_inventory_name(site_factory, tmp_path):
    """A real machine listed as `h1` may call itself `edge-box-1`: its UTS namespace,
    /etc/hostname and /etc/hosts say so; the inventory keeps the listed name."""
    with pytest.raises(ValueError, match=r"hostnames\['h1'\] must be a host name"):
        Site(n=1, hostnames={"h1": "Edge_Box"})
    s = site_factory(2, hostnames={"h1": "edge-box-1"})
    assert [(h.name, h.hostname) for h in s.hosts] == [("h0", "h0"), ("h1", "edge-box-1")]
    rc, out, err = s.ssh("h1", "hostname; cat /etc/hostname; grep -w edge-box-1 /etc/hosts")
    assert rc == 0, err
    assert out.split() == ["edge-box-1", "edge-box-1", s.host("h1").address, "edge-box-1"]
    assert s.ssh("h0", "hostname")[1].strip() == "h0"
    inv = json.loads(s.write_inventory(tmp_path / "inv.json").read_text())
    assert [h["name"] for h in inv["hosts"]] == ["h0", "h1"]


def test_host_tools_are_installed_in_usr_local_bin(site_factory, tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    tool = tools / "ecsim-hello"
    tool.write_text("#!/bin/sh\necho \"hello from $(hostname)\"\n")
    tool.chmod(0o755)
    s = site_factory(2, host_tools=tools)
    for h in s.hosts:
        rc, out, err = s.ssh(h, "command -v ecsim-hello && ecsim-hello")
        assert rc == 0, err
        assert out.split("\n")[:2] == ["/usr/local/bin/ecsim-hello", f"hello from {h.name}"]
    assert not Path("/usr/local/bin/ecsim-hello").exists()


# ------------------------------------------------------------------- the 3-host site


def test_every_host_reachable_with_its_own_hostname(site3):
    assert [h.name for h in site3.hosts] == ["h0", "h1", "h2"]
    assert [h.address for h in site3.hosts] == ["198.18.0.10", "198.18.0.11", "198.18.0.12"]
    for h in site3.hosts:
        assert (h.port, h.user) == (22, "root")
        assert h.host_public_key.startswith("ssh-ed25519 AAAA")
        rc, out, err = site3.ssh(h, "hostname; cat /etc/hostname")
        assert rc == 0, err
        assert out.split() == [h.name, h.name]
        assert site3.exec_in(h, ["hostname"]).stdout.strip() == h.name
    assert len({h.host_public_key for h in site3.hosts}) == 3


@pytest.mark.parametrize("directory", ["/etc", "/root", "/var/lib", "/opt", "/usr/local", "/tmp"])
def test_files_written_on_a_host_stay_on_it(site3, directory):
    a, *others = site3.hosts
    path = f"{directory}/ecsim-probe-{secrets.token_hex(4)}"
    rc, _, err = site3.ssh(a, f"echo {a.name} > {path} && cat {path}")
    assert rc == 0, err
    try:
        assert site3.ssh(a, f"cat {path}")[1].strip() == a.name
        for h in others:
            assert site3.ssh(h, f"test -e {path}")[0] == 1, f"{path} leaked to {h.name}"
        assert not os.path.exists(path), f"{path} leaked to the test machine"
    finally:
        site3.ssh(a, f"rm -f {path}")


def test_hosts_reach_each_other_and_nothing_else(site3):
    a, b, _ = site3.hosts
    rc, out, err = site3.ssh(a, f"exec 3<>/dev/tcp/{b.address}/22 && head -c 7 <&3", timeout=20)
    assert (rc, out) == (0, "SSH-2.0"), err
    rc, out, err = site3.ssh(a, "ip route get 1.1.1.1")
    assert rc != 0  # no default route: nothing outside 198.18.0.0/24
    rc, out, _ = site3.ssh(a, "ip -o route")
    assert out.split()[0] == "198.18.0.0/24" and len(out.strip().splitlines()) == 1


def test_host_key_is_pinned(site3):
    a, b, _ = site3.hosts
    impostor = SimHost(**{**a.__dict__, "host_public_key": b.host_public_key})
    with pytest.raises(SSHError, match=f"host key of {a.name} .* changed"):
        site3.connect(impostor, timeout=10)


def test_only_the_operator_key_gets_in(site3):
    h = site3.hosts[0]
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        with pytest.raises(paramiko.AuthenticationException):
            c.connect(h.address, username="root", pkey=_other_key(),
                      look_for_keys=False, allow_agent=False, timeout=10)
    finally:
        c.close()


def _other_key() -> paramiko.PKey:
    import io

    from simsite.site import _gen_ed25519

    return paramiko.Ed25519Key.from_private_key(io.StringIO(_gen_ed25519()[0].decode()))


def test_orphans_on_a_host_are_reaped(site3):
    h = site3.hosts[2]
    assert site3.ssh(h, "sh -c 'sleep 0.2 &' ; echo ok")[1].strip() == "ok"
    time.sleep(1.5)
    states = site3.exec_in(h, ["ps", "-eo", "stat="]).stdout.split()
    assert "Z" not in {s[0] for s in states}, states
