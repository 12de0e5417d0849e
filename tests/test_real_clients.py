"""Real clients against the stand-in API server: the `kubernetes` Python client and, where the
official `kubectl` binary scripts/bootstrap installs into .venv (tests/real_kubectl.py), both with the admin kubeconfig (real TLS, the cluster CA).

The cluster is the cheapest one that has what the clients read: the stand-in kube-apiserver that
`edgeadm init` phases start in a STANDIN_ROOT sandbox on loopback (as tests/test_standins.py),
and two stand-in kubelets that register and heartbeat their Nodes as kubelet does. No simulated
site, no Terraform.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from simsite.package import build_package
from simsite.standins import client as raw
from simsite.standins import pki
from tests.real_kubectl import VERSION as KUBECTL_VERSION, real_kubectl
from tests.test_standins import CFG, PHASES, free_port, run, start_static_pods, stop_static_pods, wait_healthy

NODES = {"edge-a": "superedge.io/node-edge=enable", "cloud-b": "superedge.io/node-cloud=enable"}
NODE_INFO = ("machine_id", "system_uuid", "boot_id", "kernel_version", "os_image", "container_runtime_version",
             "kubelet_version", "kube_proxy_version", "operating_system", "architecture")


def _serve_cri(path: Path) -> socket.socket:
    """A socket where the kubelet expects containerd's CRI endpoint: the stand-in kubelet only dials it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.listen(16)

    def accept():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()
    threading.Thread(target=accept, daemon=True).start()
    return sock


def flannel_manifest() -> list[dict]:
    """The ConfigMap and DaemonSet of edgeadm v0.9.0's flannel manifest
    (`pkg/edgeadm/constant/manifests/flannel.go`) that the nodes' kubelets act on: the
    DaemonSet's init container `install-cni` copies the ConfigMap's `cni-conf.json` to
    /etc/cni/net.d/10-flannel.conflist; until then every kubelet reports its Node NotReady."""
    conf = {"name": "cbr0", "cniVersion": "0.3.1", "plugins": [
        {"type": "flannel", "delegate": {"hairpinMode": True, "isDefaultGateway": True}},
        {"type": "portmap", "capabilities": {"portMappings": True}}]}
    labels = {"tier": "node", "app": "flannel"}
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "kube-flannel-cfg", "namespace": "kube-system", "labels": labels},
          "data": {"cni-conf.json": json.dumps(conf, indent=2) + "\n",
                   "net-conf.json": json.dumps({"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}})}}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": "kube-flannel-ds", "namespace": "kube-system", "labels": labels},
          "spec": {"selector": {"matchLabels": {"app": "flannel"}},
                   "template": {"metadata": {"labels": labels}, "spec": {
                       "hostNetwork": True, "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
                       "serviceAccountName": "flannel",
                       "initContainers": [{"name": "install-cni", "image": "flannel", "command": ["cp"],
                                           "args": ["-f", "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"],
                                           "volumeMounts": [{"name": "cni", "mountPath": "/etc/cni/net.d"},
                                                            {"name": "flannel-cfg", "mountPath": "/etc/kube-flannel/"}]}],
                       "containers": [{"name": "kube-flannel", "image": "flannel", "command": ["/opt/bin/flanneld"]}],
                       "volumes": [{"name": "cni", "hostPath": {"path": "/etc/cni/net.d"}},
                                   {"name": "flannel-cfg", "configMap": {"name": "kube-flannel-cfg"}}]}}}}
    return [cm, ds]


def _start_kubelet(bindir: Path, root: Path, name: str, label: str) -> subprocess.Popen:
    # The kubelets use the admin kubeconfig: kubelet.conf belongs to the master's node name.
    env = dict(os.environ, STANDIN_ROOT=str(root), STANDIN_KUBELET_HEARTBEAT="1")
    return subprocess.Popen([str(bindir / "kubelet"), "--kubeconfig=/etc/kubernetes/admin.conf", "--container-runtime=remote",
                             "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
                             "--hostname-override=" + name, "--node-ip=127.0.0.1", "--node-labels=" + label],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(kubeconfig path, ApiClient): an API server with two kubelet-registered, Ready nodes."""
    d = tmp_path_factory.mktemp("realclients")
    path, _ = build_package(d)
    tarfile.open(path).extractall(d / "x")
    bindir, root = d / "x" / "edge-install" / "bin", d / "root"
    (root / "etc").mkdir(parents=True)
    port = free_port()
    (d / "cfg.yaml").write_text(CFG % port)
    pods = start_static_pods(bindir, root)   # the control plane's static pods (no kubelet runs them here)
    for phase in PHASES:
        rc, out, err = run(bindir, root, "edgeadm", "init", "phase", *phase.split(), "--config", str(d / "cfg.yaml"))
        assert rc == 0, (phase, out, err)
    wait_healthy("https://127.0.0.1:%d" % port)
    cri = _serve_cri(root / "run/containerd/containerd.sock")
    kubelets = [_start_kubelet(bindir, root, name, label) for name, label in NODES.items()]
    kubeconfig = root / "etc/kubernetes/admin.conf"
    # the nodes are NotReady until flannel's install-cni writes their CNI config (as on a real cluster)
    for obj, plural in zip(flannel_manifest(), ("configmaps", "daemonsets")):
        code, made = _raw(kubeconfig, "POST", ("/api/v1" if plural == "configmaps" else "/apis/apps/v1")
                          + "/namespaces/kube-system/" + plural, obj)
        assert code == 200, made
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    api = k8s.ApiClient(cfg)
    try:
        _wait_ready(k8s.CoreV1Api(api), set(NODES))
        yield kubeconfig, api
    finally:
        for p in kubelets:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
        cri.close()
        stop_static_pods(root, pods)


def _wait_ready(v1: k8s.CoreV1Api, names: set[str]) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        ready = {n.metadata.name for n in v1.list_node().items
                 if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])}
        if names <= ready:
            return
        time.sleep(0.2)
    raise AssertionError("nodes not Ready: %s" % sorted(names - ready))


def _raw(kubeconfig: Path, method: str, path: str, body=None, content_type="application/json"):
    """(status, parsed body) of a request with the admin identity, for answers a typed client hides."""
    kc = pki.parse_kubeconfig(kubeconfig.read_text())
    ctx = raw.context(kc["ca"], kc["cert"], kc["key"])
    try:
        return 200, raw.request(kc["server"], method, path, ctx, body=body, content_type=content_type)
    except raw.APIError as e:
        return e.status, json.loads(e.body)


def _status_of(exc: k8s.ApiException) -> dict:
    st = json.loads(exc.body)
    assert (st["kind"], st["apiVersion"], st["status"], st["code"]) == ("Status", "v1", "Failure", exc.status), st
    return st


# --- the kubernetes client -------------------------------------------------------------------

def test_the_client_deserializes_nodes_as_a_kubelet_reports_them(cluster):
    _, api = cluster
    v1 = k8s.CoreV1Api(api)
    nodes = {n.metadata.name: n for n in v1.list_node().items}
    assert set(nodes) == set(NODES)
    for name in NODES:
        node = v1.read_node(name)  # the typed client validates required fields as it builds the objects
        info = node.status.node_info
        assert all(getattr(info, f) for f in NODE_INFO), info
        assert (info.kubelet_version, info.operating_system, info.architecture) == ("v1.22.6", "linux", "amd64")
        assert info.boot_id == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        assert {(a.type, a.address) for a in node.status.addresses} == {("InternalIP", "127.0.0.1"), ("Hostname", name)}
        assert {"cpu", "memory", "pods", "ephemeral-storage"} <= set(node.status.capacity) <= set(node.status.allocatable)
        assert node.status.daemon_endpoints.kubelet_endpoint.port == 10250
        conds = {c.type: c for c in node.status.conditions}
        assert set(conds) == {"MemoryPressure", "DiskPressure", "PIDPressure", "Ready"}
        assert all(c.reason and c.message and c.last_heartbeat_time and c.last_transition_time for c in conds.values())
        assert node.metadata.labels["kubernetes.io/hostname"] == name
        assert node.metadata.uid and node.metadata.creation_timestamp


def test_discovery_answers_what_clients_ask(cluster):
    _, api = cluster
    assert k8s.VersionApi(api).get_code().git_version == "v1.22.6"
    assert k8s.CoreApi(api).get_api_versions().versions == ["v1"]
    core = {r.name: r for r in k8s.CoreV1Api(api).get_api_resources().resources}
    assert (core["nodes"].kind, core["nodes"].namespaced, core["nodes"].short_names) == ("Node", False, ["no"])
    assert core["pods"].namespaced and "list" in core["pods"].verbs and "watch" not in core["pods"].verbs
    assert (core["pods/eviction"].group, core["pods/eviction"].version, core["pods/eviction"].kind) == ("policy", "v1", "Eviction")
    assert core["nodes/status"].verbs == ["get", "patch", "update"]
    groups = {g.name: g for g in k8s.ApisApi(api).get_api_versions().groups}
    assert {"apps", "policy", "coordination.k8s.io", "rbac.authorization.k8s.io", "apiextensions.k8s.io"} <= set(groups)
    assert groups["apps"].preferred_version.group_version == "apps/v1"
    apps = {r.name for r in k8s.AppsV1Api(api).get_api_resources().resources}
    assert {"deployments", "daemonsets", "statefulsets", "replicasets", "deployments/status"} <= apps
    assert k8s.PolicyApi(api).get_api_group().preferred_version.version == "v1"


def test_label_and_field_selectors_select_on_the_server(cluster):
    _, api = cluster
    v1 = k8s.CoreV1Api(api)

    def names(**kw):
        return sorted(n.metadata.name for n in v1.list_node(**kw).items)

    assert names(label_selector="superedge.io/node-edge=enable") == ["edge-a"]
    assert names(label_selector="superedge.io/node-edge!=enable") == ["cloud-b"]
    assert names(label_selector="superedge.io/node-cloud") == ["cloud-b"]
    assert names(label_selector="!superedge.io/node-cloud") == ["edge-a"]
    assert names(label_selector="kubernetes.io/hostname in (edge-a,nowhere)") == ["edge-a"]
    assert names(label_selector="kubernetes.io/hostname notin (edge-a)") == ["cloud-b"]
    assert names(label_selector="kubernetes.io/os=linux,superedge.io/node-edge=enable") == ["edge-a"]
    assert names(field_selector="metadata.name=cloud-b") == ["cloud-b"]
    v1.patch_node("cloud-b", {"spec": {"unschedulable": True}})  # the client sends a strategic merge patch
    try:
        assert names(field_selector="spec.unschedulable=true") == ["cloud-b"]
        assert names(field_selector="spec.unschedulable!=true,metadata.name!=nowhere") == ["edge-a"]
    finally:
        v1.patch_node("cloud-b", {"spec": {"unschedulable": None}})
    with pytest.raises(k8s.ApiException) as bad:
        v1.list_node(field_selector="status.phase=Running")
    assert (bad.value.status, _status_of(bad.value)["message"]) == (400, "field label not supported: status.phase")
    with pytest.raises(k8s.ApiException) as bad:
        v1.list_node(label_selector="a in b")
    assert bad.value.status == 400 and _status_of(bad.value)["reason"] == "BadRequest"


def _pod(name: str, node: str, app: str = "web") -> k8s.V1Pod:
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name, labels={"app": app}),
                     spec=k8s.V1PodSpec(node_name=node, containers=[k8s.V1Container(name="c", image="nginx")]))


def _eviction(name: str, ns: str) -> k8s.V1Eviction:
    return k8s.V1Eviction(api_version="policy/v1", kind="Eviction", metadata=k8s.V1ObjectMeta(name=name, namespace=ns))


def test_eviction_through_the_client_respects_the_disruption_budget(cluster):
    _, api = cluster
    v1, ns = k8s.CoreV1Api(api), "evict"
    v1.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=ns)))
    for i, node in enumerate(["edge-a", "edge-a", "cloud-b"]):
        v1.create_namespaced_pod(ns, _pod("web-%d" % i, node))
    assert sorted(p.metadata.name for p in v1.list_namespaced_pod(ns, field_selector="spec.nodeName=edge-a").items) == [
        "web-0", "web-1"]
    budget = k8s.V1PodDisruptionBudget(metadata=k8s.V1ObjectMeta(name="web"), spec=k8s.V1PodDisruptionBudgetSpec(
        min_available=3, selector=k8s.V1LabelSelector(match_labels={"app": "web"})))
    k8s.PolicyV1Api(api).create_namespaced_pod_disruption_budget(ns, budget)
    with pytest.raises(k8s.ApiException) as refused:
        v1.create_namespaced_pod_eviction("web-0", ns, _eviction("web-0", ns))
    st = _status_of(refused.value)
    assert (refused.value.status, st["reason"]) == (429, "TooManyRequests")
    assert st["details"]["causes"][0]["reason"] == "DisruptionBudget"
    with pytest.raises(k8s.ApiException) as mismatch:
        v1.create_namespaced_pod_eviction("web-0", ns, _eviction("web-1", ns))
    assert _status_of(mismatch.value)["message"] == "name in URL does not match name in Eviction object"
    k8s.PolicyV1Api(api).delete_namespaced_pod_disruption_budget("web", ns)
    v1.create_namespaced_pod_eviction("web-0", ns, _eviction("web-0", ns))
    with pytest.raises(k8s.ApiException) as gone:
        v1.read_namespaced_pod("web-0", ns)
    assert gone.value.status == 404 and _status_of(gone.value)["message"] == 'pods "web-0" not found'
    with pytest.raises(k8s.ApiException) as again:
        v1.create_namespaced_pod_eviction("web-0", ns, _eviction("web-0", ns))
    assert again.value.status == 404
    v1.delete_collection_namespaced_pod(ns, label_selector="app=web")
    assert v1.list_namespaced_pod(ns).items == []
    v1.create_namespaced_pod(ns, _pod("left", "edge-a"))
    v1.delete_namespace(ns)
    assert v1.list_pod_for_all_namespaces(field_selector="metadata.namespace=" + ns).items == []
    namespaces = {n.metadata.name for n in v1.list_namespace().items}
    assert ns not in namespaces and {"default", "kube-system", "kube-public", "kube-node-lease"} <= namespaces


# --- what the real server refuses, the stand-in refuses --------------------------------------

def test_refusals_are_status_objects_like_the_real_servers(cluster):
    kubeconfig, api = cluster
    v1 = k8s.CoreV1Api(api)
    cases = [
        (lambda: v1.create_node(k8s.V1Node(metadata=k8s.V1ObjectMeta(name="Bad_Name"))), 422, "Invalid",
         'Node "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'),
        (lambda: v1.create_node(k8s.V1Node(metadata=k8s.V1ObjectMeta())), 422, "Invalid",
         'Node "" is invalid: metadata.name: Required value: name or generateName is required'),
        (lambda: v1.create_node(k8s.V1Node(metadata=k8s.V1ObjectMeta(name="edge-a"))), 409, "AlreadyExists",
         'nodes "edge-a" already exists'),
        (lambda: v1.create_namespaced_config_map("nowhere", k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="x"))),
         404, "NotFound", 'namespaces "nowhere" not found'),
        (lambda: v1.delete_namespace("kube-system"), 403, "Forbidden",
         'namespaces "kube-system" is forbidden: this namespace may not be deleted'),
        (lambda: v1.replace_namespaced_config_map("absent", "default", k8s.V1ConfigMap(
            metadata=k8s.V1ObjectMeta(name="absent"))), 404, "NotFound", 'configmaps "absent" not found'),
        (lambda: v1.replace_node("edge-a", k8s.V1Node(metadata=k8s.V1ObjectMeta(name="cloud-b"))), 400, "BadRequest",
         "the name of the object (cloud-b) does not match the name on the URL (edge-a)"),
        (lambda: v1.create_namespaced_config_map("default", k8s.V1ConfigMap(
            metadata=k8s.V1ObjectMeta(name="x", namespace="other"))), 400, "BadRequest",
         "the namespace of the provided object does not match the namespace sent on the request"),
    ]
    for call, code, reason, message in cases:
        with pytest.raises(k8s.ApiException) as caught:
            call()
        st = _status_of(caught.value)
        assert (caught.value.status, st["reason"]) == (code, reason) and st["message"].startswith(message), st
    raw_cases = [
        ("GET", "/apis/apps/v1/namespaces/default/frobnicators", None, "application/json", 404, "NotFound"),
        ("GET", "/api/v1/namespaces/default/nodes", None, "application/json", 404, "NotFound"),
        ("GET", "/api/v1/pods/web-1", None, "application/json", 404, "NotFound"),
        ("GET", "/api/v1/nodes/edge-a/proxy", None, "application/json", 404, "NotFound"),
        ("POST", "/api/v1/namespaces/default/configmaps", {"apiVersion": "apps/v1", "kind": "ConfigMap",
                                                           "metadata": {"name": "y"}}, "application/json", 400, "BadRequest"),
        ("POST", "/api/v1/namespaces/default/configmaps", {"apiVersion": "v1", "kind": "Secret",
                                                           "metadata": {"name": "y"}}, "application/json", 400, "BadRequest"),
        ("PATCH", "/api/v1/nodes/edge-a", {"metadata": {"labels": {"a": "b"}}}, "application/json", 415, "UnsupportedMediaType"),
        ("PATCH", "/api/v1/nodes/edge-a", {"metadata": {"labels": {"a": "b"}}}, "application/apply-patch+yaml", 415,
         "UnsupportedMediaType"),
        ("PATCH", "/apis/apps/v1/namespaces/default/deployments/absent", {}, "application/merge-patch+json", 404, "NotFound"),
        ("POST", "/api/v1/namespaces", {"metadata": {"name": "x"}}, "application/vnd.kubernetes.protobuf", 415,
         "UnsupportedMediaType"),
        ("GET", "/api/v1/nodes?watch=true", None, "application/json", 405, "MethodNotAllowed"),
    ]
    for method, path, body, ctype, code, reason in raw_cases:
        status, st = _raw(kubeconfig, method, path, body, ctype)
        assert (status, st["kind"], st["status"], st["reason"], st["code"]) == (code, "Status", "Failure", reason, code), (path, st)
    assert "a" not in v1.read_node("edge-a").metadata.labels


def test_patches_by_content_type_and_the_status_subresource(cluster):
    kubeconfig, api = cluster
    v1 = k8s.CoreV1Api(api)
    status, _ = _raw(kubeconfig, "PATCH", "/api/v1/nodes/edge-a", [
        {"op": "add", "path": "/metadata/labels/team", "value": "blue"}], "application/json-patch+json")
    assert status == 200 and v1.read_node("edge-a").metadata.labels["team"] == "blue"
    v1.patch_node("edge-a", {"metadata": {"labels": {"team": None}}})
    assert "team" not in v1.read_node("edge-a").metadata.labels
    # a write to the resource leaves the status alone; the status subresource changes only it
    before = v1.read_node("edge-a")
    v1.patch_node("edge-a", {"status": {"nodeInfo": {"kubeletVersion": "v9.9.9"}}})
    assert v1.read_node("edge-a").status.node_info.kubelet_version == "v1.22.6"
    v1.patch_node_status("edge-a", {"metadata": {"labels": {"via-status": "x"}},
                                    "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                                               "message": "merged by type"}]}})
    after = v1.read_node("edge-a")
    assert "via-status" not in after.metadata.labels
    assert {c.type for c in after.status.conditions} == {c.type for c in before.status.conditions}  # merged on `type`


# --- a real kubectl -----------------------------------------------------------------------------

def _kubectl(kubeconfig: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([real_kubectl(), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, HOME=str(cache)))


def test_a_real_kubectl_reads_and_drains_the_cluster(cluster, tmp_path):
    kubeconfig, api = cluster
    p = _kubectl(kubeconfig, tmp_path, "version", "-o", "json")
    assert p.returncode == 0, p.stderr
    versions = json.loads(p.stdout)
    assert versions["serverVersion"]["gitVersion"] == "v1.22.6"
    assert versions["clientVersion"]["gitVersion"] == "v" + KUBECTL_VERSION
    p = _kubectl(kubeconfig, tmp_path, "get", "nodes", "-o", "wide")
    assert p.returncode == 0, p.stderr
    header, *rows = p.stdout.splitlines()
    assert header.split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
                              "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert sorted((r.split()[0], r.split()[1], r.split()[4], r.split()[5]) for r in rows) == [
        ("cloud-b", "Ready", "v1.22.6", "127.0.0.1"), ("edge-a", "Ready", "v1.22.6", "127.0.0.1")]
    p = _kubectl(kubeconfig, tmp_path, "get", "nodes", "-l", "superedge.io/node-edge=enable", "-o", "name")
    assert (p.returncode, p.stdout.split()) == (0, ["node/edge-a"]), p.stderr
    p = _kubectl(kubeconfig, tmp_path, "get", "no", "--field-selector", "spec.nodeName=x")
    assert p.returncode == 1 and "field label not supported: spec.nodeName" in p.stderr
    p = _kubectl(kubeconfig, tmp_path, "api-resources")
    assert p.returncode == 0, p.stderr
    resources = {line.split()[0]: line.split() for line in p.stdout.splitlines()[1:]}
    assert resources["nodes"] == ["nodes", "no", "v1", "false", "Node"]
    assert resources["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    v1, ns = k8s.CoreV1Api(api), "drain"
    v1.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=ns)))
    for name, node in (("keep", "cloud-b"), ("move", "edge-a")):
        v1.create_namespaced_pod(ns, k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name=name, owner_references=[k8s.V1OwnerReference(
                api_version="apps/v1", kind="ReplicaSet", name="rs", uid="1", controller=True)]),
            spec=k8s.V1PodSpec(node_name=node, containers=[k8s.V1Container(name="c", image="nginx")])))
    p = _kubectl(kubeconfig, tmp_path, "drain", "edge-a", "--ignore-daemonsets", "--timeout=30s")
    assert p.returncode == 0 and "node/edge-a cordoned" in p.stdout and "pod/move evicted" in p.stdout, p.stdout + p.stderr
    assert [x.metadata.name for x in v1.list_namespaced_pod(ns).items] == ["keep"]
    p = _kubectl(kubeconfig, tmp_path, "get", "node", "edge-a")
    assert p.stdout.splitlines()[1].split()[1] == "Ready,SchedulingDisabled"
    p = _kubectl(kubeconfig, tmp_path, "uncordon", "edge-a")
    assert p.returncode == 0 and not v1.read_node("edge-a").spec.unschedulable, p.stderr


def test_without_the_bootstraps_kubectl_the_check_fails_never_skips(tmp_path, monkeypatch):
    # a machine's own kubectl on PATH does not count: only .venv's, beside the interpreter
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    with pytest.raises(pytest.fail.Exception, match=r"no kubectl at .*: run sh scripts/bootstrap"):
        real_kubectl()
