"""The configuration files the chain writes, rendered as the step scripts render them and read
by the parsers that will read them: kubeadm's config as YAML with kubeadm's types, the
kubelet's flags as kubelet parses them, containerd's config.toml by Debian's containerd."""
from __future__ import annotations

import shutil
import subprocess
import tomllib
from types import SimpleNamespace

import pytest
import yaml

from provisioners.core.props import HA, ClusterSpec, Host, InstallPackage, Registry
from provisioners.steps import cluster as cluster_steps
from provisioners.steps.context import MASTER0, Context
from simsite.package import CONTAINERD_CONFIG
from simsite.standins import kubeadmapi, kubelet
from tests.shvars import sh_value, with_token

TOKEN = "abcdef.0123456789abcdef"
M0 = Host("198.18.0.10", private_key_file="/k", name="m0")


def ctx(**kw) -> Context:
    spec = ClusterSpec(name="t", masters=(M0,), install_package=InstallPackage(path="/p.tgz", sha256="a" * 64), **kw)
    return Context(spec=spec, host=M0, role=MASTER0, creds=SimpleNamespace(bootstrap_token="/creds/bootstrap-token"))


def kubeadm_config(c: Context, tmp_path) -> str:
    """What EnsureKubeadmConfig writes: its CONFIG with the token filled in by sh/token.sh,
    as on the host."""
    script = cluster_steps.ensure_kubeadm_config(c).script
    token_file = tmp_path / "bootstrap-token"
    token_file.write_text(TOKEN + "\n")
    return with_token(script, "token", str(token_file), 'printf "%s\\n" "$CONFIG" | fill_token')


def docs(text: str) -> dict:
    return {d["kind"]: d for d in yaml.safe_load_all(text)}


@pytest.mark.parametrize("ttl, want", [("0", "0s"), ("24h", "24h0m0s"), ("90m", "1h30m0s"), ("45s", "45s")])
def test_the_token_ttl_is_a_duration_string_kubeadm_decodes(ttl, want, tmp_path):
    text = kubeadm_config(ctx(join_token_ttl=ttl), tmp_path)
    token = docs(text)["InitConfiguration"]["bootstrapTokens"][0]
    assert token["ttl"] == want and isinstance(token["ttl"], str)
    assert kubeadmapi.parse_go_duration(token["ttl"]) == kubeadmapi.parse_go_duration(ttl)
    assert token["token"] == TOKEN
    kubeadmapi.decode(text)  # kubeadm's v1beta3 types, strictly: raises on any mismatch


def test_the_node_label_is_what_kubelets_node_labels_flag_parses(tmp_path):
    init = docs(kubeadm_config(ctx(), tmp_path))["InitConfiguration"]
    extra = init["nodeRegistration"]["kubeletExtraArgs"]
    assert kubelet.convert("map", extra["node-labels"], None) == {"superedge.io/node-cloud": "enable"}
    assert kubelet.parse_flags(["--node-labels=" + extra["node-labels"]]) == {
        "node-labels": {"superedge.io/node-cloud": "enable"}}
    assert init["nodeRegistration"]["criSocket"] == "/run/containerd/containerd.sock"
    assert init["nodeRegistration"]["name"] == "m0"
    assert init["localAPIEndpoint"] == {"advertiseAddress": "198.18.0.10", "bindPort": 6443}


def test_the_cluster_configuration_carries_the_endpoint_networking_and_sans(tmp_path):
    c = ctx(cert_sans=("api.example.com",), ha=HA(vip="198.18.0.250"), pod_cidr="10.10.0.0/16")
    text = kubeadm_config(c, tmp_path)
    cl = docs(text)["ClusterConfiguration"]
    assert cl["controlPlaneEndpoint"] == "198.18.0.250:6443"
    assert cl["networking"] == {"podSubnet": "10.10.0.0/16", "serviceSubnet": "10.96.0.0/12", "dnsDomain": "cluster.local"}
    assert cl["apiServer"]["certSANs"] == ["198.18.0.250", "198.18.0.10", "api.example.com"]
    assert cl["kubernetesVersion"] == "v1.22.6" and cl["clusterName"] == "t"
    assert set(docs(text)) == {"InitConfiguration", "ClusterConfiguration"}
    kubeadmapi.decode(text)


# --- containerd's config.toml, read by the real containerd ------------------------------------

def containerd_config(c: Context, tmp_path) -> str:
    """config.toml as EnsureContainerRuntime writes it: the package's file, then the registry
    block the script is handed (REGISTRY_TOML, as sh reads it), as the script prints it."""
    script = cluster_steps.ensure_container_runtime(c).script
    block = sh_value(script, "EnsureContainerRuntime.containerd", "REGISTRY_TOML")
    base = CONTAINERD_CONFIG
    (tmp_path / "containerd-config.toml").write_text(base)
    return base + block + "\n"


def dump(path) -> dict:
    exe = shutil.which("containerd")
    if exe is None:
        pytest.fail("Debian's containerd is not installed: run scripts/bootstrap (apt-get install containerd)", pytrace=False)
    p = subprocess.run([exe, "--config", str(path), "config", "dump"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return tomllib.loads(p.stdout)


def flat(d, prefix=()):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(flat(v, prefix + (k,)))
        else:
            out[prefix + (k,)] = v
    return out


CRI = ("plugins", "io.containerd.grpc.v1.cri", "registry")
HOSTILE = ('https://m.example.com"]\n[plugins."io.containerd.grpc.v1.cri".registry.configs."docker.io".tls]\n'
           '  insecure_skip_verify = true\n# \\ \t')


@pytest.mark.parametrize("registry, asked", [
    (None, {}),
    (Registry(mirrors=("https://mirror.example.com", "https://m2.example.com")),
     {CRI + ("mirrors", "docker.io", "endpoint"): ["https://mirror.example.com", "https://m2.example.com"]}),
    (Registry(domain="reg.example.com:5000", insecure=True),
     {CRI + ("configs", "reg.example.com:5000", "tls", "insecure_skip_verify"): True}),
    (Registry(domain="reg.example.com", insecure=True, mirrors=("https://mirror.example.com",)),
     {CRI + ("mirrors", "docker.io", "endpoint"): ["https://mirror.example.com"],
      CRI + ("configs", "reg.example.com", "tls", "insecure_skip_verify"): True}),
    # a mirror URL that tries to close its string and its table to add a setting: it stays
    # one string, escaped (core/toml.py), and nothing else appears
    (Registry(mirrors=(HOSTILE,)), {CRI + ("mirrors", "docker.io", "endpoint"): [HOSTILE]}),
], ids=["no-registry", "mirrors", "insecure-domain", "both", "hostile-mirror"])
def test_containerd_reads_every_config_the_chain_writes_and_gains_only_what_was_asked(tmp_path, registry, asked):
    text = containerd_config(ctx(registry=registry), tmp_path)
    ours = tmp_path / "config.toml"
    ours.write_text(text)
    tomllib.loads(text)  # what the stand-in containerd parses, too
    base, got = flat(dump(tmp_path / "containerd-config.toml")), flat(dump(ours))
    changed = {k: v for k, v in got.items() if base.get(k, object()) != v and k != ("imports",)}
    # A new table shows its struct's other fields at their zero value (tls: ca_file = "");
    # every other difference must be a value we asked for.
    assert {k: v for k, v in changed.items() if v not in ({}, [], "", False, 0)} == asked
    assert got[("plugins", "io.containerd.grpc.v1.cri", "sandbox_image")] == "k8s.gcr.io/pause:3.5"


def test_containerd_refuses_a_config_that_does_not_parse(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(CONTAINERD_CONFIG + '[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n'
                   '  endpoint = ["https://unterminated.example.com"\n')
    exe = shutil.which("containerd")
    if exe is None:
        pytest.fail("Debian's containerd is not installed: run scripts/bootstrap (apt-get install containerd)", pytrace=False)
    p = subprocess.run([exe, "--config", str(bad), "config", "dump"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "failed to load TOML" in p.stderr


def test_a_hostile_mirror_url_is_one_escaped_string_and_adds_no_key(tmp_path):
    text = containerd_config(ctx(registry=Registry(mirrors=(HOSTILE, "https://ok.example.com"))), tmp_path)
    base = flat(tomllib.loads(CONTAINERD_CONFIG))
    got = flat(tomllib.loads(text))
    # as written: the package's version-1 layout (plugins.cri); containerd reads it as
    # io.containerd.grpc.v1.cri (the dumps above)
    raw = ("plugins", "cri", "registry", "mirrors", "docker.io", "endpoint")
    assert set(got) - set(base) == {raw}
    assert got[raw] == [HOSTILE, "https://ok.example.com"]
    assert not any("insecure_skip_verify" in k for k in got)


def test_toml_strings_escape_what_the_spec_requires():
    from provisioners.core.toml import toml_string
    for value in ['"', "\\", "\n\r\t\b\f", "\x00\x1f\x7f", "é ü 字", 'a"b\\c\nd']:
        assert tomllib.loads(f"k = {toml_string(value)}") == {"k": value}


def test_the_token_lives_24h_unless_told_otherwise(tmp_path):
    token = docs(kubeadm_config(ctx(), tmp_path))["InitConfiguration"]["bootstrapTokens"][0]
    assert token["ttl"] == "24h0m0s"
    # EnsureJoinPreparation's token file says the same, and holds the token only as the
    # placeholder the script fills in from the uploaded file
    from provisioners.steps.cluster import TOKEN_PLACEHOLDER
    script = cluster_steps.ensure_join_preparation(
        Context(ctx().spec, M0, MASTER0, SimpleNamespace(bootstrap_token="/t", retired_bootstrap_token_ids="/r"))).script
    [prep] = yaml.safe_load_all(sh_value(script, "token", "TOKEN_CONFIG"))
    assert prep["bootstrapTokens"][0]["ttl"] == "24h0m0s"
    assert prep["bootstrapTokens"][0]["token"] == TOKEN_PLACEHOLDER
    kubeadmapi.decode(sh_value(script, "token", "TOKEN_CONFIG").replace(TOKEN_PLACEHOLDER, TOKEN))


def test_the_api_server_gets_what_edgeadm_inits_pre_run_would_set(tmp_path):
    # edgeadm v0.9.0 pkg/util/kubeadm/init.go edgeadmConfigUpdate: phases never run it
    api = docs(kubeadm_config(ctx(), tmp_path))["ClusterConfiguration"]["apiServer"]
    assert api["extraArgs"] == {
        "kubelet-preferred-address-types": "Hostname",
        "egress-selector-config-file": "/etc/kubernetes/kube-apiserver-conf/egress-selector-configuration.yaml",
        "enable-aggregator-routing": "true"}
    assert api["extraVolumes"] == [{"name": "kube-apiserver-conf", "hostPath": "/etc/kubernetes/kube-apiserver-conf",
                                    "mountPath": "/etc/kubernetes/kube-apiserver-conf", "readOnly": False,
                                    "pathType": "DirectoryOrCreate"}]
