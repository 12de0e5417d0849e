"""EdgeNode and EdgeNodePool: edge nodes that join an EdgeCluster, and leave it cleanly.

Each host is one instance of an `edge_node` resource of the `edge` provider
(`terraform.provider.node_resource`), keyed by its name in the pool's `for_each`:
- create runs the cluster's node bundle (the node chain as one script, `steps.bundle`) on the
  host over one SSH connection, waits for the Node to be Ready, and sets labels, taints and
  node unit by the Kubernetes API;
- read sees a Node that is gone (the plan joins it again), a managed label or taint changed by
  hand (the plan repairs it), and a NotReady node (a warning in the plan);
- delete drains by the eviction API, resets the host with the package's SSH runner and
  deletes the Node; Terraform calls it for an instance that left the configuration, so it
  runs when one host is dropped, when the whole pool is removed from the code, and on
  destroy, with nothing but state.
Hosts are independent of each other, so a pool joins in parallel, bounded only by
Terraform's `-parallelism`. A changed address or port of the same name updates the instance
in place; a rename is a removal plus a join. See docs/DESIGN_NOTES.md, "Edge nodes".
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Mapping, Optional, Sequence

from constructs import Construct

from provisioners.core.props import Host, logical_id
from provisioners.steps.context import EDGE
from provisioners.steps import resets
from provisioners.steps.node import reset_node
from edge_constructs.terraform.cdk import TerraformLocal, TerraformResource, TerraformStack
from edge_constructs.terraform.provider_block import edge_metadata
from edge_constructs.terraform.literal import literal_tree, tf_literal
from edge_constructs.validation import validate_edge_nodes

NODE_TYPE = "edge_node"
#: A pool of up to this many hosts is one `edge_node` block, `edge_node.<pool>["<name>"]`.
BLOCK_LIMIT = 100
#: A larger pool is this many blocks, `edge_node.<pool>_bNN["<name>"]`, each host in the one
#: its name hashes to: Terraform evaluates a block's whole for_each again for each of its
#: instances, so one block of N hosts plans in N^2 (benchmarks/plan_profile.py: 1,000 nodes
#: 21 s, 2,000 nodes 94 s; in blocks: 21 s).
BUCKETS = 64


def bucket_of(pool: str, host: Host) -> str:
    """The block a host of a large pool is in: a function of its name only, so a host never
    moves between blocks while the pool grows or shrinks."""
    n = int.from_bytes(hashlib.sha256(host.key.encode()).digest()[:4], "big") % BUCKETS
    return f"{pool}_b{n:02d}"


def blocks_of(pool: str, hosts: Sequence[Host]) -> dict[str, list[Host]]:
    """Block name -> its hosts (see BLOCK_LIMIT and BUCKETS)."""
    if len(hosts) <= BLOCK_LIMIT:
        return {pool: list(hosts)}
    out: dict[str, list[Host]] = {}
    for h in hosts:
        out.setdefault(bucket_of(pool, h), []).append(h)
    return dict(sorted(out.items()))


def moves_of(pool: str, host: Host, size: int) -> tuple[str, str]:
    """(where the host's instance would be in the other layout, where it is now): a pool
    growing past BLOCK_LIMIT, or shrinking back, moves its nodes' state, never re-joins them."""
    one, bucket = pool, bucket_of(pool, host)
    return (one, bucket) if size > BLOCK_LIMIT else (bucket, one)


def add_moved(stack, moves: list[dict]) -> None:
    """Add Terraform `moved` blocks to `stack` (one list per stack, kept across pools)."""
    found = getattr(stack, "_edge_moved", None)
    if found is None:
        found = []
        setattr(stack, "_edge_moved", found)
    found.extend(moves)
    stack.add_override("moved", list(found))


class EdgeNodeResource(TerraformResource):
    """`edge_node` with `for_each` over hosts: one instance per node, keyed by its name."""

    def __init__(self, scope: Construct, id: str, *, each: str, config: dict, depends_on,
                 provider):
        super().__init__(scope, id, terraform_resource_type=NODE_TYPE,
                         terraform_generator_metadata=edge_metadata(),
                         depends_on=list(depends_on) or None)
        self.add_override("provider", f"edge.{provider.alias_name}")
        self.add_override("for_each", each)
        for k, v in config.items():
            if v is not None:
                self.add_override(k, v)


class _EdgeNodes(Construct):
    """Hosts that join `cluster` as edge nodes with the same labels, taints and node unit."""

    def __init__(self, scope: Construct, id: str, *, cluster, hosts: Sequence[Host],
                 hosts_field: str, labels: Optional[Mapping[str, str]],
                 taints: Sequence[str], node_unit: Optional[str], force_drain: bool = False):
        labels = dict(labels or {})
        validate_edge_nodes(cluster.spec, hosts, hosts_field, labels, taints, node_unit)
        cluster.claim_edge_hosts(hosts, hosts_field, owner=f"{scope.node.path}/{id}")
        super().__init__(scope, id)
        self._cluster = cluster
        self._hosts = tuple(hosts)
        access = cluster.nodes_in(self)
        ctx = cluster.context(self._hosts[0], EDGE)
        spec = cluster.spec
        pkg = spec.install_package
        # Named after the construct's path in its stack: stable, and unique per pool.
        name = logical_id("_".join(self.node.path.split("/")[1:]))
        # What every node shares (kubeconfig, the bundle with its token) is in the cluster's
        # provider block, not in each node's state: only the bundle's fingerprint is.
        config = {
            "name": "${each.key}",
            "host": "${each.value.host}",
            "bundle_sha256": access.bundle_sha256,
            # user text below is data: escaped for Terraform's templates (literal.py)
            "package": tf_literal(json.dumps({"local_path": os.path.abspath(pkg.path),
                                              "remote_path": ctx.package_path,
                                              "sha256": pkg.sha256}))
                       if pkg.path else None,
            "reset": resets.reference(reset_node(ctx)),
            "labels": literal_tree(labels) or None,
            "taints": literal_tree(list(taints)) or None,
            "node_unit": literal_tree(node_unit),
            "force_drain": True if force_drain else None,
        }
        self._resources = []
        for block, members in blocks_of(name, self._hosts).items():
            # The hosts live in a local, evaluated once: a literal for_each map is evaluated
            # again for each instance (200 nodes: 10 s instead of 2 s).
            local = TerraformLocal(self, f"hosts_{block}", {
                h.key: {"host": tf_literal(json.dumps(h.to_dict(), sort_keys=True))}
                for h in members})
            local.override_logical_id(f"{block}_hosts")
            res = EdgeNodeResource(self, f"Nodes_{block}", each=f"${{local.{block}_hosts}}",
                                   depends_on=access.depends_on, provider=access.provider,
                                   config=config)
            res.override_logical_id(block)
            self._resources.append(res)
            if access.same_stack:
                cluster.status_after(f"{NODE_TYPE}.{block}")
        add_moved(TerraformStack.of(self), [
            {"from": f'{NODE_TYPE}.{old}["{h.key}"]', "to": f'{NODE_TYPE}.{new}["{h.key}"]'}
            for h in self._hosts for old, new in [moves_of(name, h, len(self._hosts))]])

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
    def resources(self) -> list[EdgeNodeResource]:
        """The `edge_node` resources (one instance per host, keyed by name): one for a pool
        of up to BLOCK_LIMIT hosts, else BUCKETS of them (`blocks_of`)."""
        return list(self._resources)

    @property
    def ready(self) -> list:
        """Resources that, once applied, mean every node of this construct has joined."""
        return list(self._resources)


class EdgeNode(_EdgeNodes):
    """One edge node: `host` prepared with the masters' own host steps, joined with the
    cluster's join command, then labelled, tainted and put in `node_unit` by the API.

    `labels` left out: only SuperEdge's own labels. `taints` left out: none.
    `node_unit` left out: the node belongs to no NodeUnit. `force_drain` left out: a drain
    that times out stops the removal. Removing it from the code (or destroying it) drains
    it, resets the host and deletes the Node.
    """

    def __init__(self, scope: Construct, id: str, *, cluster, host: Host,
                 labels: Optional[Mapping[str, str]] = None, taints: Sequence[str] = (),
                 node_unit: Optional[str] = None, force_drain: bool = False):
        super().__init__(scope, id, cluster=cluster, hosts=[host], hosts_field="host",
                         labels=labels, taints=taints, node_unit=node_unit,
                         force_drain=force_drain)

    @property
    def host(self) -> Host:
        return self.hosts[0]

    @property
    def node_name(self) -> str:
        return self.hosts[0].key


class EdgeNodePool(_EdgeNodes):
    """Many edge nodes with the same labels, taints and node unit, joined in parallel.

    Each host is keyed by its `name` (required for edge nodes): adding a host joins only it;
    dropping one, or removing the whole pool from the code, drains, resets and deletes each
    node that left; a new address for the same name only updates how it is reached.
    """

    def __init__(self, scope: Construct, id: str, *, cluster, hosts: Sequence[Host],
                 labels: Optional[Mapping[str, str]] = None, taints: Sequence[str] = (),
                 node_unit: Optional[str] = None, force_drain: bool = False):
        super().__init__(scope, id, cluster=cluster, hosts=hosts, hosts_field="hosts",
                         labels=labels, taints=taints, node_unit=node_unit,
                         force_drain=force_drain)
