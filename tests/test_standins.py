"""Stand-in programs and package (test fixtures): local checks in STANDIN_ROOT sandboxes."""
import json
import os
import signal
import subprocess
import tarfile

import pytest

from simsite.package import build_package, host_tools_dir

CFG = """apiVersion: kubeadm.k8s.io/v1beta2
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
  ttl: 24h
localAPIEndpoint: {advertiseAddress: 127.0.0.1, bindPort: %d}
nodeRegistration: {name: master0}
---
apiVersion: kubeadm.k8s.io/v1beta2
kind: ClusterConfiguration
kubernetesVersion: v1.22.6
networking: {podSubnet: 10.244.0.0/16, serviceSubnet: 10.96.0.0/12, dnsDomain: cluster.local}
"""
PHASES = ["preflight", "certs all", "kubeconfig all", "kubelet-start", "control-plane all", "etcd local",
          "upload-config all", "mark-control-plane", "bootstrap-token"]


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    d = tmp_path_factory.mktemp("pkg")
    path, sha = build_package(d)
    tarfile.open(path).extractall(d / "x")
    return path, sha, d / "x" / "edge-install" / "bin", d


def run(bindir, root, *args, stdin=None):
    env = dict(os.environ, STANDIN_ROOT=str(root), STANDIN_DISCOVERY_TIMEOUT="2")
    exe = args[0] if "/" in args[0] else str(bindir / args[0])
    p = subprocess.run([exe] + list(args[1:]), env=env, capture_output=True, text=True, input=stdin, timeout=60)
    return p.returncode, p.stdout, p.stderr


def ledger(root):
    with open(root / "var/log/standins/ledger.jsonl") as f:
        return [json.loads(l) for l in f]


def test_package_is_deterministic_and_laid_out(tmp_path, pkg):
    p2, sha2 = build_package(tmp_path)
    assert sha2 == pkg[1]
    names = tarfile.open(p2).getnames()
    for n in ("edge-install/bin/edgeadm", "edge-install/bin/kubelet", "edge-install/bin/kubectl", "edge-install/bin/lite-apiserver",
              "edge-install/bin/conntrack", "edge-install/cni/cni-plugins-linux-amd64-v0.8.3.tgz",
              "edge-install/container/containerd-linux-amd64.tgz", "edge-install/container/docker-linux-amd64.tgz",
              "edge-install/conf/kubelet.service"):
        assert n in names
    assert (host_tools_dir(tmp_path) / "systemctl").exists()


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


@pytest.fixture
def master(tmp_path, pkg):
    b = pkg[2]
    root = tmp_path / "m"
    port = free_port()
    (root / "etc").mkdir(parents=True)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CFG % port)
    yield b, root, cfg, port
    pidf = root / "run/standins/kube-apiserver.pid"
    if pidf.exists():
        try:
            os.kill(int(pidf.read_text()), signal.SIGKILL)
        except OSError:
            pass


def init_phases(b, root, cfg):
    for ph in PHASES:
        rc, out, err = run(b, root, "edgeadm", "init", "phase", *ph.split(), "--config", str(cfg))
        assert rc == 0, (ph, out, err)


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


def test_init_join_token_hash_and_reset(master, tmp_path):
    b, root, cfg, port = master
    init_phases(b, root, cfg)
    import sys
    sys.path.insert(0, str(tmp_path))
    from simsite.standins.standins import pki
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
    rc, out, err = run(b, node, *base, "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", h)
    assert rc == 0, err
    rc, out, _ = run(b, root, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes", "-o", "json")
    nodes = {n["metadata"]["name"]: n for n in json.loads(out)["items"]}
    assert nodes["edge1"]["metadata"]["labels"]["superedge.io/node-edge"] == "enable"
    assert "# begin (generated by SuperEdge)" in (node / "etc/hosts").read_text()
    rc, out, err = run(b, root, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "drain", "edge1", "--ignore-daemonsets")
    assert rc == 0 and "drained" in out
    rc, out, err = run(b, root, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "delete", "node", "edge1")
    assert rc == 0, err
    rc, _, _ = run(b, node, "edgeadm", "reset", "--force")
    assert rc == 0 and not (node / "etc/kubernetes/kubelet.conf").exists()
    rc, _, _ = run(b, root, "edgeadm", "reset", "--force")
    assert rc == 0 and not (root / "etc/kubernetes/pki").exists() and not (root / "run/standins/kube-apiserver.pid").exists()
