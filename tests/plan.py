"""A Terraform plan judged by what Terraform says it will do, not by its human text.

`plan(stack_dir)` runs `terraform plan -out` (exit codes as `-detailed-exitcode`), then
`terraform show -json` of the saved plan, and keeps both. The judgement reads the JSON's
`resource_changes` and `output_changes` (Terraform's "JSON Output Format"): text matching
misses "is tainted, so must be replaced", "will be replaced, as requested" and "(deposed
object ...) will be destroyed", which are all changes.
"""
from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from edge_constructs.terraform.binary import find_terraform
from simsite import tf

#: What one resource instance's change is called here, by its JSON `actions`.
_ACTIONS = {("no-op",): "no-op", ("read",): "read", ("create",): "create",
            ("update",): "update", ("delete",): "delete", ("forget",): "forget",
            ("delete", "create"): "replace", ("create", "delete"): "replace"}
#: Actions that change nothing (a data source read during apply is no change).
_UNCHANGED = {"no-op", "read"}
_serial = itertools.count()


@dataclass
class Plan:
    """One plan: the `terraform plan` run (its output and exit code: 0 no change, 2 changes,
    1 error) and, when it planned, the saved plan as `terraform show -json` prints it."""
    run: tf.Run
    doc: Optional[dict] = field(default=None, repr=False)

    @property
    def returncode(self) -> int:
        return self.run.returncode

    @property
    def output(self) -> str:
        return self.run.output

    @property
    def resource_changes(self) -> list[dict]:
        assert self.doc is not None, f"no plan was made:\n{self.output[-3000:]}"
        return self.doc.get("resource_changes", [])

    def check(self) -> "Plan":
        assert self.returncode in (0, 2) and self.doc is not None, self.output[-3000:]
        return self


def _address(rc: dict) -> str:
    return rc["address"] + (f" (deposed {rc['deposed']})" if rc.get("deposed") else "")


def _action(actions: list[str]) -> str:
    return _ACTIONS.get(tuple(actions), "+".join(actions))


def changed(p: Plan) -> list[tuple[str, str]]:
    """(address, action) of every resource instance the plan changes, in the plan's order;
    action is create, update, replace, delete or forget. A deposed object's address ends
    with "(deposed KEY)"."""
    return [(_address(rc), _action(rc["change"]["actions"])) for rc in p.resource_changes
            if _action(rc["change"]["actions"]) not in _UNCHANGED]


def reasons(p: Plan) -> dict[str, str]:
    """address -> Terraform's `action_reason` (e.g. replace_because_tainted) where it gives one."""
    return {_address(rc): rc["action_reason"] for rc in p.resource_changes if rc.get("action_reason")}


def changed_attributes(p: Plan, address: str) -> list[str]:
    """The top-level attributes of `address` whose value the plan changes (a new value, or
    one known only after apply)."""
    (rc,) = [rc for rc in p.resource_changes if rc["address"] == address and not rc.get("deposed")]
    ch = rc["change"]
    before, after, unknown = ch.get("before") or {}, ch.get("after") or {}, ch.get("after_unknown") or {}
    return sorted(k for k in set(before) | set(after) | set(unknown)
                  if _unknown(unknown.get(k)) or before.get(k) != after.get(k))


def _unknown(mark) -> bool:
    """`after_unknown` marks: true, or a map/list holding a true somewhere."""
    if isinstance(mark, dict):
        return any(_unknown(v) for v in mark.values())
    if isinstance(mark, list):
        return any(_unknown(v) for v in mark)
    return mark is True


def changed_outputs(p: Plan) -> list[str]:
    """The names of the outputs whose value the plan changes."""
    assert p.doc is not None, p.output[-3000:]
    return sorted(name for name, ch in p.doc.get("output_changes", {}).items()
                  if ch["actions"] != ["no-op"])


def assert_no_change(p: Plan, outputs: tuple[str, ...] = ()) -> None:
    """No resource instance changes; only the outputs named in `outputs` may change (the
    status output reads the cluster, so it may differ between two plans)."""
    p.check()
    assert not changed(p), f"the plan changes {changed(p)}:\n{p.output[-3000:]}"
    extra = [o for o in changed_outputs(p) if o not in outputs]
    assert not extra, f"the plan changes outputs {extra}:\n{p.output[-3000:]}"


def plan(stack_dir: Path, *args: str, terraform: Optional[str] = None,
         extra_env: Optional[dict] = None) -> Plan:
    """`terraform plan -input=false -detailed-exitcode -out=...` in `stack_dir` with `args`,
    then `terraform show -json` of that plan (the plan file, which holds the stack's
    secrets, is removed at once)."""
    binary = terraform or find_terraform()
    out = Path(stack_dir) / f".judged-{os.getpid()}-{next(_serial)}.tfplan"
    try:
        run = tf.run([binary, "plan", "-input=false", "-no-color", "-detailed-exitcode",
                      f"-out={out.name}", *args], Path(stack_dir), extra_env)
        if run.returncode not in (0, 2):
            return Plan(run)
        show = tf.run([binary, "show", "-json", out.name], Path(stack_dir), extra_env).check()
        text = show.output
        return Plan(run, json.JSONDecoder().raw_decode(text, text.index("{"))[0])
    finally:
        out.unlink(missing_ok=True)
