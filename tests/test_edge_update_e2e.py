"""Issue 17 end to end (real cdktf and Terraform, real SSH, the simulated site): a cluster
deployed with SuperEdge v0.8.1, then `superedge.version` v0.9.0: the plan replaces only
EnsureEdgeComponentsVersion (and the CheckSSH before it), showing each workload's old and
new image; the apply rolls them; the next plan is empty."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from simsite import tf
from tests import plan as judged
from tests.test_cluster_e2e import APP, KUBECTL, package, write_spec  # noqa: F401 (fixture)

pytestmark = pytest.mark.site
REPO = "superedge.tencentcloudcr.com/superedge"


def images(site) -> dict:
    out = {}
    for kind in ("deployments", "daemonsets"):
        rc, text, err = site.ssh(site.hosts[0], f"{KUBECTL} get -n edge-system {kind} -o json")
        assert rc == 0, err
        for w in json.loads(text)["items"]:
            out[w["metadata"]["name"]] = w["spec"]["template"]["spec"]["containers"][0]["image"]
    return out


def test_a_version_change_updates_the_edge_components_in_place(package, site_factory, tmp_path):
    pkg, sha, tools = package
    site = site_factory(1, host_tools=tools)
    spec_path = write_spec(tmp_path, site, pkg, sha)
    spec = json.loads(spec_path.read_text())
    spec["superedge"] = {"version": "v0.8.1"}
    spec_path.write_text(json.dumps(spec))
    stack = tf.synth(APP, tmp_path / "out", {"EDGE_TEST_SPEC": str(spec_path)})
    tf.terraform(["init", "-input=false"], stack).check()
    first = tf.terraform(["apply", "-auto-approve", "-input=false"], stack).check()
    assert "EnsureEdgeComponentsVersion: done" in first.output
    before = images(site)
    assert before["tunnel-cloud"] == f"{REPO}/tunnel:v0.8.1" and before["edge-coredns"] == f"{REPO}/coredns:1.6.9"

    spec["superedge"] = {"version": "v0.9.0"}
    spec_path.write_text(json.dumps(spec))
    stack = tf.synth(APP, tmp_path / "out", {"EDGE_TEST_SPEC": str(spec_path)})
    plan = judged.plan(stack)
    print(plan.output)
    assert {action for _, action in judged.changed(plan)} == {"replace"}, judged.changed(plan)
    replaced = [a for a, _ in judged.changed(plan)]
    steps = [a for a in replaced if "CheckSSH" not in a]
    assert len(steps) == 1 and "EnsureEdgeComponentsVersion" in steps[0], judged.changed(plan)
    assert all("CheckSSH" in a for a in replaced if a not in steps), replaced
    assert f'"{REPO}/tunnel:v0.8.1" -> "{REPO}/tunnel:v0.9.0"' in plan.output, plan.output
    assert "EnsureEdgeComponentsVersion_" in plan.output and "must be replaced" in plan.output
    assert "Plan: 2 to add, 0 to change, 2 to destroy." in plan.output

    applied = tf.terraform(["apply", "-auto-approve", "-input=false"], stack).check()
    print(applied.output)
    after = images(site)
    assert after == {k: v.replace(":v0.8.1", ":v0.9.0") for k, v in before.items()}
    judged.assert_no_change(judged.plan(stack), outputs=("edge_edge_components",))
