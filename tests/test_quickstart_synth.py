"""`npx cdktf synth` of the quickstart on a fresh clone: no inventory written, no site."""
from __future__ import annotations

import json
import re

from edge_constructs.terraform.binary import embedded_terraform
from simsite import tf


def test_cdktf_synth_of_the_quickstart_works_with_no_inventory(tmp_path):
    # given a workspace with no inventory.json (EDGE_WORKDIR) and no EDGE_INVENTORY
    env = {"EDGE_WORKDIR": str(tmp_path), "EDGE_INVENTORY": ""}
    out = tmp_path / "cdktf.out"
    with tf.umask(0o022):  # a machine's usual: the state file's 0600 is private_local_backend's
        run = tf.cdktf(["synth", "--output", str(out)], extra_env=env)
    # then it synthesizes from inventory.example.json and says so on stderr
    assert run.returncode == 0, run.output
    assert "synthesizing from" in run.output and "inventory.example.json" in run.output
    stack = out / "stacks" / "quickstart"
    doc = json.loads((stack / "cdk.tf.json").read_text())
    (identity,) = doc["resource"]["edge_cluster_identity"].values()
    assert identity["endpoint"] == "192.0.2.10:6443"          # RFC 5737 documentation address
    assert (stack / ".terraform.lock.hcl").is_file()
    assert (tmp_path / "terraform.quickstart.tfstate").stat().st_mode & 0o777 == 0o600
    # and Terraform can init and validate it with the provider beside it, warning about nothing
    init = tf.terraform(["init", "-input=false", "-no-color"], stack).check()
    assert "Installed edge-constructs.local/edge-constructs/edge" in init.output
    valid = tf.terraform(["validate", "-no-color"], stack).check()
    for text in (init.output, valid.output):
        assert not re.search(r"warning", text, re.I), text
    # a saved plan holds the identity's values: edge-terraform (the Terraform this package
    # ships) writes it 0600 under any umask (a terraform of the user's own: the guide's umask 077)
    with tf.umask(0o022):
        tf.run([embedded_terraform(), "plan", "-input=false", "-no-color", "-out=tfplan"], stack,
               {"TF_VAR_ssh_password_EDGE_SSH_PASSWORD": "example-only"}).check()
    assert (stack / "tfplan").stat().st_mode & 0o777 == 0o600


def test_a_named_inventory_that_is_missing_is_an_error(tmp_path):
    env = {"EDGE_WORKDIR": str(tmp_path), "EDGE_INVENTORY": str(tmp_path / "nope.json")}
    run = tf.cdktf(["synth", "--output", str(tmp_path / "cdktf.out")], extra_env=env)
    assert run.returncode != 0
    assert f"EDGE_INVENTORY={tmp_path / 'nope.json'}: no such file" in run.output
