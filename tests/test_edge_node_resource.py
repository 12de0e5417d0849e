"""The `edge_node` resource's API side, called as Terraform calls it, against the stand-in API
server on loopback (the cluster of tests/test_real_clients.py: two kubelet-registered nodes).
What the simulated site cannot show cheaply: a drain that times out, a host that cannot be
reset, a node that never becomes Ready. The whole lifecycle on a site: test_nodes_e2e."""
from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from tf.iface import CreateContext, DeleteContext, ReadContext
from tf.utils import Diagnostics

from provisioners.core.props import Host
from edge_constructs.terraform.provider.node_resource import EdgeNode
from tests.test_real_clients import _pod, cluster  # noqa: F401  (fixture)
from tests.test_standins import free_port
from simsite.synth import HOST_KEY


def state(kubeconfig, name: str, **kw) -> dict:
    """An edge_node's state as Terraform would hold it; the host is a closed loopback port."""
    s = {"id": name, "name": name, "kubeconfig": kubeconfig.read_text(), "bundle": "true\n",
         "host": json.dumps(Host("127.0.0.1", port=free_port(), name=name,
                                 private_key_file=None, password_env="EDGE_NO_PW",
                                 host_key=HOST_KEY).to_dict()),
         "package": None, "reset": 'say "reset"', "labels": {"zone": "a"},
         "taints": ["dedicated=camera:NoSchedule"], "node_unit": None, "ready_timeout": 2,
         "drain_timeout": 2, "force_drain": False, "present": True, "ready": True,
         "kubelet_version": "v1.22.6"}
    s.update(kw)
    return s


def messages(diags: Diagnostics) -> str:
    return "\n".join(f"{d.summary}\n{d.detail}" for d in diags.diagnostics)


def test_a_drain_that_times_out_stops_the_removal_and_leaves_the_node_cordoned(cluster, tmp_path,
                                                                               monkeypatch):
    kubeconfig, api = cluster
    monkeypatch.setenv("EDGE_LOG_DIR", str(tmp_path))
    v1 = k8s.CoreV1Api(api)
    v1.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="drain")))
    v1.create_namespaced_pod("drain", _pod("cam-0", "edge-a", app="cam"))
    k8s.PolicyV1Api(api).create_namespaced_pod_disruption_budget("drain", k8s.V1PodDisruptionBudget(
        metadata=k8s.V1ObjectMeta(name="cam"), spec=k8s.V1PodDisruptionBudgetSpec(
            min_available=1, selector=k8s.V1LabelSelector(match_labels={"app": "cam"}))))
    diags = Diagnostics()
    EdgeNode(None).delete(DeleteContext(diags, "edge_node"), state(kubeconfig, "edge-a"))
    text = messages(diags)
    assert diags.has_errors() and "edge node edge-a: the drain timed out" in text
    assert "drain/cam-0: POST /api/v1/namespaces/drain/pods/cam-0/eviction: 429" in text, text
    assert "force_drain=True" in text
    node = v1.read_node("edge-a")
    assert node.spec.unschedulable is True             # cordoned, still in the cluster

    # force_drain: the removal goes on; the host cannot be reached, so it is not reset, the
    # exact reset is given, and the Node stays (cordoned), not deleted
    diags = Diagnostics()
    EdgeNode(None).delete(DeleteContext(diags, "edge_node"),
                          state(kubeconfig, "edge-a", force_drain=True))
    text = messages(diags)
    assert not diags.has_errors(), text
    assert "edge node edge-a: the host was not reset; its Node stays cordoned" in text
    assert "run ResetNode on edge-a by hand:" in text and "kubectl delete node edge-a" in text
    assert v1.read_node("edge-a").spec.unschedulable is True
    v1.patch_node("edge-a", {"spec": {"unschedulable": None}})


def test_a_node_that_never_becomes_ready_fails_its_create_with_its_conditions(cluster, tmp_path):
    kubeconfig, api = cluster
    diags = Diagnostics()
    got = EdgeNode(None)._converge(diags, state(kubeconfig, "ghost", ready_timeout=1), None)
    assert got is None and diags.has_errors()
    text = messages(diags)
    assert "edge node ghost did not become Ready" in text and "(no Node object)" in text
    assert "The next apply checks again without joining again" in text


def test_read_reports_the_managed_labels_and_taints_as_found(cluster):
    kubeconfig, api = cluster
    v1 = k8s.CoreV1Api(api)
    diags = Diagnostics()
    want = state(kubeconfig, "cloud-b")
    got = EdgeNode(None)._converge(diags, want, None)
    assert not diags.has_errors(), messages(diags)
    assert got["ready"] is True and got["kubelet_version"]
    node = v1.read_node("cloud-b")
    assert node.metadata.labels["zone"] == "a"
    assert [(t.key, t.value, t.effect) for t in node.spec.taints] == [("dedicated", "camera", "NoSchedule")]
    # changed by hand: read shows the difference, so the plan repairs it
    v1.patch_node("cloud-b", {"metadata": {"labels": {"zone": None}}, "spec": {"taints": None}})
    seen = EdgeNode(None).read(ReadContext(Diagnostics(), "edge_node"), got)
    assert seen["labels"] == {} and seen["taints"] == []
    # gone: read drops it, so the plan joins it again
    assert EdgeNode(None).read(ReadContext(Diagnostics(), "edge_node"),
                               state(kubeconfig, "not-a-node")) is None
