"""`edge_node`: one edge node's membership of the cluster, kept in Terraform state.

create  runs the node bundle on the host over one SSH connection (host preparation, package,
        `edgeadm join`; a ledger on the host lets a failed run resume), waits until the Node
        is Ready, then sets its labels, taints and node unit by the API; a host found joined
        as this node whose Node is gone has its kubelet restarted (it registers once per
        start); a host joined as another Node waits for that Node's removal (a rename);
read    reports the Node's presence, Ready condition, kubelet version, and the labels and
        taints this resource manages: a Node that is gone plans a re-join, a managed label or
        taint changed by hand plans its repair, a NotReady node is a warning in the plan and
        its host is looked at: not joined any more plans a re-join (`joined` false -> true);
update  changes labels, taints and node unit by the API; a changed bundle fingerprint
        (`bundle_sha256`: the node's steps, not the token), or a host that is not joined,
        runs the bundle (the ledger skips the steps that did not change); a changed address
        or port is only recorded (the same machine: no reset, no re-join);
delete  checks the cluster is the node's (`cluster_uid`), cordons, drains with the eviction
        API, resets the host over SSH with the package's runner (unless it joined under
        another name since), then deletes the Node. It runs whenever the instance leaves the
        configuration (a host dropped, a whole pool removed, destroy) and needs its state and
        its cluster's provider block.

What every node of a cluster shares (the admin kubeconfig, the bundle with the join token)
is not in a node's state: it comes from the provider block of the node's cluster
(`provider.ClusterAccess`), so a node's state is its own attributes only (about 1 KB, plus
Terraform's list of what it depends on) and a rotated token changes no joined node.
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
from provisioners.core.hostkeys import parse_key_line
from provisioners.ssh.check import check_host
from provisioners.core.props import split_taint
from provisioners.ssh.runner import RunnerSettings, run_step
from provisioners.core.props import Host
from provisioners.ssh.teardown import SETTINGS as RESET_SETTINGS, manual_advice
from provisioners.steps import resets
from provisioners.steps.chains import Placed
from provisioners.steps.node import NODE_UNIT_LABEL_VALUE
from edge_constructs.terraform.provider import kube, node_host
from edge_constructs.terraform.provider.common import Meta, Named, add_error, check_rules
from edge_constructs.validation import validate_node_resource
from edge_constructs.terraform.provider.log import node_log

#: The join may take long on a slow link (package download); steps have their own timeouts.
JOIN_SETTINGS = RunnerSettings(command_timeout=3600.0)
NODE_UNIT_API = "/apis/site.superedge.io/v1alpha2/nodeunits"
#: The attributes of a node that differ from node to node of a block (validate checks the
#: others once per process: `_SHARED_OK`).
_OWN = ("name", "host")
_SHARED_OK: set[str] = set()
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
    META = Meta("node", 3, "One edge node of a SuperEdge cluster: joined, labelled, tainted, in "
                "its node unit", id="the node name")

    @classmethod
    def attributes(cls) -> list[Attribute]:
        return [
            Attribute("name", String(), required=True, requires_replace=True,
                      description="the Node's name (the host's name)"),
            Attribute("host", String(), required=True,
                      description="how to reach the host: JSON of address, port, user, key "
                                  "path, password variable name, host key, bastion"),
            Attribute("bundle_sha256", String(), required=True,
                      description="fingerprint of the node bundle without its token: a "
                                  "change runs the bundle (from the provider block) again"),
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
            Attribute("joined", Bool(), computed=True,
                      description="the host holds its kubelet configuration (looked at over "
                                  "SSH when the Node is NotReady); false plans a re-join"),
            Attribute("cluster_uid", String(), computed=True,
                      description="UID of the kube-system namespace of the cluster the node "
                                  "joined: drain and delete act only on that cluster"),
        ]

    # --- the cluster: from the provider block (provider.ClusterAccess) --------------------

    def _access(self):
        access = getattr(self.provider, "access", None)
        if access is None:
            raise KubeError("edge_node needs the provider block of its cluster (cluster, "
                            "kubeconfig, node_bundle): EdgeNodePool declares it; a "
                            "configuration written by hand sets `provider = edge.<alias>`")
        return access

    def _kubeconfig(self) -> str:
        return self._access().require("kubeconfig")

    @staticmethod
    def plan_refusal(provider) -> Optional[tuple[str, str]]:
        """Asked at every plan (server.py): an edge_node under a provider block that names
        no cluster is refused before anything runs."""
        if getattr(provider, "access", None) is None:
            return ("edge_node: its provider block names no cluster",
                    "edge_node needs the provider block of its cluster (cluster, kubeconfig, "
                    "node_bundle): EdgeCluster and EdgeSiteStack declare it; a configuration "
                    "written by hand sets `provider = edge.<alias>` on the resource.")
        return None

    # --- validate -----------------------------------------------------------------------

    def validate(self, diags: Diagnostics, type_name: str, config: dict):
        """The constructs' own rules (`validate_node_resource`), on what is known: a
        configuration written by hand is held to what EdgeNodePool accepts. Terraform asks
        for every instance; what all nodes of a block share is checked once per process."""
        super().validate(diags, type_name, config)
        own = {k: config.get(k) for k in _OWN}
        check_rules(diags, validate_node_resource, own)
        shared = {k: v for k, v in config.items() if k not in _OWN and k != "id"}
        key = json.dumps(shared, sort_keys=True, default=repr)
        if key in _SHARED_OK:
            return
        before = len(diags.diagnostics)
        check_rules(diags, validate_node_resource, shared)
        if len(diags.diagnostics) == before:
            _SHARED_OK.add(key)

    # --- plan ---------------------------------------------------------------------------

    def plan(self, ctx: PlanContext, current: Optional[dict], planned: dict) -> Optional[dict]:
        if current is None:
            for k in ("present", "ready", "kubelet_version", "joined", "cluster_uid"):
                planned[k] = Unknown
            return planned
        _plan_rejoin(current, planned, bool(ctx.changed_fields))
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
        if not _new_connection_verified(ctx.diagnostics, current, planned):
            return current
        rejoin = current.get("joined") is False       # the host was reset (read saw it)
        if (planned["bundle_sha256"] != current.get("bundle_sha256") or rejoin) \
                and not self._join(ctx.diagnostics, state):
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
                bundle = self._access().require("node_bundle")
                _join_on_free_host(state, host, log.line, self._kubeconfig,
                                   lambda: node_ssh.run_bundle(
                    host, name, bundle, log=log.line,
                    package=node_ssh.Package(**pkg) if pkg else None, settings=JOIN_SETTINGS))
            except node_host.HostTaken as e:
                add_error(diags, f"edge node {name}: its host is joined as another Node", str(e))
                return False
            except KubeError as e:
                add_error(diags, f"edge node {name}: the join needs the cluster", str(e))
                return False
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
            with kube.Kube(self._kubeconfig()) as api:
                uid = _same_cluster(api, current)
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
        except ClusterMismatch as e:
            add_error(diags, f"edge node {name}: the API server answers for another cluster",
                      str(e))
            return None if current is None else current
        except KubeError as e:
            add_error(diags, f"edge node {name}: the Kubernetes API refused a call", str(e))
            return None if current is None else current
        return dict(_observed(state, node), joined=True, cluster_uid=uid)

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
        access = getattr(self.provider, "access", None)
        if access is not None and access.kubeconfig is None:
            return current       # the identity changes in this run: nothing to ask yet
        try:
            with kube.Kube(self._kubeconfig()) as api:
                uid, nodes = _read_snapshot(self.provider, api)
                uid = _same_cluster(api, current, uid)
                node = nodes.get(current["name"])
        except ClusterMismatch as e:
            add_error(ctx.diagnostics, f"edge node {current['name']}: the API server answers "
                      "for another cluster", f"{e}\nNothing was touched. Point this stack at "
                      "the node's own cluster, or drop the node from state (terraform state rm) "
                      "if that cluster is gone for good.")
            return current
        except KubeError as e:
            ctx.diagnostics.add_warning(f"edge node {current['name']}: cannot read the Node",
                                        f"{e}\nThe state is kept as it was.")
            return current
        if node is None:
            return None          # gone (reset by hand, deleted): the plan joins it again
        out = dict(_observed(current, node, managed_only=True), cluster_uid=uid)
        out["joined"] = True if out["ready"] else _host_joined(ctx.diagnostics, current)
        return out

    # --- delete -------------------------------------------------------------------------

    def delete(self, ctx: DeleteContext, current: dict):
        name, diags = current["name"], ctx.diagnostics
        host = Host.from_dict(json.loads(current["host"]), f"edge node {name}: host")
        try:
            # `leaving` first: a create waiting on this host (a rename) knows a reset comes
            with node_host.leaving(host, name), node_host.host_lock(host), \
                    kube.Kube(self._kubeconfig()) as api, node_log(name) as log:
                _same_cluster(api, current)
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
                if not _host_moved_on(current, host, log.line) \
                        and not self._reset(diags, current, log):
                    return
                api.delete_node(name)
                log.line(f"[{name}] Node deleted")
        except ClusterMismatch as e:
            add_error(diags, f"edge node {name}: the API server answers for another cluster",
                      f"{e}\nNothing was cordoned, drained, reset or deleted; the node stays in "
                      "state. Point the kubeconfig at the node's own cluster and apply again; if "
                      "that cluster is gone for good, drop the node from state "
                      "(terraform state rm).")
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
        # 1 -> 2: `joined` and `cluster_uid` are new; the next refresh fills them in (the
        # cluster's UID from the cluster the kubeconfig reaches then).
        # 2 -> 3: the kubeconfig and the bundle moved to the provider block; the bundle's
        # fingerprint is new, so the first plan after the upgrade updates the node once (the
        # ledger and the join's own check skip what is done).
        new = dict({"joined": None, "cluster_uid": None}, **old)
        for gone in ("kubeconfig", "bundle"):
            new.pop(gone, None)
        new.setdefault("bundle_sha256", None)
        return new


#: What in a host's JSON decides where we connect and whom we trust there.
_CONNECTION_FIELDS = ("address", "port", "user", "host_key", "known_hosts_file",
                      "insecure_ignore_host_key", "bastion")


def _new_connection_verified(diags: Diagnostics, current: dict, planned: dict) -> bool:
    """A changed address, port, user, pinned key or bastion of a joined node is stored only
    once a connection with it has been made and its host key checked (CheckSSH's check), so
    a key cut short or a wrong address is reported now, not at the node's removal; the state
    keeps the old connection until then. True when nothing changed or the check passed."""
    old, new = json.loads(current.get("host") or "{}"), json.loads(planned["host"])
    if all(old.get(k) == new.get(k) for k in _CONNECTION_FIELDS):
        return True
    name = planned["name"]
    try:
        host = Host.from_dict(new, f"edge node {name}: host")
        for h in (host, host.bastion):
            if h is not None and h.host_key is not None:
                parse_key_line(h.host_key, "host.host_key")     # its form, before connecting
        checked = check_host(host)
    except (ValueError, SSHError) as e:
        checked_error = str(e)
    else:
        if checked.ok:
            return True
        checked_error = str(checked.error)
    add_error(diags, f"edge node {name}: the new connection was not stored",
              f"{checked_error}\n\nThe state keeps the connection that worked "
              f"({old.get('address')}:{old.get('port', 22)}); fix the host's address, port or "
              "key in the configuration and apply again.", "host")
    return False


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


# --- one host, one membership; one cluster (docs/DESIGN_NOTES.md, "Edge nodes") ----------

class ClusterMismatch(KubeError):
    """The API server of the kubeconfig answers for a cluster other than the node's."""


#: Reads within this many seconds share one list of the Nodes and one look at the cluster's
#: UID: a plan of a pool of N nodes asks the API server twice, not 2N times.
READ_SNAPSHOT_S = 10.0


def _read_snapshot(provider, api: kube.Kube) -> tuple[str, dict[str, dict]]:
    """(the cluster's UID, its Nodes by name) as seen at most READ_SNAPSHOT_S ago by this
    provider process (one per Terraform command), for `read` only: creates, updates and
    deletes always ask afresh."""
    with provider.snapshot_lock:
        snap = provider.snapshot
        if snap is None or time.monotonic() - snap[0] > READ_SNAPSHOT_S:
            snap = (time.monotonic(), api.cluster_uid(),
                    {n["metadata"]["name"]: n for n in api.nodes()})
            provider.snapshot = snap
        return snap[1], snap[2]


def _same_cluster(api: kube.Kube, current: Optional[dict], uid: Optional[str] = None) -> str:
    """The UID of the cluster that answers; ClusterMismatch when state recorded another one
    (states from before the UID was recorded take the one that answers)."""
    uid = uid or api.cluster_uid()
    want = (current or {}).get("cluster_uid")
    if want and want != uid:
        raise ClusterMismatch(
            f"The API server {api.server} answers for the cluster whose kube-system namespace "
            f"has UID {uid}; node {current['name']} joined the cluster whose kube-system UID is "
            f"{want} (in state). Two clusters made from one CA accept each other's admin "
            "certificate, so the endpoint alone does not say which cluster it is.", 409)
    return uid


def _join_on_free_host(state: dict, host: Host, log, kubeconfig, run_bundle) -> None:
    """Run the bundle once no other Node holds the host. Found joined as this node with its
    Node gone: the kubelet is restarted after the bundle, so that it registers the Node again.
    Found joined as another Node X (a rename): wait for X's removal in this process (the old
    instance's delete), then look again; none starting within RENAME_GRACE: HostTaken."""
    name = state["name"]
    waited_out = False
    while True:
        with node_host.host_lock(host):
            other = node_host.joined_as(host)
            if other is None or other == name.lower():
                run_bundle()
                if other is not None:
                    _reregister_if_gone(state, host, log, kubeconfig)
                return
        log(f"[{name}] the host is joined as Node {other}: waiting for its removal (a rename)")
        if node_host.wait_for_removal(host, other, node_host.RENAME_GRACE):
            continue
        if waited_out:
            raise node_host.HostTaken(
                f"The host {host.address}:{host.port} is joined to the cluster as Node {other}, "
                f"not {name}, and no removal of {other} started within "
                f"{node_host.RENAME_GRACE:g}s. A host joins under one name: if {other} is to "
                f"leave (a rename), remove it from the configuration in the same apply (its "
                f"removal resets the host) or reset the host by hand (edgeadm reset --force), "
                f"then apply again.")
        waited_out = True


def _reregister_if_gone(state: dict, host: Host, log, kubeconfig) -> None:
    name = state["name"]
    try:
        with kube.Kube(kubeconfig()) as api:
            gone = api.node(name) is None
    except KubeError as e:
        log(f"[{name}] could not look for the Node ({e}); the wait for Ready says more")
        return
    if gone:
        node_host.restart_kubelet(host, name, log)


def _host_joined(diags: Diagnostics, current: dict) -> Optional[bool]:
    """Read, for a NotReady Node: is its host still joined as it (one short SSH look)? None
    (state kept as it was) when the host does not answer."""
    name = current["name"]
    host = Host.from_dict(json.loads(current["host"]), f"edge node {name}: host")
    try:
        other = node_host.joined_as(host)
    except (SSHError, StepFailed) as e:
        diags.add_warning(f"edge node {name}: cannot look at its host",
                          f"{str(e).splitlines()[0]}\nWhether it is still joined is not known.")
        return current.get("joined")
    if other == name.lower():
        return True
    diags.add_warning(
        f"edge node {name}: its host is not joined",
        ("The host holds no kubelet configuration (reset by hand?)" if other is None else
         f"The host's kubelet registers as Node {other}, not {name}")
        + f"; the Node {name} is NotReady. This plan joins the host again as {name} (an "
        "in-place update that runs the node bundle).")
    return False


def _plan_rejoin(current: dict, planned: dict, changed: bool) -> None:
    """A host that read found not joined: plan `joined` back to true, an in-place update
    whose apply runs the node bundle (the join). An update of a node that is not Ready waits
    for it to be Ready: what it reports then is known only after the apply."""
    rejoin = current.get("joined") is False
    if rejoin:
        planned["joined"] = True
    if (rejoin or changed) and current.get("ready") is not True:
        planned["ready"] = planned["kubelet_version"] = Unknown


def _host_moved_on(current: dict, host: Host, log) -> bool:
    """Delete: the host's kubelet now registers as another Node (the host was renamed and
    joined again): resetting it would take that membership down. True = leave the host as it
    is. A host that cannot be looked at is left to the reset, which reports it."""
    name = current["name"]
    try:
        other = node_host.joined_as(host)
    except (SSHError, StepFailed):
        return False
    if other is None or other == name.lower():
        return False
    log(f"[{name}] the host is joined as Node {other} now: not reset (it is not {name}'s "
        "any more)")
    return True
