"""EdgeCluster end to end: real cdktf, real Terraform, real SSH, on a simulated site."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from simsite import tf
from simsite.package import build_package, host_tools_dir, place_package
from simsite.site import Site
from tests import plan as judged
from tests.real_kubectl import real_kubectl

pytestmark = pytest.mark.site
REPO = Path(__file__).resolve().parents[1]
APP = REPO / "tests" / "apps" / "cluster_app.py"
KUBECTL = "kubectl --kubeconfig /etc/kubernetes/admin.conf"
#: quickstart's master 0 and joining node call themselves otherwise than the inventory does:
#: the Nodes are named after the inventory (edge-apps runs under `unshare --uts` with the node
#: name as host name, issue 16 finding 7).
HOSTNAMES = {"h0": "cloud-master-a", "h1": "edge-box-1"}


def ledger(site: Site, host, tool: str = "edgeadm") -> list[dict]:
    rc, out, _ = site.ssh(host, "cat /var/log/standins/ledger.jsonl 2>/dev/null || true")
    return [e for e in map(json.loads, out.splitlines()) if e["tool"] == tool]


def node_names(site: Site, master) -> set[str]:
    rc, out, err = site.ssh(master, f"{KUBECTL} get nodes -o name")
    assert rc == 0, err
    return {line.split("/", 1)[1] for line in out.split()}


def write_spec(work: Path, site: Site, pkg: Path, sha: str, masters: int = 1, ha=None) -> Path:
    site.write_inventory(work / "inventory.json")
    spec = json.loads((work / "inventory.json").read_text())
    spec.update(masters=masters, package={"path": str(pkg), "sha256": sha},
                workdir=str(work), ha=ha)
    path = work / "spec.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    d = tmp_path_factory.mktemp("pkg")
    pkg, sha = build_package(d)
    return pkg, sha, host_tools_dir(d / "tools")


# --- one master through `cdktf deploy` of examples/quickstart (the README's path) -----------

@pytest.fixture(scope="module")
def quickstart(package, tmp_path_factory):
    pkg, sha, tools = package
    work = tmp_path_factory.mktemp("quickstart")
    # host names that are not the inventory names (a real site's machines have their own):
    # the chain names the Nodes after the inventory, the kubelet gets --hostname-override
    with Site(n=3, host_tools=tools, hostnames=HOSTNAMES) as site:
        site.write_inventory(work / "inventory.json")
        inv = json.loads((work / "inventory.json").read_text())
        inv["install_package"] = {"path": str(pkg), "sha256": sha}
        (work / "inventory.json").write_text(json.dumps(inv))
        env = {"EDGE_WORKDIR": str(work), "EDGE_INVENTORY": str(work / "inventory.json")}
        with tf.umask(0o022):  # a machine's usual: the modes checked are the product's doing
            deploy = tf.cdktf(["deploy", "--auto-approve", "--output", str(work / "cdktf.out"),
                               "--outputs-file", str(work / "outputs.json"),
                               "--outputs-file-include-sensitive-outputs"], extra_env=env).check()
        outputs = json.loads((work / "outputs.json").read_text())["quickstart"]["edge"]
        yield site, work, env, deploy, outputs


def test_cdktf_deploy_brings_up_master_and_prints_the_join_command(quickstart):
    site, work, _, deploy, out = quickstart
    assert "Apply complete!" in deploy.output
    # the edge provider came from beside the stack: no download, no warning about it or the lock.
    # Judged by what init installed, not by its text: cdktf points TF_PLUGIN_CACHE_DIR at a
    # per-user cache, so init says "Installed" or "Using ... from the shared cache directory"
    # depending on what an earlier run on the machine left there.
    providers = work / "cdktf.out" / "stacks" / "quickstart" / ".terraform" / "providers"
    assert [p.name for p in providers.iterdir()] == ["edge-constructs.local"]
    (launcher,) = (providers / "edge-constructs.local/edge-constructs/edge").glob("*/*/terraform-provider-edge_v*")
    assert f"'{REPO}'" in launcher.read_text()      # this checkout's provider, whatever the cache held
    assert not re.search(r"Warning:|Incomplete lock file", deploy.output), deploy.output
    token = re.search(r"--token (\S+)", out["edge_join_command"]).group(1)
    assert re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", token)
    assert token.split(".")[1] not in deploy.output  # logs mask the token
    assert not (work / ".edge-credentials").exists()  # the identity lives in state
    assert (work / "terraform.quickstart.tfstate").stat().st_mode & 0o777 == 0o600
    assert out["edge_join_command"] == (
        f"edgeadm join {site.hosts[0].address}:6443 --token {token} "
        f"--discovery-token-ca-cert-hash {out['edge_ca_cert_hash']} "
        "--install-pkg-path /var/lib/edge_constructs/pkg/kube-linux-amd64-v1.22.6.tar.gz "
        "--enable-edge=true")
    assert out["edge_api_server_endpoint"] == f"{site.hosts[0].address}:6443"
    assert "client-certificate-data" in out["edge_kubeconfig"]
    # edgeadm ran phase by phase, init-node and container never (offline-safe).
    phases = [e["phase"] for e in ledger(site, site.hosts[0]) if e["argv"][:2] == ["init", "phase"]]
    assert phases[0].startswith("init/preflight") and any(p.startswith("init/edge-apps") for p in phases)
    assert not any("init-node" in p or p.startswith("init/container") for p in phases)
    assert node_names(site, site.hosts[0]) >= {"h0"}
    rc, master, _ = site.ssh(site.hosts[0], f"{KUBECTL} get node h0 -o json")
    master = json.loads(master)
    assert master["metadata"]["labels"]["kubernetes.io/hostname"] == "h0"
    assert [c["status"] for c in master["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
    # master 0's host name is not its node name: every Node-naming path took the node name
    assert site.ssh(site.hosts[0], "hostname")[1].strip() == "cloud-master-a"
    assert "cloud-master-a" not in node_names(site, site.hosts[0])
    assert master["metadata"]["labels"]["superedge.io/node-cloud"] == "enable"
    assert master["metadata"]["labels"]["superedge.io.hostname"] == "h0"   # edge-coredns' label


def kget(site: Site, *args) -> dict:
    rc, out, err = site.ssh(site.hosts[0], f"{KUBECTL} get {' '.join(args)} -o json")
    assert rc == 0, err
    return json.loads(out)


def test_update_configs_work_is_done_with_our_values(quickstart):
    """EnsureEdgeKubeConfig did what edgeadm's hidden update-config does
    (pkg/edgeadm/common/update_config.go), with the cluster's values."""
    site, *_ = quickstart
    cm = kget(site, "configmap -n edge-system edge-kube-proxy")["data"]
    assert "server: http://127.0.0.1:51006" in cm["kubeconfig.conf"]
    assert cm["config.conf"] == kget(site, "configmap -n kube-system kube-proxy")["data"]["config.conf"]
    kget(site, "serviceaccount -n edge-system kube-proxy")
    pod = kget(site, "daemonset -n edge-system edge-kube-proxy")["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "superedge.tencentcloudcr.com/superedge/kube-proxy:v1.22.6"
    assert {v["name"]: v.get("configMap", {}).get("name") for v in pod["volumes"]}["kube-proxy"] == "edge-kube-proxy"
    terms = lambda ps: ps["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0]
    assert terms(pod) == {"key": "superedge.io/node-edge", "operator": "Exists"}
    cloud = kget(site, "daemonset -n kube-system kube-proxy")["spec"]["template"]["spec"]
    assert terms(cloud) == {"key": "superedge.io/node-edge", "operator": "DoesNotExist"}
    local = {"superedge.io/local-port": "51003", "superedge.io/local-endpoint": "169.254.20.11"}
    assert kget(site, "endpoints -n default kubernetes")["metadata"]["annotations"] == local
    assert kget(site, "endpointslices -n default kubernetes")["metadata"]["annotations"] == local
    assert not kget(site, "endpoints -n default kubernetes-no-edge")["metadata"].get("annotations")
    info = kget(site, "configmap -n kube-public cluster-info")["data"]["kubeconfig"]
    assert f"server: https://{site.hosts[0].address}:6443" in info
    assert kget(site, "configmap -n kube-system cluster-info-no-edge")["data"]["kubeconfig"] == info


def test_the_join_command_from_the_output_joins_a_fresh_host(quickstart, package):
    site, _, _, _, out = quickstart
    node = site.hosts[1]
    place_package(site, node, package[0], "/var/lib/edge_constructs/pkg/kube-linux-amd64-v1.22.6.tar.gz")
    # The site is offline: edgeadm's apt-based init-node phase fails there, as it does for real.
    rc, o, e = site.ssh(node, out["edge_join_command"] + " --node-name h1", timeout=120)
    assert rc != 0 and "init-node" in e + o
    rc, o, e = site.ssh(node, out["edge_join_command"] + " --node-name h1 --skip-phases=init-node",
                        timeout=120)
    assert rc == 0, o + e
    assert "h1" in node_names(site, site.hosts[0])
    rc, labels, _ = site.ssh(site.hosts[0], f"{KUBECTL} get node h1 -o json")
    assert json.loads(labels)["metadata"]["labels"]["superedge.io/node-edge"] == "enable"
    assert site.ssh(node, "hostname")[1].strip() == "edge-box-1"
    assert json.loads(labels)["metadata"]["labels"]["kubernetes.io/hostname"] == "h1"


@pytest.mark.parametrize("bad", ["token", "hash"])
def test_join_fails_with_a_wrong_token_or_hash(quickstart, package, bad):
    site, _, _, _, out = quickstart
    node = site.hosts[2]
    place_package(site, node, package[0], "/var/lib/edge_constructs/pkg/kube-linux-amd64-v1.22.6.tar.gz")
    cmd = out["edge_join_command"] + " --node-name h2 --skip-phases=init-node"
    token = re.search(r"--token (\S+)", cmd).group(1)
    if bad == "token":
        cmd = cmd.replace(token, token.split(".")[0] + ".0000000000000000")
        expect = "failed to verify JWS signature"
    else:
        cmd = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, cmd)
        expect = "none of the public keys"
    rc, o, e = site.ssh(node, cmd, timeout=120)
    assert rc != 0 and expect in o + e
    assert "h2" not in node_names(site, site.hosts[0])


def test_real_clients_read_the_cluster_with_the_kubeconfig_output(quickstart, tmp_path):
    """The `kubernetes` client and the machine's kubectl, with the kubeconfig users get from the
    outputs (the operator's side of the site's bridge); more in tests/test_real_clients.py."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    site, _, _, _, out = quickstart
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(out["edge_kubeconfig"])
    kubeconfig.chmod(0o600)
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    master = k8s.CoreV1Api(k8s.ApiClient(cfg)).read_node("h0")
    assert master.status.node_info.kubelet_version == "v1.22.6" and master.status.node_info.boot_id
    assert {(a.type, a.address) for a in master.status.addresses} >= {("InternalIP", site.hosts[0].address)}
    p = subprocess.run([real_kubectl(), "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"), "get", "nodes",
                        "-l", "node-role.kubernetes.io/control-plane", "-o", "wide"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    row = p.stdout.splitlines()[1].split()
    assert (row[0], row[2], row[4], row[5]) == ("h0", "control-plane,master", "v1.22.6", site.hosts[0].address), p.stdout


def test_a_second_deploy_changes_nothing(quickstart):
    site, work, env, _, _ = quickstart
    stack = work / "cdktf.out" / "stacks" / "quickstart"
    tf.cdktf(["synth", "--output", str(work / "cdktf.out")], extra_env=env).check()
    plan = judged.plan(stack)
    # No resource changes. The status outputs are what the API server reports now: the host
    # an earlier test joined with the join command (outside Terraform) shows in edge_nodes,
    # and the DaemonSets' pods on it in edge_edge_components (the stand-in API server's
    # rollout model), so the plan may report exactly those outputs as changed (exit code 2).
    judged.assert_no_change(plan, outputs=("edge_nodes", "edge_edge_components"))


def test_destroy_resets_the_master(quickstart):
    site, work, env, _, _ = quickstart
    tf.cdktf(["destroy", "--auto-approve", "--output", str(work / "cdktf.out")], extra_env=env).check()
    for gone in ("/etc/kubernetes", "/var/lib/edge_constructs"):
        rc, _, _ = site.ssh(site.hosts[0], f"test -e {gone}")
        assert rc == 1, f"{gone} is still on the master"
    assert any(e["argv"][:2] == ["reset", "--force"] for e in ledger(site, site.hosts[0]))
    # reset means reset: nothing the chain installed is left
    assert left_installed(site, site.hosts[0]) == []


#: What the master chain installs (binaries, units, runtime config, settings files, package).
INSTALLED = ["/usr/local/bin/edgeadm", "/usr/bin/kubelet", "/usr/bin/conntrack",
             "/usr/local/sbin/containerd", "/usr/local/sbin/ctr", "/usr/local/sbin/runc",
             "/usr/local/sbin/crictl", "/etc/crictl.yaml",
             "/opt/cni/bin/bridge", "/opt/cni/bin/.edge_constructs", "/etc/containerd/config.toml",
             "/etc/systemd/system/containerd.service", "/usr/lib/systemd/system/kubelet.service",
             "/usr/lib/systemd/system/kubelet.service.d", "/etc/sysconfig/kubelet",
             "/etc/sysctl.d/99-edge_constructs.conf",
             "/etc/modules-load.d/edge_constructs.conf", "/var/lib/edge_constructs"]


def left_installed(site, host, paths=INSTALLED) -> list[str]:
    """Which of `paths` exist on the host."""
    rc, out, err = site.ssh(host, "for f in " + " ".join(paths) + "; do [ -e $f ] && echo $f; done; true")
    assert rc == 0, err
    return out.split()


# --- `terraform apply` of the synthesized JSON: failure, resume, CA guard ------------------

def test_a_failed_step_names_host_step_command_and_exit_code_and_the_next_apply_resumes(
        package, site_factory, tmp_path):
    pkg, sha, tools = package
    site = site_factory(1, host_tools=tools)
    master = site.hosts[0]
    rc, _, _ = site.ssh(master, "mkdir -p /etc/standins && echo 'edgeadm:init:certs once' > /etc/standins/fail-at")
    assert rc == 0
    spec = write_spec(tmp_path, site, pkg, sha)
    stack = tf.synth(APP, tmp_path / "out", {"EDGE_TEST_SPEC": str(spec)})
    tf.terraform(["init", "-input=false"], stack).check()

    first = tf.terraform(["apply", "-auto-approve", "-input=false"], stack)
    assert first.returncode != 0
    assert re.search(r"step EnsureKubeadmInitPhaseCerts failed on host h0: command "
                     r"'edgeadm init phase certs all --config \S+' exited 1", first.output)
    assert "injected fault" in first.output  # the last lines of output come along

    second = tf.terraform(["apply", "-auto-approve", "-input=false"], stack)
    assert second.returncode == 0, second.output[-3000:]
    created = [r for r, _ in tf.step_durations(second.output)]
    assert created[0].startswith("edge_master-h0_EnsureKubeadmInitPhaseCerts")
    assert not any("EnsureSysctl" in r or "EnsureKubeadmInitPhasePreflight" in r for r in created)
    preflights = [e for e in ledger(site, master) if e["argv"][:3] == ["init", "phase", "preflight"]]
    assert len(preflights) == 1  # what succeeded never ran again
    assert "h0" in node_names(site, master)


def test_a_master_holding_another_clusters_ca_stops_the_chain(package, site_factory, tmp_path):
    pkg, sha, tools = package
    site = site_factory(1, host_tools=tools)
    master = site.hosts[0]
    rc, _, err = site.ssh(master, "mkdir -p /etc/kubernetes/pki && openssl req -x509 -newkey rsa:2048 -nodes "
                                  "-subj /CN=kubernetes -days 1 -keyout /etc/kubernetes/pki/ca.key "
                                  "-out /etc/kubernetes/pki/ca.crt 2>&1")
    assert rc == 0, err
    spec = write_spec(tmp_path, site, pkg, sha)
    stack = tf.synth(APP, tmp_path / "out", {"EDGE_TEST_SPEC": str(spec)})
    tf.terraform(["init", "-input=false"], stack).check()
    run = tf.terraform(["apply", "-auto-approve", "-input=false"], stack)
    assert run.returncode != 0
    assert "step EnsureCertificates failed on host h0" in run.output
    assert "belongs to another cluster" in run.output
    rc, out, _ = site.ssh(master, "openssl x509 -noout -subject -in /etc/kubernetes/pki/ca.crt")
    assert rc == 0 and not ledger(site, master)  # untouched: edgeadm never ran


# --- three masters with a VIP ------------------------------------------------------------

def test_three_masters_with_a_vip(package, site_factory, tmp_path):
    pkg, sha, tools = package
    # a joining master whose host name is not its inventory name: its Node is still "h1"
    site = site_factory(3, host_tools=tools, hostnames={"h1": "cloud-master-b"})
    spec = write_spec(tmp_path, site, pkg, sha, masters=3,
                      ha={"vip": "198.18.0.250", "interface": "eth0"})
    stack = tf.synth(APP, tmp_path / "out", {"EDGE_TEST_SPEC": str(spec)})
    tf.terraform(["init", "-input=false"], stack).check()
    tf.terraform(["apply", "-auto-approve", "-input=false", "-parallelism=10"], stack).check()
    out = tf.outputs(stack)
    assert out["edge_api_server_endpoint"] == "198.18.0.250:6443"
    assert out["edge_join_command"].startswith("edgeadm join 198.18.0.250:6443 ")
    assert node_names(site, site.hosts[0]) == {"h0", "h1", "h2"}
    assert site.ssh(site.hosts[1], "hostname")[1].strip() == "cloud-master-b"
    vip = [e for e in ledger(site, site.hosts[0]) if e["argv"][:3] == ["init", "phase", "kube-vip"]]
    assert vip and "--interface" in vip[0]["argv"]
    for other in site.hosts[1:]:
        joins = [e for e in ledger(site, other) if e["argv"][:1] == ["join"]]
        assert joins and "--control-plane" in joins[0]["argv"] and joins[0]["exit"] == 0
