"""Gaps closed at synth (issue 8): hosts whose names collide in Terraform, and password
variables whose environment names differ only in case."""
from __future__ import annotations

import json

import pytest

from simsite.synth import HOST_KEY
from tests.synth_fixtures import synth_env  # noqa: F401  (fixture)

from edge_constructs import HA, EdgeNodePool, Host
from provisioners.core.errors import ValidationError
from edge_constructs.terraform.cdk import TerraformStack, Testing as CdkTesting


def test_fails_when_two_pool_hosts_would_name_the_same_resources(synth_env):
    cluster = synth_env.cluster()
    hosts = [synth_env.host("198.51.100.20", name="cam.1"),
             synth_env.host("198.51.100.21", name="cam-1")]
    with pytest.raises(ValidationError) as e:
        EdgeNodePool(TerraformStack.of(cluster), "site-a", cluster=cluster, hosts=hosts)
    assert e.value.field == "hosts[1].name" and "hosts[0]" in str(e.value)


def test_password_variables_keep_the_case_of_their_environment_names(synth_env, monkeypatch):
    monkeypatch.setenv("PW", "upper")
    monkeypatch.setenv("pw", "lower")
    monkeypatch.chdir(synth_env.tmp_path)
    # (edge nodes are reached by the provider's runner, which reads $pw itself: no variable)
    cluster = synth_env.cluster(masters=[Host("203.0.113.10", password_env="PW", host_key=HOST_KEY),
                                         Host("203.0.113.11", password_env="pw", host_key=HOST_KEY),
                                         Host("203.0.113.12", password_env="PW", host_key=HOST_KEY)],
                                ha=HA(endpoint="203.0.113.9:6443"))
    doc = json.loads(CdkTesting.synth(TerraformStack.of(cluster)))
    assert {"ssh_password_PW", "ssh_password_pw"} <= set(doc["variable"])
    assert all(v["sensitive"] is True for v in doc["variable"].values())
