"""Stand-in programs and package (test fixtures): local checks in STANDIN_ROOT sandboxes."""
import json
import re
import os
import signal
import subprocess
import tarfile

import pytest

from simsite.package import build_package, host_tools_dir

CFG = """apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
  ttl: 24h0m0s
localAPIEndpoint: {advertiseAddress: 127.0.0.1, bindPort: %d}
nodeRegistration: {name: master0}
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.22.6
networking: {podSubnet: 10.244.0.0/16, serviceSubnet: 10.96.0.0/12, dnsDomain: cluster.local}
"""
# No kubelet runs in a sandbox (tests/test_strict_site.py has one): mark-control-plane, which
# patches the kubelet's Node, is left out; the kubelet's static-pod part runs on its own
# (start_static_pods) and brings the control plane's pods up from the manifests.
PHASES = ["preflight", "certs all", "kubeconfig all", "kubelet-start", "control-plane all", "etcd local",
          "upload-config all", "bootstrap-token"]


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    d = tmp_path_factory.mktemp("pkg")
    path, sha = build_package(d)
    tarfile.open(path).extractall(d / "x")
    return path, sha, d / "x" / "edge-install" / "bin", d


#: What kubeadm's node checks find on a prepared host (simsite/standins/preflight.py): tools on
#: PATH and the kernel settings, under the sandbox root.
NODE_TOOLS = ("conntrack", "ip", "iptables", "mount", "nsenter", "crictl")


def prepare_node(root, skip=()):
    """A sandbox root that passes kubeadm's node checks (unless `skip` names a tool or file)."""
    for rel, text in (("proc/sys/net/bridge/bridge-nf-call-iptables", "1\n"), ("proc/sys/net/ipv4/ip_forward", "1\n"),
                      ("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n")):
        if rel not in skip and not (root / rel).exists():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    for tool in NODE_TOOLS:
        f = root / "usr/sbin" / tool
        if tool not in skip and not f.exists():
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text("#!/bin/sh\n")
            f.chmod(0o755)


def run(bindir, root, *args, stdin=None, prepared=True):
    if prepared:
        prepare_node(root)
    env = dict(os.environ, STANDIN_ROOT=str(root), STANDIN_DISCOVERY_TIMEOUT="2")
    exe = args[0] if "/" in args[0] else str(bindir / args[0])
    p = subprocess.run([exe] + list(args[1:]), env=env, capture_output=True, text=True, input=stdin, timeout=60)
    return p.returncode, p.stdout, p.stderr


def ledger(root):
    with open(root / "var/log/standins/ledger.jsonl") as f:
        return [json.loads(l) for l in f]


def test_package_is_deterministic(tmp_path, pkg):
    p2, sha2 = build_package(tmp_path)
    assert sha2 == pkg[1]  # the layout is tests/test_package_layout.py's
    assert (host_tools_dir(tmp_path) / "systemctl").exists()


@pytest.mark.parametrize("missing, check, message", [
    ("crictl", "FileExisting-crictl", "crictl not found in system path"),
    ("iptables", "FileExisting-iptables", "iptables not found in system path"),
    ("conntrack", "FileExisting-conntrack", "conntrack not found in system path"),
    ("nsenter", "FileExisting-nsenter", "nsenter not found in system path"),
    ("proc/sys/net/bridge/bridge-nf-call-iptables", "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables",
     "/proc/sys/net/bridge/bridge-nf-call-iptables does not exist"),
])
def test_preflight_refuses_a_node_kubeadm_refuses(tmp_path, pkg, missing, check, message):
    """kubeadm 1.22's node checks (simsite/standins/preflight.py), each can fail."""
    prepare_node(tmp_path, skip=(missing,))
    (tmp_path / "cfg.yaml").write_text(CFG % 6443)
    rc, _, err = run(pkg[2], tmp_path, "edgeadm", "init", "phase", "preflight", "--config", "/cfg.yaml", prepared=False)
    assert rc == 1 and "[ERROR %s]: %s" % (check, message) in err, err
    assert "--ignore-preflight-errors" in err
    rc, _, err = run(pkg[2], tmp_path, "edgeadm", "init", "phase", "preflight", "--config", "/cfg.yaml",
                     "--ignore-preflight-errors", check.lower(), prepared=False)
    assert "[WARNING %s]: %s" % (check, message) in err and "[ERROR " not in err, err


def test_preflight_refuses_swap_and_forwarding_off(tmp_path, pkg):
    prepare_node(tmp_path)
    (tmp_path / "proc/swaps").write_text("Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n")
    (tmp_path / "proc/sys/net/ipv4/ip_forward").write_text("0\n")
    (tmp_path / "cfg.yaml").write_text(CFG % 6443)
    rc, _, err = run(pkg[2], tmp_path, "edgeadm", "init", "phase", "preflight", "--config", "/cfg.yaml")
    assert rc == 1 and "[ERROR Swap]: running with swap on is not supported. Please disable swap" in err, err
    assert "[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1" in err


def test_preflight_of_a_docker_node_needs_no_crictl(tmp_path, pkg):
    prepare_node(tmp_path, skip=("crictl",))
    (tmp_path / "cfg.yaml").write_text((CFG % 6443).replace("nodeRegistration: {name: master0}",
                                       "nodeRegistration: {name: master0, criSocket: /var/run/dockershim.sock}"))
    rc, _, err = run(pkg[2], tmp_path, "edgeadm", "init", "phase", "preflight", "--config", "/cfg.yaml", prepared=False)
    assert "crictl" not in err and rc == 0, err


def test_unknown_flags_and_commands_rejected_and_recorded(tmp_path, pkg):
    b = pkg[2]
    rc, _, err = run(b, tmp_path, "edgeadm", "init", "--master-vip", "1.2.3.4")
    assert rc == 1 and "Error: unknown flag: --master-vip" in err
    rc, _, err = run(b, tmp_path, "edgeadm", "init", "phase", "certs", "all", "--install-pkg-path", "x")
    assert rc == 1 and "unknown flag: --install-pkg-path" in err
    rc, _, err = run(b, tmp_path, "edgeadm", "frobnicate")
    assert rc == 1 and 'unknown command "frobnicate" for "edgeadm"' in err
    rc, _, err = run(b, tmp_path, "kubectl", "get", "nodes", "--foo")
    assert rc == 1 and "error: unknown flag: --foo" in err
    tools = host_tools_dir(pkg[3])
    rc, _, err = run(b, tmp_path, str(tools / "systemctl"), "frob", "kubelet")
    assert rc == 1 and "Unknown command verb frob." in err
    entries = ledger(tmp_path)
    assert [e["tool"] for e in entries] == ["edgeadm", "edgeadm", "edgeadm", "kubectl", "systemctl"]
    assert all(e["exit"] == 1 for e in entries) and entries[0]["argv"] == ["init", "--master-vip", "1.2.3.4"]


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


STATIC_PODS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def start_static_pods(bindir, root):
    """The kubelet's static pods in a sandbox (the stand-in's STANDIN_INTERNAL=static-pods):
    the control plane's pods start, stop and restart with their manifests."""
    (root / "var/log").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, STANDIN_ROOT=str(root), STANDIN_INTERNAL="static-pods")
    with open(root / "var/log/static-pods.log", "ab") as log:
        return subprocess.Popen([str(bindir / "kubelet"), "/etc/kubernetes/manifests"], env=env, stdout=log, stderr=log,
                                start_new_session=True)


def stop_static_pods(root, runner=None):
    """The runner and every pod process of the sandbox, killed."""
    if runner is not None:
        runner.terminate()
        runner.wait(timeout=10)
    for comp in STATIC_PODS:
        pidf = root / "run/standins" / (comp + ".pid")
        if pidf.exists():
            try:
                os.kill(int(pidf.read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass


@pytest.fixture
def kubelet_pods(tmp_path, pkg):
    """The sandbox master's static-pod runner (its kubelet): a test that resets the master
    stops it first, as `systemctl stop kubelet` does on a host; the sandbox's runner is
    not a unit the stand-in systemctl knows."""
    root = tmp_path / "m"
    (root / "etc").mkdir(parents=True)
    runner = start_static_pods(pkg[2], root)
    yield runner
    stop_static_pods(root, runner)


@pytest.fixture
def master(tmp_path, pkg, kubelet_pods):
    b = pkg[2]
    root = tmp_path / "m"
    port = free_port()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CFG % port)
    yield b, root, cfg, port


def wait_healthy(url, timeout=30, path="/healthz"):
    """Until the API server at `url` answers `path` with 200 (kubeadm's wait-control-plane)."""
    import ssl
    import time
    import urllib.request
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + path, context=ctx, timeout=2) as r:
                return r.read().decode()
        except OSError as e:
            last = e
            time.sleep(0.1)
    raise AssertionError("%s%s did not answer 200 in %ss: %s" % (url, path, timeout, last))


def init_phases(b, root, cfg):
    for ph in PHASES:
        rc, out, err = run(b, root, "edgeadm", "init", "phase", *ph.split(), "--config", str(cfg))
        assert rc == 0, (ph, out, err)
    port = int(re.search(r"bindPort: (\d+)", cfg.read_text()).group(1))
    wait_healthy("https://127.0.0.1:%d" % port)


def test_injected_failure_at_phase(master):
    b, root, cfg, _ = master
    (root / "etc/standins").mkdir(parents=True)
    (root / "etc/standins/fail-at").write_text("edgeadm:init:certs once\n")
    rc, _, err = run(b, root, "edgeadm", "init", "phase", "certs", "all", "--config", str(cfg))
    assert rc == 1 and "error execution phase certs/ca" in err
    assert not (root / "etc/kubernetes/pki/apiserver.crt").exists()
    rc, _, err = run(b, root, "edgeadm", "init", "phase", "certs", "all", "--config", str(cfg))
    assert rc == 0, err
    assert (root / "etc/kubernetes/pki/apiserver.crt").exists()


def test_init_join_token_hash_and_reset(master, kubelet_pods, tmp_path):
    b, root, cfg, port = master
    init_phases(b, root, cfg)
    from simsite.standins import pki
    ca = pki.load_cert((root / "etc/kubernetes/pki/ca.crt").read_text())
    h = pki.spki_hash(ca)
    node = tmp_path / "n"
    pkgpath = str(master[0].parent.parent.parent / "kube-linux-amd64-v1.22.6.tar.gz")
    # edge-info + RBAC as the chain would apply
    rbac = tmp_path / "edge.yaml"
    rbac.write_text("""apiVersion: v1
kind: Namespace
metadata: {name: edge-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: edge-info, namespace: edge-system}
data: {edge-virtual-addr: 169.254.20.11, kube-api-ca.crt: x, lite-apiserver.crt: x, lite-apiserver.key: x, tls.json: "[]"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: edge-info-reader, namespace: edge-system}
rules: [{apiGroups: [""], resources: [configmaps], resourceNames: [edge-info], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: edge-info-reader, namespace: edge-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: edge-info-reader}
subjects: [{kind: Group, name: "system:bootstrappers"}]
""")
    base = ["edgeadm", "join", "127.0.0.1:%d" % port, "--install-pkg-path", pkgpath, "--enable-edge=true", "--skip-phases=init-node", "--node-name", "edge1"]
    # edgeadm join takes --config only without the edge flags (kubeadm's ValidateMixedArguments):
    # --install-pkg-path and --token are refused next to it (docs/DESIGN_NOTES.md)
    rc, out, err = run(b, node, *base, "--config", "/join.yaml", "--token", "abcdef.0123456789abcdef")
    assert rc == 1 and "can not mix '--config' with arguments [enable-edge install-pkg-path token]" in err, err
    rc, out, err = run(b, node, *base, "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", "sha256:" + "0" * 64)
    assert rc == 1 and "none of the public keys" in err and "are pinned" in err
    rc, out, err = run(b, node, *base, "--token", "zzzzzz.0123456789abcdef", "--discovery-token-ca-cert-hash", h)
    assert rc == 1 and "could not find a JWS signature" in err
    rc, out, err = run(b, node, *base, "--token", "abcdef.aaaaaaaaaaaaaaaa", "--discovery-token-ca-cert-hash", h)
    assert rc == 1 and "failed to verify JWS signature" in err
    # without RBAC, lite-apiserver cannot read edge-info
    rc, out, err = run(b, node, *base, "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", h)
    assert rc == 1 and "forbidden" in err, err
    rc, out, err = run(b, root, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "apply", "-f", str(rbac))
    assert rc == 0, err
    # join no longer makes the Node itself: it waits for the kubelet's, and no kubelet runs here
    rc, out, err = run(b, node, *base, "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", h)
    assert rc == 1 and "error execution phase kubelet-start" in err and "kubelet isn't running or healthy" in err, err
    rc, out, _ = run(b, root, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes", "-o", "name")
    assert "edge1" not in out
    assert "# begin (generated by SuperEdge)" in (node / "etc/hosts").read_text()
    assert "--cluster-dns=169.254.20.11" in (node / "var/lib/kubelet/kubeadm-flags.env").read_text()
    rc, _, _ = run(b, node, "edgeadm", "reset", "--force")
    assert rc == 0 and not (node / "etc/kubernetes/kubelet.conf").exists()
    # the master's reset: its kubelet stopped first (kubeadm reset's `systemctl stop kubelet`;
    # a running one restarts a pod reset has just stopped while its manifest is still there)
    apiserver_pid = int((root / "run/standins/kube-apiserver.pid").read_text())
    kubelet_pods.terminate()
    kubelet_pods.wait(timeout=10)
    rc, _, _ = run(b, root, "edgeadm", "reset", "--force")
    assert rc == 0 and not (root / "etc/kubernetes/pki").exists() and not (root / "run/standins/kube-apiserver.pid").exists()
    from simsite.standins.common import alive
    assert not alive(apiserver_pid)


# --- kubeadm's configuration, decoded with kubeadm's types -----------------------------------

#: What EnsureKubeadmConfig rendered before issue 10 (ttl a number, the label not key=value).
OLD_PRODUCT_CONFIG = """apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
  ttl: 0
  groups: [system:bootstrappers:kubeadm:default-node-token]
  usages: [signing, authentication]
nodeRegistration:
  name: m0
  criSocket: /run/containerd/containerd.sock
  kubeletExtraArgs:
    node-labels: "superedge.io/node-cloud: enable"
"""


@pytest.mark.parametrize("change, message", [
    (lambda c: c, "v1beta3.InitConfiguration.BootstrapTokens.TTL: unmarshalerDecoder: json: cannot unmarshal number "
                  "into Go value of type string"),
    (lambda c: c.replace("ttl: 0", "ttl: 1d"), 'unmarshalerDecoder: time: invalid duration "1d"'),
    (lambda c: c.replace("ttl: 0", 'ttl: "0s"').replace("  name: m0", "  name: m0\n  labels: {a: b}"),
     'error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", Version:"v1beta3", '
     'Kind:"InitConfiguration"}: error unmarshaling JSON: while decoding JSON: json: unknown field "labels"'),
    (lambda c: c.replace("ttl: 0", 'ttl: "0s"').replace("v1beta3", "v1beta9"),
     'no kind "InitConfiguration" is registered for version "kubeadm.k8s.io/v1beta9" in scheme '
     '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"'),
    (lambda c: c.replace("ttl: 0", 'ttl: "0s"').replace("v1beta3", "v1beta1"),
     'your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta1"'),
    (lambda c: c.replace("ttl: 0", 'ttl: "0s"').replace("kind: InitConfiguration", "kind: InitConfig"),
     "Ignored YAML document with GroupVersionKind kubeadm.k8s.io/v1beta3, Kind=InitConfig"),
    (lambda c: c.replace("ttl: 0", 'ttl: "0s"').replace("bindPort", "x").replace("  name: m0", "  name: 7"),
     'v1beta3.InitConfiguration.NodeRegistration.Name: ReadString: expects " or n, but found 7'),
], ids=["ttl-number", "ttl-not-a-duration", "unknown-field", "unknown-version", "old-version", "unknown-kind", "wrong-type"])
def test_fails_when_the_kubeadm_config_does_not_decode_with_kubeadms_types(tmp_path, pkg, change, message):
    cfg = tmp_path / "kubeadm.yaml"
    cfg.write_text(change(OLD_PRODUCT_CONFIG))
    rc, out, err = run(pkg[2], tmp_path / "root", "edgeadm", "init", "phase", "kubelet-start", "--config", str(cfg))
    assert rc == 1 and message in err, err
    assert err.rstrip().endswith("To see the stack trace of this error execute with --v=5 or higher")
    assert not (tmp_path / "root/var/lib/kubelet/kubeadm-flags.env").exists()


def test_kubelet_start_writes_kubeadms_flags_from_the_config(tmp_path, pkg):
    cfg = tmp_path / "kubeadm.yaml"
    cfg.write_text(OLD_PRODUCT_CONFIG.replace("ttl: 0", 'ttl: "0s"').replace("cloud: enable", "cloud=enable"))
    rc, out, err = run(pkg[2], tmp_path / "root", "edgeadm", "init", "phase", "kubelet-start", "--config", str(cfg))
    assert rc == 0, err
    assert "[kubelet-start] WARNING: unable to start the kubelet service" in out  # no systemctl in a sandbox
    env = (tmp_path / "root/var/lib/kubelet/kubeadm-flags.env").read_text()
    assert env == ('KUBELET_KUBEADM_ARGS="--container-runtime=remote --container-runtime-endpoint=/run/containerd/containerd.sock '
                   '--hostname-override=m0 --node-labels=superedge.io/node-cloud=enable '
                   '--pod-infra-container-image=k8s.gcr.io/pause:3.5"\n')


# --- the kubelet's flags, config and CRI socket ------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--node-labels=superedge.io/node-cloud: enable"],
     'invalid argument \\"superedge.io/node-cloud: enable\\" for \\"--node-labels\\" flag: malformed pair, expect string=string'),
    (["--frobnicate=1"], "unknown flag: --frobnicate"),
    (["--register-with-taints=dedicated"], 'invalid argument \\"dedicated\\" for \\"--register-with-taints\\" flag: invalid taint spec'),
    (["--register-with-taints=a=b:Sometimes"], "invalid taint effect: Sometimes, unsupported taint effect"),
    (["--node-labels=node-role.kubernetes.io/master="], "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels"),
    (["--container-runtime=remote", "--container-runtime-endpoint=/run/containerd/containerd.sock"],
     "dial unix /run/containerd/containerd.sock: connect: no such file or directory"),
    (["--config=/var/lib/kubelet/config.yaml"], 'json: unknown field \\"clusterDns\\"'),
], ids=["malformed-label", "unknown-flag", "taint-without-effect", "taint-effect", "restricted-label", "no-cri-socket", "config-field"])
def test_the_kubelet_does_not_start_with_what_kubelet_refuses(tmp_path, pkg, args, message):
    root = tmp_path / "root"
    (root / "var/lib/kubelet").mkdir(parents=True)
    (root / "var/lib/kubelet/config.yaml").write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nclusterDns: [10.96.0.10]\n")
    rc, out, err = run(pkg[2], root, "kubelet", *args)
    assert rc == 1 and message in err, err


# --- API semantics ---------------------------------------------------------------------------

def kubectl(b, root, *args, stdin=None):
    return run(b, root, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", *args, stdin=stdin)


NODE_UNIT = """apiVersion: site.superedge.io/v1alpha2
kind: NodeUnit
metadata: {name: unit-a}
spec: {type: edge, selector: {matchLabels: {unit-a: nodeunits.superedge.io}}}
"""


def test_a_kind_is_refused_until_its_crd_is_installed(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    rc, out, err = kubectl(b, root, "apply", "-f", "-", stdin=NODE_UNIT)
    assert rc == 1 and 'unable to recognize "STDIN": no matches for kind "NodeUnit" in version "site.superedge.io/v1alpha2"' in err
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "edge-apps", "site-manager")
    assert rc == 0, err
    rc, out, err = kubectl(b, root, "apply", "-f", "-", stdin=NODE_UNIT)
    assert rc == 0 and "nodeunit.site.superedge.io/unit-a created" in out, err
    rc, out, err = kubectl(b, root, "get", "nodeunits", "unit-a", "-o", "json")
    assert rc == 0 and json.loads(out)["spec"]["type"] == "edge"


def test_an_update_with_a_stale_resource_version_conflicts(master):
    b, root, cfg, port = master
    init_phases(b, root, cfg)
    from simsite.standins import client, pki
    kc = pki.parse_kubeconfig((root / "etc/kubernetes/admin.conf").read_text())
    ctx = client.context(kc["ca"], kc["cert"], kc["key"])
    path = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"
    first = client.request(kc["server"], "GET", path, ctx)
    client.request(kc["server"], "PUT", path, ctx, body=dict(first, data={"a": "1"}))
    with pytest.raises(client.APIError) as caught:
        client.request(kc["server"], "PUT", path, ctx, body=dict(first, data={"a": "2"}))
    assert caught.value.status == 409
    assert caught.value.message == ('Operation cannot be fulfilled on configmaps "kubeadm-config": the object has been modified; '
                                    "please apply your changes to the latest version and try again")
    now = client.request(kc["server"], "GET", path, ctx)
    assert now["data"] == {"a": "1"}
    client.request(kc["server"], "PUT", path, ctx, body=dict(now, data={"a": "3"}))  # the latest version succeeds


PODS = """apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec: {minAvailable: 2, selector: {matchLabels: {app: web}}}
""" + "".join("""---
apiVersion: v1
kind: Pod
metadata:
  name: web-%d
  namespace: default
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: "1"}]
spec: {nodeName: n1, containers: [{name: c, image: nginx}]}
""" % i for i in (1, 2))


def test_drain_evicts_through_the_disruption_budget(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    rc, out, err = kubectl(b, root, "apply", "-f", "-", stdin=PODS)
    assert rc == 0, err
    rc, out, err = kubectl(b, root, "drain", "n1", "--ignore-daemonsets", "--timeout=1s")
    assert rc == 1 and 'error when evicting pods/"web-1" -n "default": global timeout reached: 1s' in err, err
    rc, out, _ = kubectl(b, root, "get", "pods", "-o", "name")
    assert out.split() == ["pod/web-1", "pod/web-2"]  # the budget kept both
    rc, out, err = kubectl(b, root, "delete", "poddisruptionbudgets", "web")
    assert rc == 0, err
    rc, out, err = kubectl(b, root, "drain", "n1", "--ignore-daemonsets", "--timeout=30s")
    assert rc == 0 and "pod/web-1 evicted" in out and "node/n1 drained" in out, err
    rc, out, _ = kubectl(b, root, "get", "pods", "-o", "name")
    assert out.split() == []


def test_drain_refuses_pods_without_a_controller_unless_forced(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    bare = PODS.split("---\n")[0] + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: lone, namespace: default}\nspec: {nodeName: n1}\n"
    assert kubectl(b, root, "apply", "-f", "-", stdin=bare)[0] == 0
    rc, out, err = kubectl(b, root, "drain", "n1")
    assert rc == 1 and "cannot delete Pods declare no controller (use --force to override): default/lone" in err
    rc, out, err = kubectl(b, root, "drain", "n1", "--force")
    assert rc == 0 and "pod/lone evicted" in out, err


def test_token_create_of_an_existing_token_fails(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    rc, out, err = run(b, root, "edgeadm", "token", "create", "abcdef.0123456789abcdef")
    assert rc == 1 and 'a token with id "abcdef" already exists' in err
    rc, out, err = run(b, root, "edgeadm", "token", "delete", "abcdef")
    assert rc == 0, err
    rc, out, err = run(b, root, "edgeadm", "token", "create", "abcdef.0123456789abcdef", "--ttl", "0")
    assert rc == 0 and out.strip() == "abcdef.0123456789abcdef", err


def test_token_create_reads_the_token_from_a_config_file_and_refuses_mixed_flags(master, tmp_path):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    conf = root / "token.yaml"
    conf.write_text("apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nbootstrapTokens:\n"
                    "- token: qwerty.0123456789abcdef\n  ttl: 1h0m0s\n  description: from a file\n"
                    "  groups: [system:bootstrappers:kubeadm:default-node-token]\n  usages: [signing, authentication]\n")
    # kubeadm's ValidateMixedArguments: --config with --ttl or --description is refused
    rc, out, err = run(b, root, "edgeadm", "token", "create", "--config", "/token.yaml", "--ttl", "0",
                       "--description", "x")
    assert rc == 1 and "can not mix '--config' with arguments [description ttl]" in err
    rc, out, err = run(b, root, "edgeadm", "token", "create", "--config", "/token.yaml")
    assert rc == 0 and out.strip() == "qwerty.0123456789abcdef", err
    rc, out, err = run(b, root, "edgeadm", "token", "list")
    [row] = [ln for ln in out.splitlines() if ln.startswith("qwerty.")]
    assert "from a file" in row and re.search(r" (59m|1h) ", row), row
    # strictly decoded, like kubeadm's: an unknown field is an error
    conf.write_text(conf.read_text().replace("  ttl: 1h0m0s\n", "  ttl: 1h0m0s\n  tll: x\n")
                    .replace("qwerty", "asdfgh"))
    rc, out, err = run(b, root, "edgeadm", "token", "create", "--config", "/token.yaml")
    assert rc == 1 and "tll" in err


# --- systemctl runs units as systemd builds them ----------------------------------------------

def test_systemctl_runs_execstart_from_the_unit_its_drop_ins_and_environment_files(tmp_path, pkg):
    root = tmp_path / "root"
    out = tmp_path / "argv"
    (root / "etc/systemd/system/demo.service.d").mkdir(parents=True)
    (root / "etc/default").mkdir(parents=True)
    (root / "etc/systemd/system/demo.service").write_text(
        "[Service]\nExecStart=/bin/false\nEnvironment=\"ONE=a b\" TWO=c\n")
    (root / "etc/systemd/system/demo.service.d/10-override.conf").write_text(
        "[Service]\nEnvironmentFile=-/etc/default/missing\nEnvironmentFile=/etc/default/demo\nExecStart=\n"
        f"ExecStart=/bin/sh -c 'printf \"%s|\" \"$@\" > {out}; echo exiting >&2; exit 3' x $ARGS ${{ONE}} $TWO\n")
    (root / "etc/default/demo").write_text('# comment\nARGS="--x=1 --y=2"\n')
    tools = host_tools_dir(pkg[3])
    rc, _, err = run(pkg[2], root, str(tools / "systemctl"), "start", "demo")
    assert rc == 1 and "Job for demo.service failed" in err
    assert out.read_text() == "--x=1|--y=2|a b|c|"  # $VAR split into words, ${VAR} one word
    rc, state, _ = run(pkg[2], root, str(tools / "systemctl"), "is-active", "demo")
    assert (rc, state.strip()) == (3, "failed")
    rc, journal, _ = run(pkg[2], root, str(tools / "journalctl"), "-u", "demo", "--no-pager")
    assert "exiting" in journal and "demo.service: Main process exited, code=exited, status=3/FAILURE" in journal


# --- edgeadm v0.9.0's phase surface (kubeadm workflow/runner.go BindToCommand) ---------------

@pytest.mark.parametrize("words", [["init", "phase", "cni"], ["init", "phase", "certs"], ["init", "phase", "edge-apps"],
                                   ["init", "phase", "wait-control-plane"], ["init", "phase", "no-such-phase"],
                                   ["join", "phase", "check-etcd"], ["join", "phase", "kube-vip"]])
def test_a_phase_with_sub_phases_or_no_command_answers_with_help_and_exit_0(tmp_path, pkg, words):
    rc, out, err = run(pkg[2], tmp_path, "edgeadm", *words)
    assert rc == 0 and "\nUsage:\n" in "\n" + out, (out, err)
    assert not (tmp_path / "var/lib/standins/apiserver").exists()


@pytest.mark.parametrize("sub", ["join-prepare", "update-config", "label-node"])
def test_hidden_edge_apps_sub_phases_have_no_command(tmp_path, pkg, sub):
    rc, out, err = run(pkg[2], tmp_path, "edgeadm", "init", "phase", "edge-apps", sub)
    assert rc == 1 and 'unknown command "%s" for "edgeadm init phase edge-apps"' % sub in err


def test_flags_a_phase_does_not_inherit_are_refused(tmp_path, pkg):
    for words in (["init", "phase", "edge-apps", "tunnel", "--config", "/x"],
                  ["init", "phase", "cni", "flannel", "--config", "/x"],
                  ["init", "phase", "wait-control-plane", "--config", "/x"]):
        rc, out, err = run(pkg[2], tmp_path, "edgeadm", *words)
        assert rc == 1 and "unknown flag: --config" in err, words


def test_cni_flannel_deploys_the_real_manifests_objects(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    for _ in range(2):   # re-runnable: existing objects are left as they are
        rc, out, err = run(b, root, "edgeadm", "init", "phase", "cni", "flannel", "--pod-network-cidr", "10.244.0.0/16")
        assert rc == 0, err
    rc, out, err = kubectl(b, root, "get", "daemonsets", "-n", "kube-system", "kube-flannel-ds", "-o", "json")
    assert rc == 0, err
    rc, out, err = kubectl(b, root, "get", "configmaps", "-n", "kube-system", "kube-flannel-cfg", "-o", "json")
    assert json.loads(json.loads(out)["data"]["net-conf.json"])["Network"] == "10.244.0.0/16"


def test_edge_apps_all_runs_its_hidden_sub_phases_and_fails_on_a_second_run(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "addon", "kube-proxy", "--config", str(cfg))
    assert rc == 0, err
    # a phase names the node after the host name: no such Node in a sandbox
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "edge-apps", "all")
    assert rc == 1 and "error execution phase edge-apps/edge-coredns" in err and "not found" in err
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "edge-apps", "tunnel")
    assert rc == 0, err
    rc, out, err = kubectl(b, root, "get", "deployments", "-n", "edge-system", "tunnel-cloud", "-o", "json")
    image = json.loads(out)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "superedge.tencentcloudcr.com/superedge/tunnel:v0.8.0"   # edgeadm's defaults
    rc, out, err = kubectl(b, root, "get", "configmaps", "-n", "edge-system", "tunnel-edge-conf", "-o", "json")
    assert 'server_name = ":31673"' in json.loads(out)["data"]["mode.toml"]   # no address without --config


def test_edge_apps_take_the_manifests_of_manifests_dir(master, tmp_path):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    rc, out, err = run(b, root, "edgeadm", "manifests", "-m", "/m")
    assert rc == 0 and (root / "m/tunnel-edge.yaml").exists() and (root / "m/kube-flannel.yaml").exists(), err
    t = root / "m/tunnel-edge.yaml"
    t.write_text(t.read_text().replace("{{.TunnelImage}}", "reg.example.com/superedge/tunnel:v0.9.0")
                 .replace("{{.MasterIP}}", "198.18.0.10"))
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "edge-apps", "tunnel", "--manifests-dir", "/m")
    assert rc == 0, err
    rc, out, err = kubectl(b, root, "get", "daemonsets", "-n", "edge-system", "tunnel-edge", "-o", "json")
    assert json.loads(out)["spec"]["template"]["spec"]["containers"][0]["image"] == "reg.example.com/superedge/tunnel:v0.9.0"
    rc, out, err = kubectl(b, root, "get", "configmaps", "-n", "edge-system", "tunnel-edge-conf", "-o", "json")
    assert 'server_name = "198.18.0.10:31673"' in json.loads(out)["data"]["mode.toml"]


def test_phases_do_not_get_the_whole_inits_api_server_settings(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    text = (root / "etc/kubernetes/manifests/kube-apiserver.yaml").read_text()
    assert "egress-selector-config-file" not in text and "dnsPolicy" not in text
    assert not (root / "etc/kubernetes/patch").exists()
    with_args = cfg.read_text().replace("networking:", "apiServer: {extraArgs: {kubelet-preferred-address-types: Hostname}}\nnetworking:")
    cfg.write_text(with_args)
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "control-plane", "apiserver", "--config", str(cfg))
    assert rc == 0, err
    assert "--kubelet-preferred-address-types=Hostname" in (root / "etc/kubernetes/manifests/kube-apiserver.yaml").read_text()


def test_join_prepare_removes_ca_crt_so_a_control_plane_join_without_key_fails(master, tmp_path):
    b, root, cfg, port = master
    init_phases(b, root, cfg)
    from simsite.standins import pki
    h = pki.spki_hash(pki.load_cert((root / "etc/kubernetes/pki/ca.crt").read_text()))
    node = tmp_path / "m1"
    shared = ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key"]
    for f in shared:   # what EnsureCertificates distributes
        (node / "etc/kubernetes/pki" / f).parent.mkdir(parents=True, exist_ok=True)
        (node / "etc/kubernetes/pki" / f).write_bytes((root / "etc/kubernetes/pki" / f).read_bytes())
    pkgpath = str(master[0].parent.parent.parent / "kube-linux-amd64-v1.22.6.tar.gz")
    base = ["edgeadm", "join", "127.0.0.1:%d" % port, "--control-plane", "--install-pkg-path", pkgpath,
            "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", h, "--node-name", "m1"]
    rc, out, err = run(b, node, *base, "--skip-phases=init-node")
    assert rc == 1 and "error execution phase preflight" in err and "/etc/kubernetes/pki/ca.crt" in err, err
    assert not (node / "etc/kubernetes/pki/ca.crt").exists()
    assert (node / "etc/kubernetes/patch/kube-apiserver0+merge.yaml").exists()   # join's PreRunE
    (node / "etc/kubernetes/pki/ca.crt").write_bytes((root / "etc/kubernetes/pki/ca.crt").read_bytes())
    rc, out, err = run(b, node, *base, "--skip-phases=init-node,join-prepare")
    assert "error execution phase preflight" not in err, err
    assert (node / "etc/kubernetes/pki/ca.crt").exists()
    assert "dnsPolicy: ClusterFirstWithHostNet" in (node / "etc/kubernetes/manifests/kube-apiserver.yaml").read_text()


def run_step_script(b, root, tmp_path, step):
    """A rendered step, run as the SSH runner would, on the sandbox master."""
    from provisioners.steps.step import prelude
    # the prelude sets PATH: the sandbox's stand-ins go first after it
    script = prelude(step.name, "m0", str(tmp_path / "result")) + 'PATH="%s:$PATH"\n' % b + step.script
    # EDGE_VERBOSE: the step's progress on stdout too (quiet, it goes only to its log)
    env = dict(os.environ, STANDIN_ROOT=str(root), PATH="%s:%s" % (b, os.environ["PATH"]),
               EDGE_VERBOSE="1")
    p = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_edge_kube_config_does_update_configs_work_and_a_second_run_changes_nothing(master, tmp_path):
    """EnsureEdgeKubeConfig on what kubeadm's addon phase and the API server made: edgeadm's
    update-config objects (common/update_config.go), then nothing changes on a second run."""
    from tests.test_steps_render import ctx as spec_ctx
    from provisioners.steps.cluster import ensure_edge_kube_config
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "addon", "kube-proxy", "--config", str(cfg))
    assert rc == 0, err
    rc, out, err = kubectl(b, root, "apply", "-f", "-",
                           stdin="apiVersion: v1\nkind: Namespace\nmetadata: {name: edge-system}\n")
    assert rc == 0, err
    step = ensure_edge_kube_config(spec_ctx())
    rc, out, err = run_step_script(b, root, tmp_path, step)
    assert rc == 0, out + err

    def get(*args):
        rc, out, err = kubectl(b, root, "get", *args, "-o", "json")
        assert rc == 0, err
        return json.loads(out)
    names = [("configmap", "edge-system", "edge-kube-proxy"), ("serviceaccount", "edge-system", "kube-proxy"),
             ("daemonset", "edge-system", "edge-kube-proxy"), ("daemonset", "kube-system", "kube-proxy"),
             ("endpoints", "default", "kubernetes"), ("endpoints", "default", "kubernetes-no-edge"),
             ("endpointslices", "default", "kubernetes"), ("configmap", "kube-system", "cluster-info-no-edge")]
    before = {n: get(n[0], "-n", n[1], n[2]) for n in names}
    cm = before[names[0]]["data"]
    assert "server: http://127.0.0.1:51006" in cm["kubeconfig.conf"] and "clusterCIDR" in cm["config.conf"]
    pod = before[names[2]]["spec"]["template"]["spec"]
    assert "priorityClassName" not in pod
    assert [v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "kube-proxy"] == ["edge-kube-proxy"]
    assert pod["containers"][0]["image"] == "superedge.tencentcloudcr.com/superedge/kube-proxy:v1.22.6"
    ops = lambda o: o["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"]
    assert ops(before[names[2]]) == [{"key": "superedge.io/node-edge", "operator": "Exists"}]
    assert ops(before[names[3]]) == [{"key": "superedge.io/node-edge", "operator": "DoesNotExist"}]
    local = {"superedge.io/local-port": "51003", "superedge.io/local-endpoint": "169.254.20.11"}
    assert before[names[4]]["metadata"]["annotations"] == local
    assert before[names[6]]["metadata"]["annotations"] == local
    assert not before[names[5]]["metadata"].get("annotations")
    assert before[names[5]]["subsets"] == before[names[4]]["subsets"]
    rc, out, err = run_step_script(b, root, tmp_path, step)
    assert rc == 0, out + err
    assert "unchanged" in out and "(no change)" in out and "kept" in out
    after = {n: get(n[0], "-n", n[1], n[2]) for n in names}
    assert {n: o["metadata"]["resourceVersion"] for n, o in after.items()} == \
        {n: o["metadata"]["resourceVersion"] for n, o in before.items()}


def test_a_whole_join_does_set_package_paths_work_before_discovery(pkg, tmp_path):
    """A whole `edgeadm join` runs SetPackagePath in its PreRunE (edgeadm v0.9.0
    pkg/util/kubeadm/join.go, pkg/edgeadm/common/static_pkg.go): the package unpacked into
    <worker>/edgeadm/, bin/* moved to /usr/bin, the CNI plugins in /opt/cni/bin, the kubelet
    unit, drop-in and sysconfig written with edgeadm's text; a phase run does none of it."""
    from provisioners.steps.kubelet_unit import KUBELET_FILES
    b = pkg[2]
    node = tmp_path / "n"
    pkgpath = str(pkg[0])
    rc, out, err = run(b, node, "edgeadm", "join", "phase", "preflight", "127.0.0.1:1", "--token", "abcdef.0123456789abcdef",
                       "--discovery-token-unsafe-skip-ca-verification")
    assert not (node / "usr/bin/kubelet").exists() and not (node / "opt/cni/bin").exists()
    rc, out, err = run(b, node, "edgeadm", "join", "127.0.0.1:1", "--token", "abcdef.0123456789abcdef",
                       "--discovery-token-unsafe-skip-ca-verification", "--install-pkg-path", pkgpath,
                       "--skip-phases=init-node", "--node-name", "edge1")
    assert rc == 1 and "couldn't validate the identity of the API Server" in err, err   # no master: after PreRunE
    for tool in ("kubelet", "kubectl", "edgeadm", "lite-apiserver", "conntrack"):
        assert (node / "usr/bin" / tool).is_file(), tool
    assert not list((node / "tmp/edgeadm-tmp/edgeadm/edge-install/bin").iterdir())    # moved, not copied
    assert (node / "tmp/edgeadm-tmp/edgeadm/edge-install/container").is_dir()
    assert {p.name for p in (node / "opt/cni/bin").iterdir()} >= {"bridge", "host-local", "loopback", "portmap", "flannel"}
    for path, text in KUBELET_FILES:
        assert (node / path.lstrip("/")).read_text() == text, path
    assert (node / "etc/bash_completion.d/kubectl").read_text().startswith("# bash completion for kubectl")
    # every edgeadm start empties the worker path (cmd/edgeadm/app/server.go)
    run(b, node, "edgeadm", "version")
    assert list((node / "tmp/edgeadm-tmp").iterdir()) == [node / "tmp/edgeadm-tmp/edgeadm"]
    assert not list((node / "tmp/edgeadm-tmp/edgeadm").iterdir())


def test_edge_apps_all_runs_update_config_as_edgeadm_does_and_fails_on_a_second_run(master):
    """`edge-apps all` with the host-named Node present: update-config (common/update_config.go)
    Creates the edge-system copies of kube-proxy, annotates the `kubernetes` endpoints and
    backs them up; a second `all` fails with AlreadyExists."""
    import socket
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "addon", "kube-proxy", "--config", str(cfg))
    assert rc == 0, err
    rc, out, err = kubectl(b, root, "apply", "-f", "-", stdin="apiVersion: v1\nkind: Node\nmetadata: {name: %s}\n"
                           % socket.gethostname().lower())
    assert rc == 0, err
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "edge-apps", "all")
    assert rc == 0, err
    rc, out, err = kubectl(b, root, "get", "daemonset", "-n", "edge-system", "edge-kube-proxy", "-o", "json")
    pod = json.loads(out)["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "superedge.tencentcloudcr.com/superedge/kube-proxy:v1.22.6"
    assert pod["volumes"][0]["configMap"]["name"] == "edge-kube-proxy" and "priorityClassName" not in pod
    rc, out, err = kubectl(b, root, "get", "configmap", "-n", "edge-system", "edge-kube-proxy", "-o", "json")
    assert "server: http://127.0.0.1:51006" in json.loads(out)["data"]["kubeconfig.conf"]
    rc, out, err = kubectl(b, root, "get", "endpoints", "-n", "default", "kubernetes", "-o", "json")
    assert json.loads(out)["metadata"]["annotations"] == {"superedge.io/local-port": "51003",
                                                          "superedge.io/local-endpoint": "169.254.20.11"}
    rc, out, err = kubectl(b, root, "get", "endpoints", "-n", "default", "kubernetes-no-edge", "-o", "json")
    assert rc == 0, err
    rc, out, err = run(b, root, "edgeadm", "init", "phase", "edge-apps", "all")
    assert rc == 1 and 'configmaps "edge-kube-proxy" already exists' in err, err
