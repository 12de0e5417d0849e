"""EnsureEdgeComponentsVersion (issue 17): its rendering, and its script against the stand-ins
(a master's API server in a STANDIN_ROOT sandbox holding SuperEdge's workloads): a version
change rolls every workload in order, a missing image stops at its workload naming it and
its pods' state, a second run changes nothing."""
from __future__ import annotations

import dataclasses
import json
import os
import shlex
import subprocess

import pytest
import yaml

from provisioners.core.props import ClusterSpec, Host, InstallPackage, SuperEdge
from provisioners.steps import chains, edge_update
from provisioners.steps.context import MASTER, MASTER0, Context
from provisioners.steps.step import identity_source, prelude
from simsite.standins import rollout
from tests.test_standins import init_phases, kubectl, kubelet_pods, master, pkg, run  # noqa: F401 (fixtures)

M0 = Host("198.18.0.10", name="m0")
M1 = Host("198.18.0.11", name="m1")


class _Creds:
    def __getattr__(self, name):
        return identity_source("id", name)


def spec_for(tmp_path, version="v0.9.0", **kw) -> ClusterSpec:
    pkg_file = tmp_path / "kube-linux-amd64-v1.22.6.tar.gz"
    pkg_file.write_bytes(b"package")
    return ClusterSpec(name="t", masters=(M0, M1), install_package=InstallPackage(
        path=str(pkg_file), sha256="0" * 64), superedge=SuperEdge(version=version), **kw)


def the_step(spec, host=M0, role=MASTER0):
    return edge_update.ensure_edge_components_version(Context(spec=spec, host=host, role=role, creds=_Creds()))


# --- rendering ----------------------------------------------------------------------------

def test_the_step_names_every_workload_in_order_with_its_image(tmp_path):
    step = the_step(spec_for(tmp_path, "v0.8.1"))
    repo = "superedge.tencentcloudcr.com/superedge"
    assert list(step.shown["images"].items()) == [
        ("deployment/tunnel-cloud", f"{repo}/tunnel:v0.8.1"),
        ("daemonset/tunnel-edge", f"{repo}/tunnel:v0.8.1"),
        ("daemonset/edge-health", f"{repo}/edge-health:v0.8.1"),
        ("deployment/edge-health-admission", f"{repo}/edge-health-admission:v0.8.1"),
        ("deployment/application-grid-controller", f"{repo}/application-grid-controller:v0.8.1"),
        ("daemonset/application-grid-wrapper-node", f"{repo}/application-grid-wrapper:v0.8.1"),
        ("deployment/site-manager", f"{repo}/site-manager:v0.8.1"),
        ("daemonset/edge-coredns", f"{repo}/coredns:1.6.9")]     # edgeadm's CoreDNSVersion
    # values reach the script as one quoted assignment; the body holds none of them
    head, body = step.script.split("# SuperEdge's workloads run", 1)
    assert "WORKLOADS='deployment tunnel-cloud tunnel %s/tunnel:v0.8.1\n" % repo in head
    assert "v0.8.1" not in body and repo not in body
    assert "NAMESPACE=edge-system" in head and "TIMEOUT=300" in head


def test_the_step_runs_on_master_0_only_near_the_end_of_the_chain(tmp_path):
    spec = spec_for(tmp_path)
    assert the_step(spec, M1, MASTER) is None
    names = [p.step.name for p in chains.master_chain(Context(spec=spec, host=M0, role=MASTER0, creds=_Creds()))]
    i = names.index("EnsureEdgeComponentsVersion")
    assert names.index("EnsureKubeadmInitPhaseEdgeAppsEdgeCoredns") < names.index("EnsureJoinPreparation") < i
    assert names[i + 1:] == [n for n in names[i + 1:] if "Hook" in n]


def test_a_version_change_changes_no_other_step_of_any_host(tmp_path):
    """Only EnsureEdgeComponentsVersion's fingerprint holds the version: EnsureEdgeAppsManifests
    (which writes it into the manifests of a first deploy) masks it (`Step.settled`)."""
    def fingerprints(spec):
        out = {}
        for host, role in ((M0, MASTER0), (M1, MASTER)):
            for p in chains.master_chain(Context(spec=spec, host=host, role=role, creds=_Creds())):
                out[(host.key, p.step.name)] = (p.step.fingerprint(), p.step.shown)
        from provisioners.steps.context import EDGE
        for p in chains.node_chain(Context(spec=spec, host=Host("127.0.0.1", name="n"), role=EDGE, creds=_Creds())):
            out[("node", p.step.name)] = (p.step.fingerprint(), p.step.shown)
        return out
    old, new = fingerprints(spec_for(tmp_path, "v0.8.1")), fingerprints(spec_for(tmp_path, "v0.9.0"))
    assert [k for k in old if old[k] != new[k]] == [("m0", "EnsureEdgeComponentsVersion")]
    # the image repository too, and edge-kube-proxy's image, which comes from it
    # (EnsureEdgeKubeConfig: create-or-update, a re-run changes nothing else)
    mirror = spec_for(tmp_path, "v0.9.0")
    mirror = dataclasses.replace(mirror, superedge=dataclasses.replace(
        mirror.superedge, image_repository="registry.example.com:5000/superedge"))
    moved = fingerprints(mirror)
    assert [k for k in new if new[k] != moved[k]] == [("m0", "EnsureEdgeKubeConfig"),
                                                      ("m0", "EnsureEdgeComponentsVersion")]
    images = moved[("m0", "EnsureEdgeComponentsVersion")][1]["images"]
    assert images["deployment/tunnel-cloud"] == "registry.example.com:5000/superedge/tunnel:v0.9.0"
    # ...while the manifests of a first deploy do hold the version
    manifests = [p.step for p in chains.master_chain(Context(spec=spec_for(tmp_path, "v0.9.0"), host=M0,
                                                               role=MASTER0, creds=_Creds()))
                 if p.step.name == "EnsureEdgeAppsManifests"][0]
    assert "tunnel:v0.9.0" in manifests.script and manifests.settled[1] == "v0.9.0"
    # and a change of anything else of that script still re-runs it
    other = dataclasses.replace(manifests, script=manifests.script.replace("169.254.20.11", "169.254.20.12"))
    assert other.fingerprint() != manifests.fingerprint()


# --- against the stand-ins ----------------------------------------------------------------

REPO = "superedge.tencentcloudcr.com/superedge"
#: SuperEdge's workloads as edgeadm v0.9.0's manifests make them (kind, name, selector label,
#: container, image name; pkg/edgeadm/constant/manifests/*.go), trimmed to what a rollout reads.
REAL = [("Deployment", "tunnel-cloud", {"app": "tunnel-cloud"}, "tunnel-cloud", "tunnel"),
        ("DaemonSet", "tunnel-edge", {"app": "tunnel-edge"}, "tunnel-edge", "tunnel"),
        ("DaemonSet", "edge-health", {"name": "edge-health"}, "edge-health", "edge-health"),
        ("Deployment", "edge-health-admission", {"app": "edge-health-admission"}, "edge-health-admission",
         "edge-health-admission"),
        ("Deployment", "application-grid-controller", {"app": "application-grid-controller"},
         "application-grid-controller", "application-grid-controller"),
        ("DaemonSet", "application-grid-wrapper-node", {"k8s-app": "application-grid-wrapper-node"},
         "application-grid-wrapper", "application-grid-wrapper"),
        ("Deployment", "site-manager", {"app": "site-manager"}, "site-manager", "site-manager"),
        ("DaemonSet", "edge-coredns", {"k8s-app": "edge-coredns"}, "coredns", "coredns")]


def workloads_yaml(version):
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge-system"}}]
    for name in ("edge-1", "edge-2"):
        docs.append({"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": name, "labels": {"superedge.io/node-edge": "enable"}}})
    for kind, name, sel, container, image in REAL:
        tag = "1.6.9" if image == "coredns" else version
        pod = {"containers": [{"name": container, "image": f"{REPO}/{image}:{tag}"}]}
        if kind == "DaemonSet":
            pod["nodeSelector"] = {"superedge.io/node-edge": "enable"}
        docs.append({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "edge-system"},
                     "spec": {"selector": {"matchLabels": sel},
                              "template": {"metadata": {"labels": sel}, "spec": pod}}})
    return yaml.safe_dump_all(docs)


@pytest.fixture
def cluster(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    rc, out, err = kubectl(b, root, "apply", "-f", "-", stdin=workloads_yaml("v0.8.1"))
    assert rc == 0, err
    return b, root


def images(b, root):
    rc, out, err = kubectl(b, root, "get", "-n", "edge-system", "deployments", "-o", "json")
    assert rc == 0, err
    items = json.loads(out)["items"]
    rc, out, err = kubectl(b, root, "get", "-n", "edge-system", "daemonsets", "-o", "json")
    items += json.loads(out)["items"]
    return {i["metadata"]["name"]: i["spec"]["template"]["spec"]["containers"][0]["image"] for i in items}


def run_step(b, root, tmp_path, step):
    """The step as it runs on master 0 (prelude and body), with the sandbox's stand-ins first
    on PATH and the manifests directory in the sandbox."""
    from provisioners.steps.cluster import EDGE_MANIFESTS_DIR
    result = tmp_path / "EnsureEdgeComponentsVersion.failed"
    script = (prelude(step.name, "m0", str(result)) + step.script).replace(
        "export PATH=", "export PATH=%s:" % shlex.quote(str(b)), 1).replace(
        "MANIFESTS_DIR=%s\n" % EDGE_MANIFESTS_DIR, "MANIFESTS_DIR=%s\n" % shlex.quote(str(root / "manifests")), 1)
    p = subprocess.run(["sh", "-c", script], env=dict(os.environ, STANDIN_ROOT=str(root)),
                       capture_output=True, text=True, timeout=120)
    log = (tmp_path / "EnsureEdgeComponentsVersion.log").read_text()
    return p.returncode, log, p.stderr


def test_a_version_change_rolls_every_workload_in_order_then_changes_nothing(cluster, tmp_path):
    b, root = cluster
    (root / "manifests").mkdir()
    (root / "manifests/tunnel-cloud.yaml").write_text(f"        image: {REPO}/tunnel:v0.8.1\n")
    (root / "manifests/edge-coredns.yaml").write_text(f"        image: {REPO}/coredns:1.6.9\n")
    rc, log, err = run_step(b, root, tmp_path, the_step(spec_for(tmp_path, "v0.9.0")))
    assert rc == 0, log + err
    got = images(b, root)
    assert got == {name: (f"{REPO}/coredns:1.6.9" if image == "coredns" else f"{REPO}/{image}:v0.9.0")
                   for _, name, _, _, image in REAL}
    updated = [l.split(" image updated")[0] for l in log.splitlines() if l.endswith(" image updated")]
    assert updated == ["deployment.apps/tunnel-cloud", "daemonset.apps/tunnel-edge", "daemonset.apps/edge-health",
                       "deployment.apps/edge-health-admission", "deployment.apps/application-grid-controller",
                       "daemonset.apps/application-grid-wrapper-node", "deployment.apps/site-manager"], log
    # each rollout finished before the next workload was touched
    order = [l for l in log.splitlines() if "image updated" in l or "successfully rolled out" in l]
    assert [("updated" in l) for l in order[:4]] == [True, False, True, False], order
    assert 'daemon set "tunnel-edge" successfully rolled out' in log
    assert "deployment/tunnel-cloud: container tunnel-cloud %s/tunnel:v0.8.1 -> %s/tunnel:v0.9.0" % (REPO, REPO) in log
    # every pod runs the new image, ready; the old pods are gone
    rc, out, err = kubectl(b, root, "get", "pods", "-n", "edge-system", "-o", "json")
    pods = json.loads(out)["items"]
    assert len(pods) == 4 + 2 * 4 and all(p["status"]["phase"] == "Running" for p in pods)
    assert not [p for p in pods if "v0.8.1" in p["spec"]["containers"][0]["image"]]
    # the first deploy's manifests name the new images (a later edge-apps run keeps them)
    assert (root / "manifests/tunnel-cloud.yaml").read_text() == f"        image: {REPO}/tunnel:v0.9.0\n"
    assert (root / "manifests/edge-coredns.yaml").read_text() == f"        image: {REPO}/coredns:1.6.9\n"
    (tmp_path / "EnsureEdgeComponentsVersion.log").unlink()
    rc, log, err = run_step(b, root, tmp_path, the_step(spec_for(tmp_path, "v0.9.0")))
    assert rc == 0 and "image updated" not in log and log.count("already runs") == 8, log + err


def test_a_missing_image_stops_at_its_workload_naming_its_pods_state(cluster, tmp_path, monkeypatch):
    b, root = cluster
    missing = f"{REPO}/edge-health:v0.9.0"
    (root / "etc/standins").mkdir(parents=True, exist_ok=True)
    (root / "etc/standins/registry").write_text("\n".join(i for i in rollout.DEFAULT_IMAGES if i != missing) + "\n")
    monkeypatch.setattr(edge_update, "ROLLOUT_TIMEOUT", 3)
    rc, log, err = run_step(b, root, tmp_path, the_step(spec_for(tmp_path, "v0.9.0")))
    assert rc == 1, log + err
    assert "edge component daemonset edge-system/edge-health did not roll out to %s within 3s" % missing in err
    assert "error: timed out waiting for the condition" in err
    assert 'Waiting for daemon set "edge-health" rollout to finish: 1 out of 2 new pods have been updated' in log
    # its pods: one replaced by a new pod that cannot pull, the other still on the old image
    assert "ImagePullBackOff" in err and 'Back-off pulling image "%s"' % missing in err, err
    assert "edge-health:v0.8.1" in err
    assert ("left as they were: deployment/edge-health-admission deployment/application-grid-controller "
            "daemonset/application-grid-wrapper-node deployment/site-manager daemonset/edge-coredns") in err
    got = images(b, root)
    assert got["tunnel-cloud"].endswith(":v0.9.0") and got["tunnel-edge"].endswith(":v0.9.0")
    assert got["edge-health"] == missing
    assert [n for n in ("edge-health-admission", "application-grid-controller", "application-grid-wrapper-node",
                        "site-manager") if got[n].endswith(":v0.8.1")] == [
        "edge-health-admission", "application-grid-controller", "application-grid-wrapper-node", "site-manager"]
    rc, out, _ = kubectl(b, root, "get", "pods", "-n", "edge-system")
    assert "ImagePullBackOff" in out and "Running" in out
    # the image pushed since: the same step goes on from where it stopped
    (root / "etc/standins/registry").unlink()
    (tmp_path / "EnsureEdgeComponentsVersion.log").unlink()
    rc, log, err = run_step(b, root, tmp_path, the_step(spec_for(tmp_path, "v0.9.0")))
    assert rc == 0, log + err
    assert "daemonset/edge-health already runs" in log and "deployment.apps/site-manager image updated" in log


def test_kubectl_set_image_and_rollout_status_as_kubectl_122(cluster):
    b, root = cluster
    rc, out, err = kubectl(b, root, "-n", "edge-system", "set", "image", "deployment/tunnel-cloud", "nope=x:1")
    assert rc == 1 and 'error: unable to find container named "nope"' in err
    rc, out, err = kubectl(b, root, "-n", "edge-system", "set", "image", "deployment/tunnel-cloud",
                           f"tunnel-cloud={REPO}/tunnel:v0.8.1")
    assert rc == 0 and out == "", out      # no change: nothing patched, nothing printed
    rc, out, err = kubectl(b, root, "-n", "edge-system", "set", "image", "deployment/tunnel-cloud",
                           f"tunnel-cloud={REPO}/tunnel:v0.9.9")
    assert rc == 0 and out.strip() == "deployment.apps/tunnel-cloud image updated", out + err
    rc, out, err = kubectl(b, root, "-n", "edge-system", "rollout", "status", "deployment/tunnel-cloud", "--watch=false")
    assert rc == 0 and out.strip() == ('Waiting for deployment "tunnel-cloud" rollout to finish: '
                                       '1 old replicas are pending termination...'), out + err
    rc, out, err = kubectl(b, root, "-n", "edge-system", "rollout", "status", "deploy", "tunnel-cloud", "--timeout=2s")
    assert rc == 1 and err.strip() == "error: timed out waiting for the condition", err
    rc, out, err = kubectl(b, root, "-n", "edge-system", "get", "deploy", "tunnel-cloud", "-o", "json")
    st = json.loads(out)
    assert st["metadata"]["generation"] == 2 and st["status"]["observedGeneration"] == 2
    assert (st["status"]["replicas"], st["status"]["updatedReplicas"], st["status"]["readyReplicas"]) == (2, 1, 1)
    rc, out, err = kubectl(b, root, "-n", "edge-system", "rollout", "status", "daemonset/edge-health")
    assert rc == 0 and out.strip() == 'daemon set "edge-health" successfully rolled out', out + err
    rc, out, err = kubectl(b, root, "-n", "edge-system", "rollout", "status", "configmap/x")
    assert rc == 1


def test_a_deployments_pods_evicted_by_a_drain_come_back_on_a_schedulable_node(cluster):
    """What node removal's drain meets: the controller makes an evicted pod again, never on
    the cordoned node; a DaemonSet's pod stays (drains leave them)."""
    b, root = cluster
    rc, out, err = kubectl(b, root, "apply", "-f", "-", stdin=yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "cloud-0"}}))
    assert rc == 0, err

    def pods_on(node):
        rc, out, err = kubectl(b, root, "get", "pods", "-A", "-o", "json")
        return [p for p in json.loads(out)["items"] if p["spec"].get("nodeName") == node]
    # made before cloud-0 joined, the Deployments' pods run on edge-1 (pods do not move)
    deployed = [p for p in pods_on("edge-1") if p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"]
    assert len(deployed) == 4 and not pods_on("cloud-0")
    rc, out, err = kubectl(b, root, "drain", "edge-1", "--ignore-daemonsets", "--timeout=20s")
    assert rc == 0, out + err
    # evicted, they are made again on a schedulable node, cloud nodes first; DaemonSet pods stay
    assert {p["metadata"]["ownerReferences"][0]["kind"] for p in pods_on("edge-1")} == {"DaemonSet"}
    assert {p["metadata"]["name"] for p in pods_on("cloud-0")} == {p["metadata"]["name"] for p in deployed}
    rc, out, err = kubectl(b, root, "-n", "edge-system", "rollout", "status", "deployment/site-manager")
    assert rc == 0 and "successfully rolled out" in out, out + err
