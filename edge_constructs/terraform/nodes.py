"""EdgeNode and EdgeNodePool: edge nodes that join an EdgeCluster, and leave it cleanly.

Joining: one step chain per host (`edge_constructs.steps.chains.NODE_CHAIN`), one `terraform_data`
per step, hosts independent of each other, so a pool joins in parallel, bounded only by
Terraform's `-parallelism`. Every resource is keyed by `Host.key` (name, else address),
never by list position.

Removal: one `for_each` resource per pool/node (`<id>/Removal`, keyed by `Host.key`) whose
destroy-time provisioners drain the node and delete its Node object from master 0 and reset
the host. Dropping a host from the map destroys that one instance, so its provisioners run,
while the block itself stays in the configuration (Terraform does not run destroy
provisioners of a removed block). See docs/DESIGN_NOTES.md, "Edge nodes".
"""
from __future__ import annotations

import os
import sys
from typing import Mapping, Optional, Sequence

from cdktf import ITerraformDependable
from constructs import Construct

from edge_constructs.core.errors import ValidationError
from edge_constructs.core.props import Host
from edge_constructs.terraform.resources import (TerraformData, identity_expr, logical_id,
                                                 step_resource, teardown_provisioner, tf_literal)
from edge_constructs.steps.step import parse_identity_source
from edge_constructs.validation import (validate_dns1123_label, validate_labels,
                                        validate_node_host, validate_taints)
from edge_constructs.steps import chains as chain, node as node_steps
from edge_constructs.ssh import teardown
from edge_constructs.steps.context import EDGE, Context, NodeOptions

#: How long removal's SSH to master 0 may take to connect before the destroy fails.
MASTER_CONNECT_TIMEOUT = "30s"

def _claims(cluster) -> dict[str, str]:
    """Which construct holds each edge host of `cluster`: a host joins a cluster once."""
    if not hasattr(cluster, "_edge_node_claims"):
        cluster._edge_node_claims = {}
    return cluster._edge_node_claims


class _EdgeNodes(Construct):
    """Hosts that join `cluster` as edge nodes with the same labels, taints and node unit."""

    def __init__(self, scope: Construct, id: str, *, cluster, hosts: Sequence[Host],
                 hosts_field: str, labels: Optional[Mapping[str, str]],
                 taints: Sequence[str], node_unit: Optional[str]):
        labels = dict(labels or {})
        _validate(cluster, hosts, hosts_field, labels, taints, node_unit, owner=f"{scope.node.path}/{id}")
        super().__init__(scope, id)
        self._cluster = cluster
        self._hosts = tuple(hosts)
        self._options = NodeOptions(labels=labels, taints=tuple(taints), node_unit=node_unit)
        master0 = cluster.spec.masters[0]

        self._removal = self._removal_resource(cluster, master0)
        self._resources: dict[str, list[TerraformData]] = {}
        for host in self._hosts:
            ctx = Context(spec=cluster.spec, host=host, role=EDGE, creds=cluster.credentials,
                          node=self._options)
            scope_ = Construct(self, logical_id(host.key))
            prev: list[ITerraformDependable] = [self._removal]
            made = []
            for s in chain.node_chain(ctx):
                target = master0 if node_steps.runs_on_master0(s) else host
                res = step_resource(scope_, target, s, prev)
                made.append(res)
                prev = [res]
            self._resources[host.key] = made

    # --- attributes ---------------------------------------------------------------------

    @property
    def cluster(self):
        return self._cluster

    @property
    def hosts(self) -> tuple[Host, ...]:
        return self._hosts

    @property
    def node_names(self) -> list[str]:
        return [h.key for h in self._hosts]

    @property
    def resources(self) -> dict[str, list[TerraformData]]:
        """The step resources of each host, by `Host.key`, in chain order."""
        return {k: list(v) for k, v in self._resources.items()}

    @property
    def ready(self) -> list:
        """Resources that, once applied, mean every node of this construct has joined."""
        return [r[-1] for r in self._resources.values() if r]

    # --- removal ------------------------------------------------------------------------

    def _removal_resource(self, cluster, master0: Host) -> TerraformData:
        """One instance per host; destroying an instance drains, resets and deletes its node.
        Destroy provisioners may read only `self`, so each instance's input carries what they
        need: paths and names, never key material."""
        if master0.private_key_file is None:
            # Terraform reads the key at destroy from a path; a password would have to be
            # stored in state. Validation of the cluster already required one of the two.
            raise ValidationError("cluster.masters[0].private_key_file", None,
                                  "edge node removal connects to master 0 with a private key "
                                  "file; give master 0 private_key_file=")
        m_key = os.path.abspath(os.path.expanduser(master0.private_key_file))
        each = {h.key: {"node_name": h.key, "node": teardown.host_json(h),
                        "python": sys.executable,
                        "master_host": master0.address, "master_port": str(master0.port),
                        "master_user": master0.user, "master_key_file": m_key,
                        "master_host_key": master0.host_key or ""}
                for h in self._hosts}
        res = TerraformData(self, "Removal", depends_on=list(cluster.ready))
        res.add_override("for_each", {k: {kk: tf_literal(vv) for kk, vv in v.items()}
                                      for k, v in each.items()})
        res.add_override("input", "${each.value}")
        master_conn = {
            "type": "ssh", "host": "${self.input.master_host}",
            "port": "${self.input.master_port}", "user": "${self.input.master_user}",
            "timeout": MASTER_CONNECT_TIMEOUT,
            "private_key": "${file(self.input.master_key_file)}",
            "host_key": '${self.input.master_host_key == "" ? null : self.input.master_host_key}',
        }
        # Order as kubeadm documents it: drain, reset the host, then delete the Node (deleted
        # earlier, a still-running kubelet would register it again).
        res.add_override("provisioner", [
            {"remote-exec": {"when": "destroy", "connection": master_conn, "inline": [
                "set -e", "N='${self.input.node_name}'",
                tf_literal(node_steps.drain_script("$N").replace("'$N'", '"$N"'))]}},
            teardown_provisioner("reset-node", "${self.input.node}"),
            {"remote-exec": {"when": "destroy", "connection": master_conn, "inline": [
                "set -e", "N='${self.input.node_name}'",
                tf_literal(node_steps.delete_script("$N").replace("'$N'", '"$N"'))]}},
        ])
        return res


class EdgeNode(_EdgeNodes):
    """One edge node: `host` prepared with the masters' own host steps, joined with the
    cluster's join command, then labelled, tainted and put in `node_unit` from master 0.

    `labels` left out: only SuperEdge's own labels. `taints` left out: none.
    `node_unit` left out: the node belongs to no NodeUnit. Destroying it (or removing it from
    the stack's code while keeping it in state… see the DESIGN_NOTES) drains it, resets the
    host and deletes the Node.
    """

    def __init__(self, scope: Construct, id: str, *, cluster, host: Host,
                 labels: Optional[Mapping[str, str]] = None, taints: Sequence[str] = (),
                 node_unit: Optional[str] = None):
        super().__init__(scope, id, cluster=cluster, hosts=[host], hosts_field="host",
                         labels=labels, taints=taints, node_unit=node_unit)

    @property
    def host(self) -> Host:
        return self.hosts[0]

    @property
    def node_name(self) -> str:
        return self.hosts[0].key


class EdgeNodePool(_EdgeNodes):
    """Many edge nodes with the same labels, taints and node unit, joined in parallel.

    Resources are keyed by each host's `name` (else its address): adding a host joins only
    it; dropping one from `hosts` drains, resets and deletes only it.
    """

    def __init__(self, scope: Construct, id: str, *, cluster, hosts: Sequence[Host],
                 labels: Optional[Mapping[str, str]] = None, taints: Sequence[str] = (),
                 node_unit: Optional[str] = None):
        super().__init__(scope, id, cluster=cluster, hosts=hosts, hosts_field="hosts",
                         labels=labels, taints=taints, node_unit=node_unit)


def _validate(cluster, hosts, field: str, labels, taints, node_unit, owner: str) -> None:
    if field == "hosts":
        if isinstance(hosts, (str, Host)) or not isinstance(hosts, Sequence):
            raise ValidationError("hosts", hosts, "must be a list of Host, e.g. "
                                  "hosts=[Host('198.51.100.20', private_key_file='~/.ssh/id_ed25519')]")
        if len(hosts) == 0:
            raise ValidationError("hosts", [], "a pool needs at least one Host; remove the "
                                  "EdgeNodePool to remove all its nodes")
    names = [field] if field == "host" else [f"hosts[{i}]" for i in range(len(hosts))]
    for name, host in zip(names, hosts):
        validate_node_host(host, name)
    masters = {(m.address, m.port): i for i, m in enumerate(cluster.spec.masters)}
    master_keys = {m.key: i for i, m in enumerate(cluster.spec.masters)}
    seen: dict[str, str] = {}
    for name, host in zip(names, hosts):
        i = masters.get((host.address, host.port), master_keys.get(host.key))
        if i is not None:
            raise ValidationError(f"{name}.address", host.address,
                                  f"is master {i} of cluster {cluster.spec.name!r}; a host is "
                                  "either a master or an edge node, not both")
        for key in {host.key, f"{host.address}:{host.port}"}:
            if key in seen:
                raise ValidationError(name, host.key, f"{seen[key]} is the same host; list "
                                      "each host once")
            seen[key] = name
    if node_unit is not None:
        validate_dns1123_label(node_unit, "node_unit")
    validate_labels(labels, "labels")
    validate_taints(taints, "taints")
    claims = _claims(cluster)
    for name, host in zip(names, hosts):
        for key in {host.key, f"{host.address}:{host.port}"}:
            if key in claims and claims[key] != owner:
                raise ValidationError(f"{name}", host.key, f"already joins cluster "
                                      f"{cluster.spec.name!r} through {claims[key]}; a host "
                                      "belongs to one EdgeNode or EdgeNodePool")
    for host in hosts:
        claims[host.key] = owner
        claims[f"{host.address}:{host.port}"] = owner


def join_script_for(cluster) -> str:
    """The cluster's join script as a Terraform expression: the same node-side step scripts
    the chain runs, uploads embedded with `filebase64()` (local files) or `base64encode()` of
    the identity's values in state (the token, the CA hash), so the synthesized JSON holds
    no secret."""
    ctx = Context(spec=cluster.spec, host=Host("127.0.0.1", name="join-script"), role=EDGE,
                  creds=cluster.credentials)
    steps = [s for s in chain.node_chain(ctx) if not node_steps.runs_on_master0(s)]
    return node_steps.join_script(
        ctx, steps, embed=_embed, literal=tf_literal)


def _embed(source: str) -> str:
    ref = parse_identity_source(source)
    if ref:
        return "${base64encode(%s)}" % identity_expr(*ref)[2:-1]
    return '${filebase64("%s")}' % os.path.abspath(source)
