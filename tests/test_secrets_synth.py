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
