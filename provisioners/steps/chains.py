"""The step chains, each one ordered list, named after TKEStack's handlers.

Read top to bottom, a chain is what happens to a host; each step says where it runs
(`On`), so the same list serves every host of a cluster. `skip_steps` names entries here.
Teardown chains stand beside the create chains.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from provisioners.core.props import Host
from provisioners.steps import cluster, edge_update, host, node
from provisioners.steps.context import Context
from provisioners.steps.step import Step

#: Every host first: ours, offline-safe (edgeadm's apt-based init-node is skipped).
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
    host.ensure_kubectl,
    host.ensure_lite_apiserver,             # edge nodes
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
    # cluster identity: the CAs and tokens edge_cluster_identity made at apply (state)
    cluster.ensure_certificates,
    cluster.ensure_egress_selector,
    cluster.ensure_kubeadm_config,
    # edgeadm init, one step per phase (master 0); join as control plane (other masters)
    *cluster.EDGEADM_INIT_PHASES,
    cluster.ensure_control_plane_join,
    # SuperEdge and the preparation for edge nodes to join (master 0)
    cluster.ensure_kubeconfig,
    cluster.ensure_prepare_edge_cluster,
    # edge-apps' hidden update-config, after join-prepare as in edgeadm (steps/edge_app.go)
    cluster.ensure_edge_kube_config,
    cluster.ensure_join_preparation,
    # SuperEdge's workloads run the images of superedge.version, one rollout at a time
    # (a version change re-runs this step alone: docs/DESIGN_NOTES.md)
    edge_update.ensure_edge_components_version,
    host.ensure_post_install_hook,
    host.ensure_post_cluster_install_hook,
]

#: Edge nodes: the masters' host preparation (the same functions), then the join. Run as one
#: script (`steps.bundle`) by the `edge_node` resource, which then sets the node's labels,
#: taints and node unit by the Kubernetes API.
NODE_CHAIN = [
    *HOST_PREPARATION,
    *INSTALL_PACKAGE,
    cluster.ensure_kubelet_unit,
    # edgeadm join: exactly the cluster's join command, + --node-name, --skip-phases=init-node
    node.ensure_join_node,
    host.ensure_post_install_hook,
]

#: A master leaves (the cluster is destroyed).
MASTER_TEARDOWN = [
    cluster.reset_master,
]


@dataclass(frozen=True)
class Placed:
    """A step and the host it runs on."""
    host: Host
    step: Step


def render(chain: Sequence, ctx: Context, skip: Sequence[str] = ()) -> list[Placed]:
    """The steps of `chain` for the host of `ctx`, in order, each with the host it runs on;
    steps whose `on` excludes the host's role, that have nothing to do, or that are in
    `skip`, are left out."""
    made = (fn(ctx) for fn in chain)
    return [Placed(ctx.host, s) for s in made if s is not None and s.name not in skip]


def master_chain(ctx: Context) -> list[Placed]:
    """The steps of one master, in order, without the skipped ones."""
    return render(MASTER_CHAIN, ctx, ctx.spec.skip_steps)


def node_chain(ctx: Context) -> list[Placed]:
    """The steps of one edge node, in order, without the skipped ones."""
    return render(NODE_CHAIN, ctx, ctx.spec.skip_steps)


def step_names() -> list[str]:
    """Every step name a create chain can hold (what `skip_steps` accepts)."""
    return sorted({fn.step_name for fn in MASTER_CHAIN + NODE_CHAIN})
