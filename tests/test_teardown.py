"""Destroy-time teardown chains of masters (`python -m provisioners.ssh.teardown`): through
a bastion, and an unreachable host reported with the manual commands rendered from the same
step. (Edge nodes leave through their `edge_node` resource: tests/test_nodes_e2e.py.)"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from provisioners.core.errors import SSHError
from provisioners.core.props import ClusterSpec, Host, InstallPackage
from provisioners.ssh.runner import Connection, RunnerSettings
from provisioners.ssh.teardown import encode
from provisioners.steps import chains
from provisioners.steps.context import MASTER0, Context
from provisioners.steps.step import full_script

pytestmark = pytest.mark.site


def teardown(placed) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provisioners.ssh.teardown"],
                          env={"EDGE_TEARDOWN": encode(placed), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def as_host(h, **kw) -> Host:
    return Host(h.address, port=h.port, user=h.user, private_key_file=h.private_key_file,
                host_key=h.host_public_key, name=h.name, **kw)


def context(master: Host, host: Host, role: str) -> Context:
    spec = ClusterSpec(name="t", masters=(master,),
                       install_package=InstallPackage(path="/p.tgz", sha256="a" * 64))
    return Context(spec=spec, host=host, role=role, creds=None)


def test_a_master_behind_a_bastion_is_reset_through_it(behind_bastion):
    bastion, target = behind_bastion
    with pytest.raises(SSHError):                # the target answers only behind the bastion
        Connection(target, RunnerSettings(connect_retries=0)).connect()
    assert on(bastion, "mkdir -p /etc/kubernetes/pki && touch /etc/kubernetes/admin.conf && echo ok") == "ok"
    m = replace(target, bastion=bastion)
    run = teardown(chains.render(chains.MASTER_TEARDOWN, context(m, m, MASTER0)))
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"[{target.name}] ResetMaster: the host no longer belongs to the cluster" in run.stdout
    # the inner sshd runs in the bastion's namespaces: the reset happened there
    assert on(bastion, "test -e /etc/kubernetes && echo present || echo absent") == "absent"


def on(host, cmd: str) -> str:
    with Connection(host) as conn:
        return conn.run(cmd).stdout.strip()


def test_an_unreachable_master_is_reported_with_the_manual_reset(site_factory):
    site = site_factory(1)
    master = as_host(site.hosts[0])
    site.stop_sshd(site.hosts[0])
    placed = chains.render(chains.MASTER_TEARDOWN, context(master, master, MASTER0))
    run = teardown(placed)
    # best effort: the destroy goes on, and says what to run by hand
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"[{master.name}] ResetMaster: WARNING:" in run.stdout
    assert f"{master.address}:22" in run.stdout          # the runner's own words on what failed
    # the manual reset is the very step the runner would have run
    (reset,) = placed
    assert (f"run ResetMaster on {master.name} by hand:\nssh root@{master.address} sh -s "
            f"<<'EDGE_TEARDOWN_EOF'\n{full_script(reset.step, master.name)}EDGE_TEARDOWN_EOF"
            in run.stdout)


def test_a_call_without_a_chain_says_how_to_call_it():
    run = subprocess.run([sys.executable, "-m", "provisioners.ssh.teardown"],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 2 and "EDGE_TEARDOWN=" in run.stderr
