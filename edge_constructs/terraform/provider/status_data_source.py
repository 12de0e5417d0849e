"""`edge_cluster_status`: what the centre sees, read from the API server at every plan and
apply: each Node (Ready, kubelet version, node units) and SuperEdge's components (ready
counts of their workloads). The cluster's `<id>_nodes` and `<id>_edge_components` outputs."""
from __future__ import annotations

import json
from typing import Optional

from tf.iface import DataSource, ReadDataContext
from tf.schema import Attribute
from tf.types import String

from provisioners.steps.node import NODE_UNIT_LABEL_VALUE
from provisioners.core.errors import KubeError
from edge_constructs.terraform.provider import kube
from edge_constructs.terraform.provider.common import Meta, Named

#: SuperEdge's components and where edgeadm puts them (namespace edge-system).
COMPONENTS = {
    "tunnel-cloud": ["tunnel-cloud"],
    "tunnel-edge": ["tunnel-edge"],
    "edge-health": ["edge-health"],
    "application-grid": ["application-grid-controller", "application-grid-wrapper-node",
                         "application-grid-wrapper-master"],
    "lite-apiserver": ["lite-apiserver"],
}
NAMESPACE = "edge-system"
WORKLOADS = (("Deployment", "/apis/apps/v1/namespaces/edge-system/deployments"),
             ("DaemonSet", "/apis/apps/v1/namespaces/edge-system/daemonsets"))


def node_summary(node: dict) -> dict:
    labels = (node.get("metadata") or {}).get("labels") or {}
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return {"ready": kube.is_ready(node), "kubelet_version": info.get("kubeletVersion", ""),
            "node_units": sorted(k for k, v in labels.items() if v == NODE_UNIT_LABEL_VALUE),
            "unschedulable": bool((node.get("spec") or {}).get("unschedulable"))}


def _counts(kind: str, w: dict) -> tuple[int, int]:
    st, spec = w.get("status") or {}, w.get("spec") or {}
    if kind == "DaemonSet":
        return int(st.get("numberReady") or 0), int(st.get("desiredNumberScheduled") or 0)
    return int(st.get("readyReplicas") or 0), int(spec.get("replicas", 1) or 0)


def component_summary(api: kube.Kube) -> dict:
    """For each component: its workloads with ready/desired, or found=false."""
    found: dict[str, dict] = {}
    for kind, path in WORKLOADS:
        for w in api.items(path):
            found[w["metadata"]["name"]] = (kind, w)
    out = {}
    for comp, names in COMPONENTS.items():
        parts = [(n, *found[n]) for n in names if n in found]
        if not parts:
            out[comp] = {"found": False, "ready": 0, "desired": 0, "workloads": ""}
            continue
        counts = [_counts(kind, w) for _, kind, w in parts]
        out[comp] = {"found": True, "ready": sum(c[0] for c in counts),
                     "desired": sum(c[1] for c in counts),
                     "workloads": ",".join(f"{kind}/{n}" for n, kind, _ in parts)}
    return out


#: kubeadm's binding that lets kubelets renew their own client certificate (kubernetes v1.22
#: cmd/kubeadm/app/phases/bootstraptoken/node/tlsbootstrap.go AutoApproveNodeCertificateRotation).
ROTATION_BINDING = "kubeadm:node-autoapprove-certificate-rotation"
ROTATION_ROLE = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"


def kubelet_rotation(api: kube.Kube) -> dict:
    """Whether kubelets' renewals of their client certificates are approved: kubeadm's
    binding of `system:nodes` to the selfnodeclient role, as it is now."""
    crb = api.call("GET", f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{ROTATION_BINDING}")
    bound = bool(crb) and (crb.get("roleRef") or {}).get("name") == ROTATION_ROLE and any(
        s.get("kind") == "Group" and s.get("name") == "system:nodes"
        for s in crb.get("subjects") or [])
    return {"approval_binding": ROTATION_BINDING, "approves_renewals": bound}


class ClusterStatus(Named, DataSource):
    META = Meta("cluster_status", 1, "Nodes and SuperEdge components of a cluster, as its API "
                "server reports them", id="the API server read (\"unreachable\" when it was not)")

    @classmethod
    def attributes(cls) -> list[Attribute]:
        return [
            Attribute("kubeconfig", String(), required=True, sensitive=True,
                      description="admin kubeconfig of the cluster"),
            Attribute("nodes", String(), computed=True,
                      description="JSON: node name -> ready, kubelet_version, node_units"),
            Attribute("edge_components", String(), computed=True,
                      description="JSON: component -> found, ready, desired, workloads"),
            Attribute("kubelet_rotation", String(), computed=True,
                      description="JSON: whether kubelets' client certificate renewals are "
                                  "approved (kubeadm's binding)"),
        ]

    def read(self, ctx: ReadDataContext, config: dict) -> Optional[dict]:
        try:
            with kube.Kube(config["kubeconfig"]) as api:
                nodes = {n["metadata"]["name"]: node_summary(n) for n in api.nodes()}
                comps = component_summary(api)
                rotation = kubelet_rotation(api)
                server = api.server
        except KubeError as e:
            # A warning, not an error: a status that cannot be read must never block a plan
            # (a destroy of a cluster whose API server is already gone, for one).
            ctx.diagnostics.add_warning("cannot read the cluster's status", str(e))
            return dict(config, id="unreachable", nodes="{}", edge_components="{}",
                        kubelet_rotation="{}")
        return dict(config, id=server, nodes=json.dumps(nodes, sort_keys=True),
                    edge_components=json.dumps(comps, sort_keys=True),
                    kubelet_rotation=json.dumps(rotation, sort_keys=True))
