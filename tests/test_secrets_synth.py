"""Secrets at synth (issue 19): the admin credential's rotation prop, the private script path
of every remote-exec."""
from __future__ import annotations

import pytest

from tests.synth_fixtures import synth_env  # noqa: F401  (fixture)


@pytest.mark.parametrize("value", ["", " ", 7, True])
def test_a_wrong_admin_credential_rotation_is_refused_at_synth(synth_env, value):
    from provisioners.core.errors import ValidationError
    with pytest.raises(ValidationError) as e:
        synth_env.cluster(admin_credential_rotation=value)
    assert e.value.field == "admin_credential_rotation" and repr(value) in str(e.value)


def test_admin_credential_rotation_reaches_the_identity_resource(synth_env):
    s = synth_env.synth(admin_credential_rotation="2026-12")
    (identity,) = s.json["resource"]["edge_cluster_identity"].values()
    assert identity["admin_credential_rotation"] == "2026-12"


def test_every_remote_exec_runs_from_a_private_script_path(synth_env):
    """Terraform's default script path is /tmp/terraform_%RAND%.sh, made 0777 and run as root."""
    s = synth_env.synth()
    checked = 0
    for rtype, resources in s.json["resource"].items():
        for name, res in resources.items():
            provs = res.get("provisioner") or []
            if not any("remote-exec" in p for p in provs):
                continue
            path = res["connection"]["script_path"]
            assert path.startswith("./.edge-constructs-") and path.endswith(".sh"), (name, path)
            assert "/tmp" not in path and "%RAND%" not in path
            checked += 1
    assert checked > 10
    # One name per step: no two steps of a host share a script.
    paths = [r["connection"]["script_path"] for r in s.json["resource"]["terraform_data"].values()
             if "connection" in r]
    assert len(paths) == len(set(paths))
