"""The step chains, each one ordered list, named after TKEStack's handlers.

Read top to bottom, a chain is what happens to a host. `skip_steps` names entries here.
"""
from __future__ import annotations

from edge_constructs.steps import cluster
from edge_constructs.steps import node
from edge_constructs.steps import host
from edge_constructs.steps.context import Context
from edge_constructs.steps.step import Step

#: Every host first: ours, offline-safe (edgeadm's apt-based init-node is skipped). Steps
#: that concern only masters or master 0 render nothing elsewhere.
HOST_PREPARATION = [
    host.ensure_copy_files,
    host.ensure_pre_cluster_install_hook,   # master 0
    host.ensure_pre_install_hook,
    host.ensure_registry_hosts,
    host.ensure_init_api_server_host,       # masters
    host.ensure_kernel_module,
    host.ensure_sysctl,
    host.ensure_disable_swap,
    host.ensure_preflight,
]

#: Binaries from the install package; edgeadm on PATH.
INSTALL_PACKAGE = [
    host.ensure_install_package,
    host.ensure_kubelet,
    host.ensure_cni_plugins,
    host.ensure_conntrack_tools,
    host.ensure_kubeadm,
]

#: Masters (master 0 forms the cluster; the others join it as control plane).
MASTER_CHAIN = [
    *HOST_PREPARATION,
    *INSTALL_PACKAGE,
    cluster.ensure_container_runtime,
    cluster.ensure_kubelet_unit,
    # cluster identity: the CAs and tokens made at synth
    cluster.ensure_certificates,
    cluster.ensure_egress_selector,
    cluster.ensure_kubeadm_config,
    # edgeadm init, one step per phase (master 0); join as control plane (other masters)
    *cluster.EDGEADM_INIT_PHASES,
    cluster.ensure_control_plane_join,
    # SuperEdge and the preparation for edge nodes to join (master 0)
    cluster.ensure_kubeconfig,
    cluster.ensure_prepare_edge_cluster,
    cluster.ensure_join_preparation,
    host.ensure_post_install_hook,
    host.ensure_post_cluster_install_hook,
]

#: Edge nodes: the masters' host preparation (the same functions), then the join; the
#: node's labels, taints and node unit are set from master 0 (`node.ON_MASTER0`).
NODE_CHAIN = [
    *HOST_PREPARATION,
    *INSTALL_PACKAGE,
    cluster.ensure_kubelet_unit,
    # edgeadm join: exactly the cluster's join command, + --node-name, --skip-phases=init-node
    node.ensure_join_node,
    # what master 0 records about the node
    node.ensure_node_labels,
    node.ensure_node_taints,
    node.ensure_node_unit,
    host.ensure_post_install_hook,
]


def _run(fns, ctx: Context) -> list[Step]:
    skip = set(ctx.spec.skip_steps)
    made = [fn(ctx) for fn in fns]
    return [s for s in made if s is not None and s.name not in skip]


def master_chain(ctx: Context) -> list[Step]:
    """The steps of one master, in order, without the skipped ones."""
    return _run(MASTER_CHAIN, ctx)


def node_chain(ctx: Context) -> list[Step]:
    """The steps of one edge node, in order, without the skipped ones; steps that run on
    master 0 are named `<Step>@<node>`."""
    return node.per_node_names(_run(NODE_CHAIN, ctx), ctx)


def step_names() -> list[str]:
    """Every step name a chain can hold (what `skip_steps` accepts)."""
    names = [getattr(fn, "step_name", None) for fn in MASTER_CHAIN + NODE_CHAIN]
    return sorted({n for n in names if n})
