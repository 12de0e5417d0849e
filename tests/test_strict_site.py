"""The simulated site refuses what real hosts refuse: a kubelet started by systemctl from the
unit files the chain writes, that parses its flags, needs its CRI socket and registers its
own Node; kubeadm's configuration decoded with kubeadm's types. The chains run through the
SSH runner (as Terraform runs them, without Terraform)."""
from __future__ import annotations

import json
import time

import pytest

from provisioners.core.errors import StepFailed
from provisioners.core.props import ClusterSpec, Host, InstallPackage
from provisioners.ssh.runner import Connection, run_step
from provisioners.steps import chains, cluster as cluster_steps
from provisioners.steps.context import EDGE, MASTER0, Context
from provisioners.steps.chains import Placed
from simsite.fixtures import require_site_prerequisites
from simsite.package import build_package, host_tools_dir
from simsite.identity import new_identity_files
from simsite.site import Site

pytestmark = pytest.mark.site
KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf"


def as_host(h) -> Host:
    return Host(h.address, port=h.port, user=h.user, private_key_file=h.private_key_file,
                host_key=h.host_public_key, name=h.name)


def run_steps(placed, log=None):
    """Run placed steps in order, each on its host."""
    out = []
    for p in placed:
        with Connection(p.host) as conn:
            out.append(run_step(conn, p.step, log=(log.append if log is not None else (lambda *_: None))))
    return out


def wait_for(what, check, limit=90.0):
    """Poll `check` until it returns a true value; fail naming `what` (not a timing assertion:
    the limit only stops a test that would otherwise hang)."""
    deadline = time.monotonic() + limit
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.5)


class Cluster:
    def __init__(self, site, work, pkg, sha):
        self.site, self.work = site, work
        self.hosts = [as_host(h) for h in site.hosts]
        self.master = self.hosts[0]
        self.spec = ClusterSpec(name="strict", masters=(self.master,),
                                install_package=InstallPackage(path=str(pkg), sha256=sha))
        self.creds = new_identity_files(work / "creds", endpoint=self.spec.endpoint, cluster_name="strict")

    def ctx(self, host, role) -> Context:
        return Context(spec=self.spec, host=host, role=role, creds=self.creds)

    def master_chain(self):
        return chains.master_chain(self.ctx(self.master, MASTER0))

    def join(self, host, **node):
        """The node chain over the runner, then what the `edge_node` resource does by API:
        wait for Ready, set labels, taints and the node unit."""
        results = run_steps(chains.node_chain(self.ctx(host, EDGE)))
        from tf.utils import Diagnostics
        from edge_constructs.terraform.provider.node_resource import EdgeNode
        from edge_constructs.terraform.provider.provider import ClusterAccess, EdgeProvider
        _, kubeconfig, _ = self.sh(self.master, "cat /etc/kubernetes/admin.conf")
        diags = Diagnostics()
        provider = EdgeProvider()
        provider.access = ClusterAccess("strict", kubeconfig, None)
        state = {"name": host.key, "ready_timeout": 60,
                 "labels": node.get("labels"), "taints": list(node.get("taints", ())) or None,
                 "node_unit": node.get("node_unit")}
        assert EdgeNode(provider)._converge(diags, state, None) is not None, str(diags)
        return results

    def sh(self, host, cmd, timeout=60):
        return self.site.ssh(host.name, cmd, timeout=timeout)

    def node(self, name):
        rc, out, err = self.sh(self.master, f"{KUBECTL} get node {name} -o json")
        return json.loads(out) if rc == 0 else None

    def ready(self, name):
        n = self.node(name)
        conds = {c["type"]: c["status"] for c in (n or {}).get("status", {}).get("conditions", [])}
        return conds.get("Ready")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_site_prerequisites()
    work = tmp_path_factory.mktemp("strict")
    pkg, sha = build_package(work / "pkg")
    with Site(n=4, host_tools=host_tools_dir(work / "tools")) as s:
        c = Cluster(s, work, pkg, sha)
        run_steps(c.master_chain())
        yield c


def test_the_kubelet_registers_master_0_with_the_flags_kubeadm_wrote(site):
    rc, flags, _ = site.sh(site.master, "cat /var/lib/kubelet/kubeadm-flags.env")
    assert "--node-labels=superedge.io/node-cloud=enable" in flags
    assert "--container-runtime-endpoint=/run/containerd/containerd.sock" in flags
    rc, active, _ = site.sh(site.master, "systemctl is-active kubelet containerd")
    assert active.split() == ["active", "active"]
    node = site.node("h0")
    labels = node["metadata"]["labels"]
    assert labels["superedge.io/node-cloud"] == "enable"            # from --node-labels
    assert labels["kubernetes.io/hostname"] == "h0"                 # kubelet's own label
    assert "node-role.kubernetes.io/control-plane" in labels         # mark-control-plane's patch
    assert {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"} in node["spec"]["taints"]
    info = node["status"]["nodeInfo"]
    assert set(info) == {"machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
                         "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture"}
    assert info["kubeletVersion"] == "v1.22.6" and info["containerRuntimeVersion"].startswith("containerd://")
    # Ready once flannel's DaemonSet (the chain's cni phase) had its install-cni write the CNI config
    wait_for("h0 to be Ready", lambda: site.ready("h0") == "True")
    rc, conf, _ = site.sh(site.master, "cat /etc/cni/net.d/10-flannel.conflist")
    assert rc == 0 and json.loads(conf)["plugins"][0]["type"] == "flannel"


def test_an_edge_node_joins_through_its_own_kubelet_and_gets_its_node_unit(site):
    h1 = site.hosts[1]
    site.join(h1, labels={"site": "a"}, node_unit="unit-a")
    node = site.node("h1")
    assert node["metadata"]["labels"]["superedge.io/node-edge"] == "enable"
    assert node["metadata"]["labels"]["unit-a"] == "nodeunits.superedge.io"
    assert node["metadata"]["annotations"]["kubeadm.alpha.kubernetes.io/cri-socket"] == "/run/containerd/containerd.sock"
    assert site.ready("h1") == "True"
    rc, out, err = site.sh(site.master, f"{KUBECTL} get nodeunits unit-a -o json")
    assert rc == 0, err
    assert json.loads(out)["spec"]["selector"]["matchLabels"] == {"unit-a": "nodeunits.superedge.io"}


def test_a_node_stopped_on_its_host_becomes_not_ready_and_comes_back(site):
    h1 = site.hosts[1]
    site.join(h1, labels={"site": "a"}, node_unit="unit-a")   # idempotent: already joined
    # kube-controller-manager's --node-monitor-grace-period, shortened for the test
    assert site.sh(site.master, "mkdir -p /etc/standins && echo 8s > /etc/standins/node-monitor-grace-period")[0] == 0
    try:
        assert site.sh(h1, "systemctl stop kubelet")[0] == 0
        wait_for("h1 to turn NotReady", lambda: site.ready("h1") == "Unknown")
        n = site.node("h1")
        ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"][0]
        assert ready["reason"] == "NodeStatusUnknown" and ready["message"] == "Kubelet stopped posting node status."
        rc, table, _ = site.sh(site.master, f"{KUBECTL} get nodes")
        assert [line.split()[1] for line in table.splitlines() if line.startswith("h1 ")] == ["NotReady"]
        assert site.sh(h1, "systemctl start kubelet")[0] == 0
        wait_for("h1 to be Ready again", lambda: site.ready("h1") == "True")
    finally:
        site.sh(site.master, "rm -f /etc/standins/node-monitor-grace-period")
        site.sh(h1, "systemctl start kubelet")


def test_a_node_deleted_while_its_kubelet_runs_is_registered_again_only_after_a_restart(site):
    h1 = site.hosts[1]
    site.join(h1, labels={"site": "a"}, node_unit="unit-a")
    assert site.sh(site.master, f"{KUBECTL} delete node h1")[0] == 0
    # kubelet 1.22 (kubernetes issue 71398): the running kubelet keeps failing its status
    # updates and never registers again. Two failed updates prove it kept running.
    wait_for("two failed status updates", lambda: site.sh(h1, "journalctl -u kubelet")[1].count(
        'nodes \\"h1\\" not found') >= 2)
    assert site.node("h1") is None
    assert site.sh(h1, "systemctl restart kubelet")[0] == 0
    wait_for("h1 registered again", lambda: site.node("h1") is not None)


@pytest.mark.parametrize("case", ["malformed label", "unknown flag", "no CRI socket"])
def test_a_kubelet_that_kubelet_would_refuse_does_not_start_and_says_why(site, case):
    h1 = site.hosts[1]
    site.join(h1, labels={"site": "a"}, node_unit="unit-a")
    setup, expect = {
        "malformed label": ("echo 'KUBELET_EXTRA_ARGS=\"--node-labels=superedge.io/node-cloud: enable\"' > /etc/sysconfig/kubelet",
                            'invalid argument \\"superedge.io/node-cloud:\\" for \\"--node-labels\\" flag: malformed pair, expect string=string'),
        "unknown flag": ("echo 'KUBELET_EXTRA_ARGS=--frobnicate=1' > /etc/sysconfig/kubelet",
                         "unknown flag: --frobnicate"),
        "no CRI socket": ("systemctl stop containerd",
                          "dial unix /run/containerd/containerd.sock: connect: no such file or directory"),
    }[case]
    try:
        assert site.sh(h1, setup)[0] == 0
        rc, out, err = site.sh(h1, "systemctl restart kubelet")
        assert rc == 1 and "Job for kubelet.service failed" in err
        rc, state, _ = site.sh(h1, "systemctl is-active kubelet")
        assert (rc, state.strip()) == (3, "failed")
        rc, journal, _ = site.sh(h1, "journalctl -u kubelet -n 5")
        assert expect in journal
    finally:
        site.sh(h1, "echo KUBELET_EXTRA_ARGS= > /etc/sysconfig/kubelet; systemctl start containerd; systemctl restart kubelet")
    assert site.sh(h1, "systemctl is-active kubelet")[1].strip() == "active"


@pytest.mark.parametrize("extra, why", [
    ('"--node-labels=superedge.io/node-cloud: enable"', "malformed pair, expect string=string"),
    ("--frobnicate=1", "unknown flag: --frobnicate"),
    ("--container-runtime-endpoint=/run/nowhere.sock", "dial unix /run/nowhere.sock: connect: no such file or directory"),
], ids=["malformed label", "unknown flag", "no CRI socket"])
def test_the_kubelet_start_step_says_why_the_kubelet_did_not_start(site, extra, why):
    # A fresh master of another cluster whose kubelet settings break the kubelet (a drop-in of
    # the operator's: EnsureKubeletUnit rewrites /etc/sysconfig/kubelet as edgeadm does).
    h3 = site.hosts[3]
    spec = ClusterSpec(name="other", masters=(h3,), install_package=site.spec.install_package)
    creds = new_identity_files(site.work / "creds-other", endpoint=spec.endpoint, cluster_name="other")
    ctx = Context(spec=spec, host=h3, role=MASTER0, creds=creds)
    assert site.sh(h3, "mkdir -p /etc/systemd/system/kubelet.service.d && printf '[Service]\\nEnvironmentFile=/etc/kubelet-extra\\n'"
                       " > /etc/systemd/system/kubelet.service.d/20-extra.conf")[0] == 0
    assert site.sh(h3, f"echo 'KUBELET_EXTRA_ARGS={extra}' > /etc/kubelet-extra")[0] == 0
    steps = chains.master_chain(ctx)
    upto = [p.step.name for p in steps].index("EnsureKubeadmInitPhaseKubeletStart") + 1
    with pytest.raises(StepFailed) as caught:
        run_steps(steps[:upto])
    err = caught.value
    assert err.step == "EnsureKubeadmInitPhaseKubeletStart" and err.host == "h3"
    assert "the kubelet is not running" in str(err)
    assert why in str(err)


def test_a_node_joins_after_its_token_expired_once_join_preparation_runs_again(site):
    h2 = site.hosts[2]
    token_id = site.creds.values["bootstrap_token"].split(".")[0]
    # What kube-controller-manager's tokencleaner does once the token has expired.
    rc, out, err = site.sh(site.master, f"edgeadm token delete {token_id}")
    assert rc == 0, err
    with pytest.raises(StepFailed) as caught:
        site.join(h2)
    assert caught.value.step == "EnsureJoinNode"
    assert f'could not find a JWS signature in the cluster-info ConfigMap for token ID "{token_id}"' in str(caught.value)
    # `terraform apply -replace` of the master's EnsureJoinPreparation (DESIGN_NOTES.md):
    prep = cluster_steps.ensure_join_preparation(site.ctx(site.master, MASTER0))
    run_steps([Placed(site.master, prep)])
    rc, listed, _ = site.sh(site.master, "edgeadm token list")
    assert token_id in listed
    site.join(h2)
    assert site.ready("h2") == "True"
