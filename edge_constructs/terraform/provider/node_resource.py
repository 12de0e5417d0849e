"""`edge_node`: one edge node's membership of the cluster, kept in Terraform state.

create  runs the node bundle on the host over one SSH connection (host preparation, package,
        `edgeadm join`; a ledger on the host lets a failed run resume), waits until the Node
        is Ready, then sets its labels, taints and node unit by the API;
read    reports the Node's presence, Ready condition, kubelet version, and the labels and
        taints this resource manages: a Node that is gone plans a re-join, a managed label or
        taint changed by hand plans its repair, a NotReady node is a warning in the plan;
update  changes labels, taints and node unit by the API; a changed bundle runs again (the
        ledger skips the steps that did not change); a changed address or port is only
        recorded (the host is the same machine: no reset, no re-join);
delete  cordons, drains with the eviction API, resets the host over SSH with the package's
        runner, then deletes the Node. It runs whenever the instance leaves the configuration
        (a host dropped, a whole pool removed, destroy) and needs nothing but state.
"""
from __future__ import annotations

import json
import time
from typing import Optional

from tf.iface import (CreateContext, DeleteContext, ImportContext, PlanContext, ReadContext,
                      Resource, UpdateContext, UpgradeContext)
from tf.schema import Attribute
from tf.types import Bool, List, Map, Number, String, Unknown
from tf.utils import Diagnostics

from provisioners.core.errors import KubeError, SSHError, StepFailed
from provisioners.ssh import node as node_ssh
from provisioners.core.props import split_taint
from provisioners.ssh.runner import RunnerSettings, run_step
from provisioners.core.props import Host
from provisioners.ssh.teardown import SETTINGS as RESET_SETTINGS, manual_advice
from provisioners.steps import resets
from provisioners.steps.chains import Placed
from provisioners.steps.node import NODE_UNIT_LABEL_VALUE
from provisioners.steps.step import On, Step
from edge_constructs.terraform.provider import kube
from edge_constructs.terraform.provider.common import Meta, Named, add_error
from edge_constructs.terraform.provider.log import node_log

#: The join may take long on a slow link (package download); steps have their own timeouts.
JOIN_SETTINGS = RunnerSettings(command_timeout=3600.0)
NODE_UNIT_API = "/apis/site.superedge.io/v1alpha2/nodeunits"
#: What to do when a drain times out, in the error.
_FORCE_HINT = ("Find what blocks it (a PodDisruptionBudget, a pod that does not stop), or set "
               "force_drain=True on the pool to go on with the removal regardless.")


def parse_taint(text: str) -> dict:
    """"key=value:Effect" or "key:Effect" as a Node taint (validated at synth)."""
    key, value, effect = split_taint(text)
    return {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}


def taint_text(t: dict) -> str:
    v = t.get("value")
    return f"{t['key']}={v}:{t['effect']}" if v else f"{t['key']}:{t['effect']}"


class EdgeNode(Named, Resource):
    META = Meta("node", 1, "One edge node of a SuperEdge cluster: joined, labelled, tainted, in "
                "its node unit", id="the node name")

    @classmethod
    def attributes(cls) -> list[Attribute]:
        return [
            Attribute("name", String(), required=True, requires_replace=True,
                      description="the Node's name (the host's name)"),
            Attribute("host", String(), required=True,
                      description="how to reach the host: JSON of address, port, user, key "
                                  "path, password variable name, host key, bastion"),
            Attribute("kubeconfig", String(), required=True, sensitive=True,
                      description="admin kubeconfig of the cluster (from its identity)"),
            Attribute("bundle", String(), required=True, sensitive=True,
                      description="the node bundle script (holds the bootstrap token)"),
            Attribute("package", String(), optional=True,
                      description="JSON {local_path, remote_path, sha256} of a package by path"),
            Attribute("reset", String(), required=True,
                      description="the ResetNode step run when the node leaves: "
                                  "\"ResetNode sha256:<digest>\" (rendered by the provider) or a script"),
            Attribute("labels", Map(String()), optional=True, description="labels set on the Node"),
            Attribute("taints", List(String()), optional=True,
                      description='taints set on the Node ("key=value:Effect")'),
            Attribute("node_unit", String(), optional=True,
                      description="SuperEdge NodeUnit the node belongs to"),
            Attribute("ready_timeout", Number(), optional=True, computed=True, default=300,
                      description="seconds create waits for the Node to be Ready"),
            Attribute("drain_timeout", Number(), optional=True, computed=True, default=120,
                      description="seconds delete waits for the pods to be evicted"),
            Attribute("force_drain", Bool(), optional=True, computed=True, default=False,
                      description="go on with the removal when the drain times out"),
            Attribute("present", Bool(), computed=True, description="the Node exists"),
            Attribute("ready", Bool(), computed=True, description="the Node's Ready condition"),
            Attribute("kubelet_version", String(), computed=True,
                      description="kubelet version the Node reports"),
        ]

    # --- plan ---------------------------------------------------------------------------

    def plan(self, ctx: PlanContext, current: Optional[dict], planned: dict) -> Optional[dict]:
        if current is None:
            for k in ("present", "ready", "kubelet_version"):
                planned[k] = Unknown
            return planned
        if current.get("present") and current.get("ready") is False:
            ctx.diagnostics.add_warning(
                f"edge node {current['name']} is NotReady",
                f"The API server reports the Node {current['name']} NotReady (seen at refresh). "
                "Check the host and its kubelet; the node keeps its place in the cluster.")
        return planned

    # --- create / update ----------------------------------------------------------------

    def create(self, ctx: CreateContext, planned: dict) -> Optional[dict]:
        state = dict(planned, id=planned["name"])
        if not self._join(ctx.diagnostics, state):
            return None
        return self._converge(ctx.diagnostics, state, None)

    def update(self, ctx: UpdateContext, current: dict, planned: dict) -> Optional[dict]:
        state = dict(planned, id=planned["name"])
        if planned["bundle"] != current.get("bundle") and not self._join(ctx.diagnostics, state):
            return None
        return self._converge(ctx.diagnostics, state, current)

    def _join(self, diags: Diagnostics, state: dict) -> bool:
        """Run the node bundle; False (with an error) when it fails. A failed create leaves
        nothing in state, so the next apply runs the bundle again and its ledger resumes."""
        name = state["name"]
        host = Host.from_dict(json.loads(state["host"]), f"edge node {name}: host")
        pkg = json.loads(state["package"]) if state.get("package") else None
        with node_log(name) as log:
            try:
                node_ssh.run_bundle(host, name, state["bundle"], log=log.line,
                                    package=node_ssh.Package(**pkg) if pkg else None,
                                    settings=JOIN_SETTINGS)
            except (StepFailed, SSHError) as e:
                add_error(diags, f"edge node {name}: the join failed", f"{e}\n\nThe whole run is in "
                     f"{log.path}. Fix the cause and apply again: the steps that finished are "
                     "skipped (the ledger on the host).")
                return False
        return True

    def _converge(self, diags: Diagnostics, state: dict, current: Optional[dict]) -> Optional[dict]:
        """Wait for the Node to be Ready, then set what this resource manages on it."""
        name = state["name"]
        try:
            with kube.Kube(state["kubeconfig"]) as api:
                node = self._wait_ready(api, name, float(state["ready_timeout"]))
                if node is None or not kube.is_ready(node):
                    conds = kube.describe_conditions(node) if node else "  (no Node object)"
                    add_error(diags, f"edge node {name} did not become Ready",
                         f"Waited {state['ready_timeout']:g}s for Node {name} to be Ready "
                         f"on {api.server}; its conditions:\n{conds}\nThe next apply checks "
                         "again without joining again (the ledger on the host).")
                    return None if current is None else current
                if state.get("node_unit"):
                    api.ensure(NODE_UNIT_API, _node_unit(state["node_unit"]))
                node = api.patch_node(name, {"metadata": {"labels": _label_patch(state, current)}})
                node = self._set_taints(api, node, state, current)
        except KubeError as e:
            add_error(diags, f"edge node {name}: the Kubernetes API refused a call", str(e))
            return None if current is None else current
        return _observed(state, node)

    @staticmethod
    def _wait_ready(api: kube.Kube, name: str, timeout: float) -> Optional[dict]:
        deadline = time.monotonic() + timeout
        node = api.node(name)
        while not (node and kube.is_ready(node)) and time.monotonic() < deadline:
            time.sleep(2)
            node = api.node(name)
        return node

    @staticmethod
    def _set_taints(api: kube.Kube, node: dict, state: dict, current: Optional[dict]) -> dict:
        """The Node's taints: theirs (the node controller's, anybody's) kept, ours as
        planned; one merge patch guarded by resourceVersion, retried on a conflict."""
        ours_before = {_taint_id(parse_taint(t)) for t in (current or {}).get("taints") or []}
        want = [parse_taint(t) for t in state.get("taints") or []]
        mine = ours_before | {_taint_id(t) for t in want}
        for _ in range(5):
            theirs = [t for t in (node.get("spec") or {}).get("taints") or []
                      if _taint_id(t) not in mine]
            taints = theirs + want
            if taints == ((node.get("spec") or {}).get("taints") or []):
                return node
            try:
                return api.patch_node(state["name"], {
                    "metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                    "spec": {"taints": taints or None}})
            except KubeError as e:
                if e.status != 409:
                    raise
                node = api.node(state["name"]) or node
        raise KubeError(f"node {state['name']}: taints kept changing under us (5 conflicts)")

    # --- read ---------------------------------------------------------------------------

    def read(self, ctx: ReadContext, current: dict) -> Optional[dict]:
        try:
            with kube.Kube(current["kubeconfig"]) as api:
                node = api.node(current["name"])
        except KubeError as e:
            ctx.diagnostics.add_warning(f"edge node {current['name']}: cannot read the Node",
                                        f"{e}\nThe state is kept as it was.")
            return current
        if node is None:
            return None          # gone (reset by hand, deleted): the plan joins it again
        return _observed(current, node, managed_only=True)

    # --- delete -------------------------------------------------------------------------

    def delete(self, ctx: DeleteContext, current: dict):
        name, diags = current["name"], ctx.diagnostics
        try:
            with kube.Kube(current["kubeconfig"]) as api, node_log(name) as log:
                if api.node(name) is not None:
                    api.patch_node(name, {"spec": {"unschedulable": True}})
                    log.line(f"[{name}] cordoned")
                    blocked = _drain(api, name, float(current["drain_timeout"]), log.line)
                    if blocked and not current.get("force_drain"):
                        add_error(diags, f"edge node {name}: the drain timed out",
                             f"After {current['drain_timeout']:g}s these pods are still on "
                             f"{name}:\n{blocked}\nThe node stays cordoned and in state. "
                             + _FORCE_HINT)
                        return
                    if blocked:
                        log.line(f"[{name}] drain timed out; force_drain: going on ({blocked})")
                if not self._reset(diags, current, log):
                    return
                api.delete_node(name)
                log.line(f"[{name}] Node deleted")
        except KubeError as e:
            add_error(diags, f"edge node {name}: the removal could not reach the cluster",
                 f"{e}\nThe node stays in state: apply or destroy again once the API server "
                 "answers.")

    @staticmethod
    def _reset(diags: Diagnostics, current: dict, log) -> bool:
        """Reset the host; an unreachable or failing host is a warning with the manual reset,
        and its Node stays (cordoned), since its kubelet may still run."""
        name = current["name"]
        host = Host.from_dict(json.loads(current["host"]), f"edge node {name}: host")
        step = resets.resolve("ResetNode", current["reset"])
        try:
            run_step(host, step, RESET_SETTINGS, log.line)
            return True
        except (SSHError, StepFailed) as e:
            diags.add_warning(
                f"edge node {name}: the host was not reset; its Node stays cordoned",
                f"{str(e).splitlines()[0]}\n\n{manual_advice(Placed(host, step))}\n\n"
                f"then delete the Node: kubectl delete node {name}")
            return False

    # --- import / upgrade ---------------------------------------------------------------

    def import_(self, ctx: ImportContext, id: str) -> Optional[dict]:
        add_error(ctx.diagnostics, "edge_node cannot be imported",
                  "Declare the host in an EdgeNodePool and apply: the bundle "
                  "finds the node joined and changes nothing.")
        return None

    def upgrade(self, ctx: UpgradeContext, version: int, old: dict) -> Optional[dict]:
        return old


def _taint_id(t: dict) -> tuple:
    return t.get("key"), t.get("effect")


def _node_unit(unit: str) -> dict:
    return {"apiVersion": "site.superedge.io/v1alpha2", "kind": "NodeUnit",
            "metadata": {"name": unit},
            "spec": {"type": "edge", "selector": {"matchLabels": {unit: NODE_UNIT_LABEL_VALUE}}}}


def _wanted_labels(state: dict) -> dict:
    labels = dict(state.get("labels") or {})
    if state.get("node_unit"):
        labels[state["node_unit"]] = NODE_UNIT_LABEL_VALUE
    return labels


def _label_patch(state: dict, current: Optional[dict]) -> dict:
    """Ours as planned; the ones an earlier apply set and the plan dropped: removed (null)."""
    want = _wanted_labels(state)
    patch: dict = {k: None for k in _wanted_labels(current or {}) if k not in want}
    patch.update(want)
    return patch


def _observed(state: dict, node: dict, managed_only: bool = False) -> dict:
    """State after a call: what the Node reports. Read keeps only the labels and taints this
    resource manages (as found), so a managed one changed by hand shows as a change."""
    out = dict(state)
    have = (node.get("metadata") or {}).get("labels") or {}
    if managed_only:
        if state.get("labels") is not None:
            out["labels"] = {k: have[k] for k in state["labels"] if k in have}
        unit = state.get("node_unit")
        if unit and have.get(unit) != NODE_UNIT_LABEL_VALUE:
            out["node_unit"] = None
        if state.get("taints") is not None:
            on_node = {_taint_id(t): t for t in (node.get("spec") or {}).get("taints") or []}
            out["taints"] = [taint_text(on_node[_taint_id(parse_taint(t))])
                             for t in state["taints"] if _taint_id(parse_taint(t)) in on_node]
    info = (node.get("status") or {}).get("nodeInfo") or {}
    out.update(present=True, ready=kube.is_ready(node),
               kubelet_version=info.get("kubeletVersion") or "")
    return out


def _drain(api: kube.Kube, name: str, timeout: float, log) -> str:
    """Evict every pod of the node but DaemonSet pods and mirror pods; wait until they are
    gone or `timeout` passed. Returns what still blocks ("" when drained)."""
    deadline = time.monotonic() + timeout
    while True:
        pods = [p for p in api.pods_on(name) if _evictable(p)]
        if not pods:
            log(f"[{name}] drained")
            return ""
        why = {}
        for p in pods:
            refused = api.evict(p)
            if refused:
                why[_pod_name(p)] = refused
        if time.monotonic() >= deadline:
            return "\n".join(f"  {n}: {why.get(n, 'still terminating')}"
                             for n in map(_pod_name, pods))
        time.sleep(2)


def _pod_name(p: dict) -> str:
    return f"{p['metadata'].get('namespace')}/{p['metadata']['name']}"


def _evictable(p: dict) -> bool:
    meta = p.get("metadata") or {}
    if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
        return False
    if any(o.get("kind") == "DaemonSet" for o in meta.get("ownerReferences") or []):
        return False
    return (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
