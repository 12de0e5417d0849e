"""tests/plan.py judges a plan by `terraform show -json`: the changes a plan's text states in
words a regex did not expect (a tainted instance, a replace requested, a deposed object) are
changes all the same. A tiny real stack of built-in `terraform_data` resources, no provider."""
from __future__ import annotations

import json
import re

import pytest

from simsite import tf
from tests.plan import assert_no_change, changed, changed_outputs, plan, reasons

# What the tests judged plans with before (simsite/tf.py): the text of each resource's header.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_OLD = re.compile(r"# (\S+) (?:will be (created|destroyed|updated in-place)|must be (replaced))")


def old_regex_changes(output: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2) or m.group(3)) for m in _OLD.finditer(_ANSI.sub("", output))]


def write(d, resources: dict, outputs: dict | None = None) -> None:
    doc = {"resource": {"terraform_data": resources},
           "output": {"v": {"value": "${terraform_data.a.output}"}} if outputs is None else outputs}
    (d / "main.tf.json").write_text(json.dumps({k: v for k, v in doc.items() if v}))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    d = tmp_path_factory.mktemp("judged")
    write(d, {"a": {"input": "one"}, "b": {"input": "two"}})
    tf.terraform(["init", "-input=false", "-no-color"], d).check()
    tf.terraform(["apply", "-auto-approve", "-input=false", "-no-color"], d).check()
    return d


def test_an_applied_stack_plans_no_change(stack):
    p = plan(stack)
    assert p.returncode == 0 and changed(p) == [] and changed_outputs(p) == []
    assert_no_change(p)


def test_a_tainted_resource_is_a_change_the_old_regex_missed(stack):
    tf.terraform(["taint", "-no-color", "terraform_data.b"], stack).check()
    try:
        p = plan(stack)
        assert "terraform_data.b is tainted, so must be replaced" in p.output
        assert old_regex_changes(p.output) == []             # what the tests used to see
        assert changed(p) == [("terraform_data.b", "replace")]
        assert reasons(p) == {"terraform_data.b": "replace_because_tainted"}
        with pytest.raises(AssertionError, match=r"the plan changes \[\('terraform_data.b', 'replace'\)\]"):
            assert_no_change(p)
    finally:
        tf.terraform(["untaint", "-no-color", "terraform_data.b"], stack).check()


def test_a_replace_requested_is_a_change_the_old_regex_missed(stack):
    p = plan(stack, "-replace=terraform_data.a")
    assert "will be replaced, as requested" in p.output and old_regex_changes(p.output) == []
    assert changed(p) == [("terraform_data.a", "replace")]
    assert changed_outputs(p) == ["v"]  # its output is known only after apply


def test_a_deposed_object_is_a_change_the_old_regex_missed(tmp_path):
    # a create_before_destroy replacement whose destroy of the old object failed leaves it
    # in state as a deposed object, which the next plan destroys; made here in the state
    # directly (Terraform runs no destroy-time provisioner for a deposed object)
    write(tmp_path, {"a": {"input": "one"}})
    tf.terraform(["init", "-input=false", "-no-color"], tmp_path).check()
    tf.terraform(["apply", "-auto-approve", "-input=false", "-no-color"], tmp_path).check()
    state = json.loads((tmp_path / "terraform.tfstate").read_text())
    (res,) = state["resources"]
    res["instances"].append({**res["instances"][0], "deposed": "0badc0de"})
    state["serial"] += 1
    (tmp_path / "deposed.tfstate").write_text(json.dumps(state))
    tf.terraform(["state", "push", "deposed.tfstate"], tmp_path).check()
    p = plan(tmp_path)
    assert "# terraform_data.a (deposed object 0badc0de) will be destroyed" in p.output, p.output
    assert old_regex_changes(p.output) == []
    assert changed(p) == [("terraform_data.a (deposed 0badc0de)", "delete")]


def test_a_plan_that_fails_keeps_its_output_and_judges_nothing(tmp_path):
    write(tmp_path, {"a": {"input": "${nope}"}})
    tf.terraform(["init", "-input=false", "-no-color"], tmp_path).check()
    p = plan(tmp_path)
    assert p.returncode == 1 and p.doc is None and "nope" in p.output
    with pytest.raises(AssertionError, match="no plan was made"):
        changed(p)
    assert not list(tmp_path.glob("*.tfplan"))  # the plan file (it holds secrets) is gone
