"""EdgeNode and EdgeNodePool: edge nodes that join an EdgeCluster, and leave it cleanly.

Joining: one step chain per host (`steps.chains.NODE_CHAIN`), one `terraform_data` per
step, each on the host its step names (the node, or master 0 for what the centre records
about the node); hosts are independent of each other, so a pool joins in parallel, bounded
only by Terraform's `-parallelism`. Every resource is keyed by `Host.key` (name, else
address), never by list position.

Removal: one `for_each` resource per pool/node (`<id>/Removal`, keyed by `Host.key`) whose
destroy runs the node's teardown chain (`steps.chains.NODE_TEARDOWN`: drain from master 0,
reset the host, delete the Node) through the SSH runner. Dropping a host from the map
destroys that one instance, so its teardown runs, while the block itself stays in the
configuration (Terraform does not run destroy provisioners of a removed block). See
docs/DESIGN_NOTES.md, "Edge nodes".
"""
from __future__ import annotations

import sys
from typing import Mapping, Optional, Sequence

from constructs import Construct

from edge_constructs.core.props import Host
from edge_constructs.ssh import teardown
from edge_constructs.steps import chains
from edge_constructs.steps.context import EDGE, NodeOptions
from edge_constructs.terraform.resources import (TerraformData, chain_resources, logical_id,
                                                  teardown_provisioner, tf_literal)
from edge_constructs.validation import validate_edge_nodes


class _EdgeNodes(Construct):
    """Hosts that join `cluster` as edge nodes with the same labels, taints and node unit."""

    def __init__(self, scope: Construct, id: str, *, cluster, hosts: Sequence[Host],
                 hosts_field: str, labels: Optional[Mapping[str, str]],
                 taints: Sequence[str], node_unit: Optional[str]):
        labels = dict(labels or {})
        validate_edge_nodes(cluster.spec, hosts, hosts_field, labels, taints, node_unit)
        cluster.claim_edge_hosts(hosts, hosts_field, owner=f"{scope.node.path}/{id}")
        super().__init__(scope, id)
        self._cluster = cluster
        self._hosts = tuple(hosts)
        self._options = NodeOptions(labels=labels, taints=tuple(taints), node_unit=node_unit)
        contexts = {h.key: cluster.context(h, EDGE, node=self._options) for h in self._hosts}

        self._removal = self._removal_resource(cluster, contexts)
        self._resources: dict[str, list[TerraformData]] = {
            key: chain_resources(Construct(self, logical_id(key)), chains.node_chain(ctx),
                                 after=[self._removal], ssh_timeout=cluster.spec.ssh_timeout)
            for key, ctx in contexts.items()}

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

    def _removal_resource(self, cluster, contexts) -> TerraformData:
        """One instance per host; destroying an instance runs that node's teardown chain.
        Destroy provisioners may read only `self`, so each instance's input carries the
        chain: scripts, paths and names, never key material."""
        each = {key: {"teardown": tf_literal(teardown.encode(
                          chains.render(chains.NODE_TEARDOWN, ctx))),
                      "python": sys.executable}
                for key, ctx in contexts.items()}
        res = TerraformData(self, "Removal", depends_on=list(cluster.ready))
        res.add_override("for_each", each)
        res.add_override("input", "${each.value}")
        res.add_override("provisioner", [teardown_provisioner("${self.input.teardown}")])
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
