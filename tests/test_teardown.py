"""Destroy-time resets (`python -m edge_constructs.ssh.teardown`): through a bastion, and an
unreachable host reported with what to do by hand, never a failure or a hang."""
from __future__ import annotations

import subprocess
import sys

import pytest

from edge_constructs.core.props import Host
from edge_constructs.ssh.teardown import host_json

pytestmark = pytest.mark.site


def teardown(kind: str, host: Host) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge_constructs.ssh.teardown", kind],
                          env={"EDGE_HOST": host_json(host), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def as_host(h, **kw) -> Host:
    return Host(h.address, port=h.port, user=h.user, private_key_file=h.private_key_file,
                host_key=h.host_public_key, name=h.name, **kw)


def test_a_master_behind_a_bastion_is_reset_through_it(site_factory):
    site = site_factory(2)
    master, bastion = site.hosts
    site.ssh(master, "mkdir -p /etc/kubernetes/pki && touch /etc/kubernetes/admin.conf")
    run = teardown("reset-master", as_host(master, bastion=as_host(bastion)))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ResetMaster: the host no longer belongs to the cluster" in run.stdout
    rc, out, _ = site.ssh(master, "ls /etc/kubernetes 2>&1")
    assert "No such file" in out


def test_an_unreachable_node_is_reported_with_the_manual_reset(site_factory):
    site = site_factory(1)
    node = site.hosts[0]
    site.stop_sshd(node)
    run = teardown("reset-node", as_host(node))
    assert run.returncode == 0
    assert f"reset {node.name} by hand: ssh root@{node.address}" in run.stdout
    assert f"{node.address}:22" in run.stdout   # the runner's own words on what failed


def test_a_wrong_kind_says_how_to_call_it():
    run = subprocess.run([sys.executable, "-m", "edge_constructs.ssh.teardown", "reset-everything"],
                         capture_output=True, text=True, env={"EDGE_HOST": "{}"})
    assert run.returncode == 2 and "reset-master|reset-node" in run.stderr
