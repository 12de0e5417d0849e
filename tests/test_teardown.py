"""Destroy-time teardown chains (`python -m edge_constructs.ssh.teardown`): through a bastion,
an unreachable leaving host reported with the manual commands rendered from the same step
(its Node left cordoned, not deleted), and an unreachable master 0 failing the run."""
from __future__ import annotations

import subprocess
import sys

import pytest

from edge_constructs.core.props import ClusterSpec, Host, InstallPackage
from edge_constructs.ssh.teardown import encode
from edge_constructs.steps import chains
from edge_constructs.steps.context import EDGE, MASTER0, Context
from edge_constructs.steps.step import full_script

pytestmark = pytest.mark.site


def teardown(placed) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge_constructs.ssh.teardown"],
                          env={"EDGE_TEARDOWN": encode(placed), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def as_host(h, **kw) -> Host:
    return Host(h.address, port=h.port, user=h.user, private_key_file=h.private_key_file,
                host_key=h.host_public_key, name=h.name, **kw)


def context(master: Host, host: Host, role: str) -> Context:
    spec = ClusterSpec(name="t", masters=(master,),
                       install_package=InstallPackage(path="/p.tgz", sha256="a" * 64))
    return Context(spec=spec, host=host, role=role, creds=None)


def test_a_master_behind_a_bastion_is_reset_through_it(site_factory):
    site = site_factory(2)
    master, bastion = site.hosts
    site.ssh(master, "mkdir -p /etc/kubernetes/pki && touch /etc/kubernetes/admin.conf")
    m = as_host(master, bastion=as_host(bastion))
    run = teardown(chains.render(chains.MASTER_TEARDOWN, context(m, m, MASTER0)))
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"[{master.name}] ResetMaster: the host no longer belongs to the cluster" in run.stdout
    rc, out, _ = site.ssh(master, "test -e /etc/kubernetes; echo $?")
    assert out.strip() == "1"


def test_an_unreachable_node_is_reported_and_its_node_not_deleted(site_factory):
    site = site_factory(2)
    master, node = as_host(site.hosts[0]), as_host(site.hosts[1])
    site.stop_sshd(site.hosts[1])
    placed = chains.render(chains.NODE_TEARDOWN, context(master, node, EDGE))
    run = teardown(placed)
    assert run.returncode == 0, run.stdout + run.stderr
    # drained from master 0 (nothing to drain: no such Node here), then the reset fails
    assert f"[{master.name}] DrainNode: node {node.name} is not in the cluster" in run.stdout
    assert f"[{node.name}] ResetNode: WARNING:" in run.stdout
    assert f"{node.address}:22" in run.stdout          # the runner's own words on what failed
    # the manual reset is the very step the runner would have run
    reset = next(p for p in placed if p.step.name == "ResetNode")
    assert (f"run ResetNode on {node.name} by hand:\nssh root@{node.address} sh -s "
            f"<<'EDGE_TEARDOWN_EOF'\n{full_script(reset.step, node.name)}EDGE_TEARDOWN_EOF"
            in run.stdout)
    # the Node is left cordoned: the delete is skipped and says why
    assert f"[{master.name}] DeleteNode: skipped: the host did not reset" in run.stdout
    assert "DeleteNode: done" not in run.stdout


def test_an_unreachable_master0_fails_the_removal(site_factory):
    site = site_factory(2)
    master, node = as_host(site.hosts[0]), as_host(site.hosts[1])
    site.stop_sshd(site.hosts[0])
    run = teardown(chains.render(chains.NODE_TEARDOWN, context(master, node, EDGE)))
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"[{master.name}] DrainNode: ERROR:" in run.stdout
    assert "stays in Terraform's state" in run.stdout
    # nothing ran on the node
    rc, out, _ = site.ssh(site.hosts[1], f"ls /var/lib/edge_constructs/steps 2>&1; echo rc=$?")
    assert "ResetNode" not in out


def test_a_call_without_a_chain_says_how_to_call_it():
    run = subprocess.run([sys.executable, "-m", "edge_constructs.ssh.teardown"],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 2 and "EDGE_TEARDOWN=" in run.stderr
