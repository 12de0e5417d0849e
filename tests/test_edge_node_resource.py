"""The `edge_node` resource's API side, called as Terraform calls it, against the stand-in API
server on loopback (the cluster of tests/test_real_clients.py: two kubelet-registered nodes).
What the simulated site cannot show cheaply: a drain that times out, a host that cannot be
reset, a node that never becomes Ready. The whole lifecycle on a site: test_nodes_e2e."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest
from kubernetes import client as k8s
from tf.iface import CreateContext, DeleteContext, PlanContext, ReadContext, UpdateContext
from tf.types import Unknown
from tf.utils import Diagnostics

from provisioners.core.props import Host
from provisioners.ssh import node as node_ssh
from edge_constructs.terraform.provider import node_host
from edge_constructs.terraform.provider.node_resource import EdgeNode
from edge_constructs.terraform.provider.provider import ClusterAccess, EdgeProvider
from tests.test_real_clients import _pod, _raw, cluster  # noqa: F401  (fixture)
from tests.test_standins import free_port
from simsite.synth import HOST_KEY


def resource(kubeconfig, bundle: str = "true\n") -> EdgeNode:
    """The resource as the provider block of its cluster configures it."""
    provider = EdgeProvider()
    provider.access = ClusterAccess("test", kubeconfig.read_text(), bundle)
    return EdgeNode(provider)


def state(kubeconfig, name: str, **kw) -> dict:
    """An edge_node's state as Terraform would hold it; the host is a closed loopback port."""
    s = {"id": name, "name": name, "bundle_sha256": "0" * 64,
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
    resource(kubeconfig).delete(DeleteContext(diags, "edge_node"), state(kubeconfig, "edge-a"))
    text = messages(diags)
    assert diags.has_errors() and "edge node edge-a: the drain timed out" in text
    assert "drain/cam-0: POST /api/v1/namespaces/drain/pods/cam-0/eviction: 429" in text, text
    assert "force_drain=True" in text
    node = v1.read_node("edge-a")
    assert node.spec.unschedulable is True             # cordoned, still in the cluster

    # force_drain: the removal goes on; the host cannot be reached, so it is not reset, the
    # exact reset is given, and the Node stays (cordoned), not deleted
    diags = Diagnostics()
    resource(kubeconfig).delete(DeleteContext(diags, "edge_node"),
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
    got = resource(kubeconfig)._converge(diags, state(kubeconfig, "ghost", ready_timeout=1), None)
    assert got is None and diags.has_errors()
    text = messages(diags)
    assert "edge node ghost did not become Ready" in text and "(no Node object)" in text
    assert "The next apply checks again without joining again" in text


def test_read_reports_the_managed_labels_and_taints_as_found(cluster):
    kubeconfig, api = cluster
    v1 = k8s.CoreV1Api(api)
    diags = Diagnostics()
    want = state(kubeconfig, "cloud-b")
    got = resource(kubeconfig)._converge(diags, want, None)
    assert not diags.has_errors(), messages(diags)
    assert got["ready"] is True and got["kubelet_version"]
    node = v1.read_node("cloud-b")
    assert node.metadata.labels["zone"] == "a"
    assert [(t.key, t.value, t.effect) for t in node.spec.taints] == [("dedicated", "camera", "NoSchedule")]
    # changed by hand: read shows the difference, so the plan repairs it
    v1.patch_node("cloud-b", {"metadata": {"labels": {"zone": None}}, "spec": {"taints": None}})
    seen = resource(kubeconfig).read(ReadContext(Diagnostics(), "edge_node"), got)
    assert seen["labels"] == {} and seen["taints"] == []
    # gone: read drops it, so the plan joins it again
    assert resource(kubeconfig).read(ReadContext(Diagnostics(), "edge_node"),
                               state(kubeconfig, "not-a-node")) is None


# --- node lifecycle: a kubelet registers once per start; one host, one membership; one cluster

def _node_obj(name: str, ready: bool = True) -> dict:
    """A Node as a kubelet registers it (status included), for nodes no kubelet runs."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {}},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "reason": "KubeletReady" if ready else "KubeletNotReady",
                                       "message": "", "lastHeartbeatTime": stamp,
                                       "lastTransitionTime": stamp}],
                       "nodeInfo": {k: "v1.22.6" if k.endswith("Version") else "x" for k in (
                           "machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
                           "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
                           "operatingSystem", "architecture")}}}


def _add_node(kubeconfig, name: str, ready: bool = True) -> None:
    code, got = _raw(kubeconfig, "POST", "/api/v1/nodes", _node_obj(name, ready))
    assert code == 200, got


def _uid(kubeconfig) -> str:
    code, ns = _raw(kubeconfig, "GET", "/api/v1/namespaces/kube-system")
    assert code == 200, ns
    return ns["metadata"]["uid"]


class Kubelet:
    """A stand-in kubelet on loopback for the Node `name`, its log in a file."""

    def __init__(self, kubeconfig, name: str, log):
        self.root = kubeconfig.parents[2]
        self.bindir = self.root.parent / "x" / "edge-install" / "bin"
        self.name, self.log, self.proc, self.starts = name, log, None, 0

    def start(self) -> None:
        env = dict(os.environ, STANDIN_ROOT=str(self.root), STANDIN_KUBELET_HEARTBEAT="0.5")
        with open(self.log, "a") as err:
            self.proc = subprocess.Popen(
                [str(self.bindir / "kubelet"), "--kubeconfig=/etc/kubernetes/admin.conf",
                 "--container-runtime=remote",
                 "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
                 "--hostname-override=" + self.name, "--node-ip=127.0.0.1"],
                env=env, stdout=subprocess.DEVNULL, stderr=err)
        self.starts += 1

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

    def restart(self) -> None:            # what `systemctl restart kubelet` does
        self.stop()
        self.start()

    def not_found_errors(self) -> int:
        return self.log.read_text().count(f'nodes \\"{self.name}\\" not found')


def _wait(what, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (got := what()):
        assert time.monotonic() < deadline, f"waited {timeout}s for {what}"
        time.sleep(0.2)
    return got


@pytest.fixture
def kubelet(cluster, tmp_path):
    kubeconfig, _ = cluster
    k = Kubelet(kubeconfig, "lazarus", tmp_path / "kubelet.log")
    k.start()
    yield k
    k.stop()
    _raw(kubeconfig, "DELETE", "/api/v1/nodes/lazarus")


def test_a_kubelet_registers_its_node_once_per_start(cluster, kubelet):
    kubeconfig, api = cluster
    v1 = k8s.CoreV1Api(api)
    _wait(lambda: _ready(v1, "lazarus"))
    v1.delete_node("lazarus")
    # kubelet 1.22 (kubelet_node_status.go, registrationCompleted): its heartbeats fail from
    # now on, and it does not register the Node again while it runs
    _wait(lambda: kubelet.not_found_errors() >= 3)
    assert "lazarus" not in {n.metadata.name for n in v1.list_node().items}
    kubelet.restart()            # a new start registers again, with the same credentials
    _wait(lambda: _ready(v1, "lazarus"))


def _ready(v1, name: str) -> bool:
    try:
        node = v1.read_node(name)
    except k8s.ApiException:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def test_create_on_a_joined_host_whose_node_is_gone_restarts_its_kubelet(cluster, kubelet,
                                                                        tmp_path, monkeypatch):
    kubeconfig, api = cluster
    v1 = k8s.CoreV1Api(api)
    monkeypatch.setenv("EDGE_LOG_DIR", str(tmp_path))
    _wait(lambda: _ready(v1, "lazarus"))
    v1.delete_node("lazarus")
    _wait(lambda: kubelet.not_found_errors() >= 1)
    bundles = []
    monkeypatch.setattr(node_host, "joined_as", lambda host: "lazarus")     # kubelet.conf there
    monkeypatch.setattr(node_ssh, "run_bundle", lambda *a, **kw: bundles.append(a[1]))
    monkeypatch.setattr(node_host, "restart_kubelet", lambda host, name, log: kubelet.restart())
    diags = Diagnostics()
    got = resource(kubeconfig).create(CreateContext(diags, "edge_node"),
                                state(kubeconfig, "lazarus", ready_timeout=30, labels={},
                                      taints=[]))
    assert not diags.has_errors(), messages(diags)
    assert bundles == ["lazarus"] and kubelet.starts == 2
    assert got["ready"] is True and got["joined"] is True
    assert got["cluster_uid"] == _uid(kubeconfig)


class FakeHost:
    """What the provider sees of one machine over SSH, for two edge_node instances (a rename):
    which Node it is joined as; the bundle joins it, the reset empties it. Records what ran
    and fails the test when two runs overlap on it."""

    def __init__(self, kubeconfig, joined):
        self.kubeconfig, self.joined, self.ran, self.busy = kubeconfig, joined, [], False

    def _enter(self, what):
        assert not self.busy, f"{what} while another run is on the host"
        self.busy = True
        self.ran.append(what)
        time.sleep(0.5)

    def bundle(self, host, name, *a, **kw):
        self._enter(("join", name))
        if self.joined is None:
            self.joined = name
            _add_node(self.kubeconfig, name)
        self.busy = False

    def reset(self, diags, current, log):
        self._enter(("reset", current["name"]))
        self.joined = None
        self.busy = False
        return True


def test_a_rename_resets_the_host_before_it_joins_it_again(cluster, tmp_path, monkeypatch):
    kubeconfig, api = cluster
    v1 = k8s.CoreV1Api(api)
    monkeypatch.setenv("EDGE_LOG_DIR", str(tmp_path))
    _add_node(kubeconfig, "old-name")
    fake = FakeHost(kubeconfig, "old-name")
    monkeypatch.setattr(node_host, "joined_as", lambda host: fake.joined)
    monkeypatch.setattr(node_ssh, "run_bundle", fake.bundle)
    monkeypatch.setattr(EdgeNode, "_reset", staticmethod(fake.reset))
    old = state(kubeconfig, "old-name", cluster_uid=_uid(kubeconfig))
    new = state(kubeconfig, "new-name", ready_timeout=10, labels={}, taints=[])
    new["host"] = old["host"]                   # the same machine, a new name
    results, diags = {}, {"create": Diagnostics(), "delete": Diagnostics()}
    # the new one's create starts first: it must wait for the old one's removal
    create = threading.Thread(target=lambda: results.update(create=resource(kubeconfig).create(
        CreateContext(diags["create"], "edge_node"), new)))
    delete = threading.Thread(target=lambda: resource(kubeconfig).delete(
        DeleteContext(diags["delete"], "edge_node"), old))
    create.start()
    time.sleep(0.3)
    delete.start()
    create.join(60)
    delete.join(60)
    assert not any(d.has_errors() for d in diags.values()), \
        messages(diags["create"]) + messages(diags["delete"])
    assert fake.ran == [("reset", "old-name"), ("join", "new-name")]
    names = {n.metadata.name for n in v1.list_node().items}
    assert "new-name" in names and "old-name" not in names
    assert results["create"]["ready"] is True
    v1.delete_node("new-name")


def test_a_host_joined_as_another_node_that_nothing_removes_fails_fast(cluster, tmp_path,
                                                                      monkeypatch):
    kubeconfig, _ = cluster
    monkeypatch.setenv("EDGE_LOG_DIR", str(tmp_path))
    monkeypatch.setattr(node_host, "RENAME_GRACE", 0.3)
    monkeypatch.setattr(node_host, "joined_as", lambda host: "someone-else")
    ran = []
    monkeypatch.setattr(node_ssh, "run_bundle", lambda *a, **kw: ran.append(a))
    diags = Diagnostics()
    got = resource(kubeconfig).create(CreateContext(diags, "edge_node"), state(kubeconfig, "newcomer"))
    text = messages(diags)
    assert got is None and "edge node newcomer: its host is joined as another Node" in text
    assert "joined to the cluster as Node someone-else, not newcomer" in text
    assert "edgeadm reset --force" in text and ran == []


def test_the_delete_of_a_node_whose_host_joined_under_a_new_name_leaves_the_host(
        cluster, tmp_path, monkeypatch):
    kubeconfig, api = cluster
    monkeypatch.setenv("EDGE_LOG_DIR", str(tmp_path))
    _add_node(kubeconfig, "renamed-away")
    monkeypatch.setattr(node_host, "joined_as", lambda host: "its-new-name")
    resets = []
    monkeypatch.setattr(EdgeNode, "_reset", staticmethod(lambda *a: resets.append(a) or True))
    diags = Diagnostics()
    resource(kubeconfig).delete(DeleteContext(diags, "edge_node"), state(kubeconfig, "renamed-away"))
    assert not diags.has_errors(), messages(diags)
    assert resets == []
    assert "renamed-away" not in {n.metadata.name for n in k8s.CoreV1Api(api).list_node().items}
    assert "joined as Node its-new-name now: not reset" in (tmp_path / "renamed-away.log").read_text()


def test_a_cluster_that_is_not_the_one_in_state_is_never_drained(cluster, tmp_path, monkeypatch):
    kubeconfig, api = cluster
    v1 = k8s.CoreV1Api(api)
    monkeypatch.setenv("EDGE_LOG_DIR", str(tmp_path))
    _add_node(kubeconfig, "elsewhere")
    touched = []
    monkeypatch.setattr(EdgeNode, "_reset", staticmethod(lambda *a: touched.append(a) or True))
    monkeypatch.setattr(node_host, "joined_as", lambda host: touched.append(host) or "elsewhere")
    here = _uid(kubeconfig)
    diags = Diagnostics()
    resource(kubeconfig).delete(DeleteContext(diags, "edge_node"),
                          state(kubeconfig, "elsewhere", cluster_uid="0000-other-cluster"))
    text = messages(diags)
    assert diags.has_errors() and "the API server answers for another cluster" in text
    assert here in text and "0000-other-cluster" in text
    assert "Nothing was cordoned, drained, reset or deleted" in text
    node = v1.read_node("elsewhere")                       # untouched
    assert not (node.spec and node.spec.unschedulable) and touched == []
    # read keeps the state as it was, with a warning
    diags = Diagnostics()
    kept = state(kubeconfig, "elsewhere", cluster_uid="0000-other-cluster")
    assert resource(kubeconfig).read(ReadContext(diags, "edge_node"), kept) == kept
    assert "answers for the cluster whose kube-system namespace has UID " + here in messages(diags)
    # the right cluster: the delete goes through
    diags = Diagnostics()
    resource(kubeconfig).delete(DeleteContext(diags, "edge_node"),
                          state(kubeconfig, "elsewhere", cluster_uid=here))
    assert not diags.has_errors(), messages(diags)
    assert "elsewhere" not in {n.metadata.name for n in v1.list_node().items}


def test_a_host_reset_by_hand_with_its_node_kept_plans_a_rejoin(cluster, tmp_path, monkeypatch):
    kubeconfig, api = cluster
    monkeypatch.setenv("EDGE_LOG_DIR", str(tmp_path))
    _add_node(kubeconfig, "wiped", ready=False)
    monkeypatch.setattr(node_host, "joined_as", lambda host: None)      # no kubelet.conf
    diags = Diagnostics()
    seen = resource(kubeconfig).read(ReadContext(diags, "edge_node"), state(kubeconfig, "wiped"))
    assert seen["present"] is True and seen["ready"] is False and seen["joined"] is False
    assert seen["cluster_uid"] == _uid(kubeconfig)
    text = messages(diags)
    assert "edge node wiped: its host is not joined" in text and "joins the host again" in text
    planned = resource(kubeconfig).plan(PlanContext(Diagnostics(), "edge_node", set()), dict(seen),
                                  dict(seen))
    assert planned["joined"] is True                      # an in-place update: false -> true
    assert planned["ready"] is Unknown                    # Ready again only after the join
    # the update runs the bundle although the bundle did not change
    ran = []

    def bundle(host, name, *a, **kw):
        ran.append(name)
        _raw(kubeconfig, "DELETE", "/api/v1/nodes/wiped")
        _add_node(kubeconfig, "wiped", ready=True)          # its kubelet registers again
    monkeypatch.setattr(node_ssh, "run_bundle", bundle)
    diags = Diagnostics()
    got = resource(kubeconfig).update(UpdateContext(diags, "edge_node"), seen, planned)
    assert not diags.has_errors(), messages(diags)
    assert ran == ["wiped"] and got["joined"] is True and got["ready"] is True
    # a NotReady node whose host is still joined as it (a stopped kubelet): no re-join
    monkeypatch.setattr(node_host, "joined_as", lambda host: "wiped")
    _raw(kubeconfig, "DELETE", "/api/v1/nodes/wiped")
    _add_node(kubeconfig, "wiped", ready=False)
    seen = resource(kubeconfig).read(ReadContext(Diagnostics(), "edge_node"), state(kubeconfig, "wiped"))
    assert seen["joined"] is True
    _raw(kubeconfig, "DELETE", "/api/v1/nodes/wiped")


def test_a_kubelet_may_register_and_patch_only_its_own_node(cluster):
    """NodeRestriction (kubernetes v1.22 plugin/pkg/admission/noderestriction): what lets a
    restarted kubelet register its Node again, and nothing else."""
    from simsite.standins import client as raw, pki
    kubeconfig, api = cluster
    kc = pki.parse_kubeconfig(kubeconfig.read_text())
    pki_dir = kubeconfig.parent / "pki"
    cert, key = pki.sign(pki.load_cert((pki_dir / "ca.crt").read_bytes()),
                         pki.load_key((pki_dir / "ca.key").read_bytes()),
                         "system:node:own-node", ["system:nodes"])
    ctx = raw.context(kc["ca"], pki.cert_pem(cert), pki.key_pem(key))
    made = raw.request(kc["server"], "POST", "/api/v1/nodes", ctx, body=_node_obj("own-node"))
    assert made["metadata"]["name"] == "own-node"
    with pytest.raises(raw.APIError) as e:
        raw.request(kc["server"], "POST", "/api/v1/nodes", ctx, body=_node_obj("not-mine"))
    assert e.value.status == 403
    assert 'node "own-node" is not allowed to modify node "not-mine"' in e.value.message
    with pytest.raises(raw.APIError) as e:
        raw.request(kc["server"], "PATCH", "/api/v1/nodes/edge-a", ctx, body={"metadata": {}},
                    content_type="application/merge-patch+json")
    assert e.value.status == 403
    _raw(kubeconfig, "DELETE", "/api/v1/nodes/own-node")


def test_the_reads_of_one_plan_share_one_list_of_the_nodes(cluster, monkeypatch):
    """A plan reads every node of a pool: one provider process asks the API server for the
    Nodes and the cluster's UID once, not once per node."""
    from edge_constructs.terraform.provider import kube
    kubeconfig, _ = cluster
    calls = []
    original = kube.Kube.call
    monkeypatch.setattr(kube.Kube, "call", lambda self, method, path, *a, **kw: (
        calls.append((method, path)), original(self, method, path, *a, **kw))[1])
    r = resource(kubeconfig)
    seen = [r.read(ReadContext(Diagnostics(), "edge_node"), state(kubeconfig, n))
            for n in ("cloud-b", "edge-a", "not-a-node")]
    assert [s is not None for s in seen] == [True, True, False]
    assert calls == [("GET", "/api/v1/namespaces/kube-system"), ("GET", "/api/v1/nodes")], calls
