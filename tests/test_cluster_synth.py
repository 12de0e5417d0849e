"""EdgeCluster at synth: what cdk.tf.json holds (steps as chained terraform_data resources,
outputs, no secret), that Terraform accepts it, and that bad props fail before anything is
written. Fast: no simulated site, no root."""
from __future__ import annotations

import hashlib
import json
import shlex
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.shvars import assigned
from simsite.synth import HOST_KEY, new_private_key
from tests.synth_fixtures import assert_valid_terraform, pem_body, synth_env  # noqa: F401  (fixture)

from edge_constructs.terraform.cdk import Testing as CdktfTesting  # "Testing" alone looks like a test class to pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge_constructs import HA, File, Hooks, Host, InstallPackage, Registry
from provisioners.core.errors import ValidationError
from edge_constructs.terraform.resources import tf_literal
from provisioners.steps import chains as chain
from provisioners.steps.cluster import EDGEADM_INIT_PHASES
from provisioners.steps.context import MASTER, MASTER0, Context
from provisioners.steps.step import (prelude, STAGE_DIR, STEP_DIR, Step, full_script,
                                        parse_identity_source, staged_path)

SNAPSHOT = Path(__file__).parent / "snapshots" / "master_chain.txt"
INIT_PHASES = {fn.step_name for fn in EDGEADM_INIT_PHASES}
HEX64 = re.compile(r"[0-9a-f]{64}")


def file_provisioners(resource: dict) -> list[dict]:
    return [p["file"] for p in resource["provisioner"] if "file" in p]


def script_content(resource: dict) -> str:
    contents = [f["content"] for f in file_provisioners(resource)
                if "content" in f and f["destination"].startswith(STEP_DIR)]
    assert len(contents) == 1
    return contents[0]


def identity_ref(source: str) -> tuple[str, str] | None:
    return parse_identity_source(source)


def expected_steps(env, synthesized, host_index: int = 0):
    """The chain the construct should have made for masters[host_index]."""
    spec = synthesized.cluster.spec
    ctx = Context(spec=spec, host=spec.masters[host_index],
                  role=MASTER0 if host_index == 0 else MASTER, creds=synthesized.cluster.credentials)
    return [p.step for p in chain.master_chain(ctx)]


def independent_ca_hash(ca_file: Path) -> str:
    """kubeadm's recipe: sha256 of the DER SubjectPublicKeyInfo of the CA certificate."""
    cert = x509.load_pem_x509_certificate(ca_file.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def unescaped_template_sequences(text: str) -> list[str]:
    """Every `${` or `%{` that Terraform would read as a template (not `$${` / `%%{`)."""
    found, i = [], 0
    while i < len(text):
        if text.startswith(("$${", "%%{"), i):
            i += 3
        elif text.startswith(("${", "%{"), i):
            found.append(text[i:i + 40])
            i += 2
        else:
            i += 1
    return found


def three_masters(env, **kw):
    return [env.host(f"10.0.0.{11 + i}", name=f"master-{i}", **kw) for i in range(3)]


# --- the step chain as resources -------------------------------------------------------------

def test_one_resource_per_step_chained_in_chain_order(synth_env):
    # given a single-master cluster
    s = synth_env.synth()
    host = "203.0.113.10"

    # then every step of the chain is one terraform_data, each depending on the one before,
    # the first on the host's CheckSSH, which depends on its Reset resource
    want = [st.name for st in expected_steps(synth_env, s)]
    assert s.chain(host) == want
    assert len(want) == len(set(want)) > 20
    steps_made = [r for r in s.resources.values() if "step" in r.get("input", {})]
    assert len(steps_made) == len(want)
    assert len(s.resources) == len(want) + 3          # + CheckHostKey, Reset, CheckSSH
    # the chain starts once the cluster's identity exists (its values are uploaded), with
    # the host's key checked before the Reset stores it
    key_check = s.resources[s.reset_key(host)]["depends_on"][0].split(".", 1)[1]
    assert "_CheckHostKey_" in key_check
    assert s.resources[key_check].get("depends_on", []) == ["edge_cluster_identity.edge_identity"]
    # and the cluster is ready when its master's certificates are read, after the last step
    (ready,) = s.cluster.ready
    certificates = s.json["resource"]["edge_master_certificates"]
    assert list(certificates) == [ready.friendly_unique_id]
    assert certificates[ready.friendly_unique_id]["depends_on"] == [
        f"terraform_data.{s.last_key(host)}"]


def test_each_step_uploads_its_files_and_script_then_runs_it(synth_env):
    s = synth_env.synth()
    for step in expected_steps(synth_env, s):
        _, res = s.resource("203.0.113.10", step.name)
        provs = res["provisioner"]
        # mkdir of the staging and script directories first
        assert provs[0] == {"remote-exec": {"inline": [
            f"mkdir -p -m 0700 {step.stage_dir} {STEP_DIR}"]}}
        # one file provisioner per upload to the staging path: a local file from its absolute
        # path, an identity value from state
        uploads = [p["file"] for p in provs[1:1 + len(step.uploads)]]
        # (and what the step shows: EnsureEdgeComponentsVersion's workload -> image)
        triggers = {"fingerprint": step.fingerprint(), **(step.shown or {})}
        for i, (up, got) in enumerate(zip(step.uploads, uploads)):
            ref = identity_ref(up.source)
            if ref:
                assert got == {"content": "${edge_cluster_identity.%s.%s}" % ref,
                               "destination": staged_path(step, i)}
                triggers[ref[1]] = '${edge_cluster_identity.%s.digests["%s"]}' % ref
            else:
                assert got == {"source": up.source, "destination": staged_path(step, i)}
                assert os.path.isabs(got["source"]) and os.path.isfile(got["source"])
        # then the script itself, Terraform-escaped
        assert provs[1 + len(step.uploads)] == {"file": {
            "content": tf_literal(full_script(step, "203.0.113.10")),
            "destination": step.remote_path}}
        # then it runs
        assert provs[-1] == {"remote-exec": {"inline": ["set -e", f"sh {step.remote_path}"]}}
        assert len(provs) == 3 + len(step.uploads)
        # replaced when the script, a file, an identity value it uploads or what it shows changes
        assert res["triggers_replace"] == triggers


def test_secrets_and_package_reach_the_host_as_uploads(synth_env):
    s = synth_env.synth()
    creds = s.cluster.credentials
    assert CdktfTesting.to_have_resource_with_properties(s.text, "terraform_data", {
        "input": {"host": "203.0.113.10", "step": "EnsureInstallPackage"},
        "provisioner": [
            {"remote-exec": {"inline": [
                f"mkdir -p -m 0700 {STAGE_DIR}/EnsureInstallPackage {STEP_DIR}"]}},
            {"file": {"source": str(synth_env.package),
                      "destination": f"{STAGE_DIR}/EnsureInstallPackage/0"}},
            {"file": {"destination": f"{STEP_DIR}/EnsureInstallPackage.sh"}},
            {"remote-exec": {"inline": ["set -e", f"sh {STEP_DIR}/EnsureInstallPackage.sh"]}},
        ],
    })
    # secrets come from the identity in state, never from a local file
    contents = {f.get("content") for f in file_provisioners(
        s.resource("203.0.113.10", "EnsureKubeadmConfig")[1])}
    assert creds.expr("bootstrap_token") in contents
    contents = {f.get("content") for f in file_provisioners(
        s.resource("203.0.113.10", "EnsureCertificates")[1])}
    assert {creds.expr("ca_cert"), creds.expr("ca_key"), creds.expr("sa_key")} <= contents


def test_fingerprint_changes_when_the_script_changes(synth_env):
    before = synth_env.synth()
    after = synth_env.synth(pod_cidr="10.245.0.0/16")
    fp = lambda s, step: s.resource("203.0.113.10", step)[1]["triggers_replace"]["fingerprint"]  # noqa: E731
    assert script_content(before.resource("203.0.113.10", "EnsureKubeadmConfig")[1]) != \
        script_content(after.resource("203.0.113.10", "EnsureKubeadmConfig")[1])
    assert fp(before, "EnsureKubeadmConfig") != fp(after, "EnsureKubeadmConfig")
    # a step whose script did not change keeps its fingerprint (it is not re-run)
    assert fp(before, "EnsureSysctl") == fp(after, "EnsureSysctl")


def test_fingerprint_changes_when_an_uploaded_file_changes(synth_env):
    src = synth_env.tmp_path / "app.conf"
    src.write_text("color = blue\n")
    files = [File(str(src), "/etc/app/app.conf")]
    before = synth_env.synth(files=files)
    src.write_text("color = red\n")             # same path, same script, other bytes
    after = synth_env.synth(files=files)
    b = before.resource("203.0.113.10", "EnsureCopyFiles")[1]
    a = after.resource("203.0.113.10", "EnsureCopyFiles")[1]
    assert script_content(b) == script_content(a)
    assert b["triggers_replace"] != a["triggers_replace"]
    # the install package too: new bytes (and their sha256, checked at synth) re-run its step
    pk = lambda s: s.resource("203.0.113.10", "EnsureInstallPackage")[1]["triggers_replace"]  # noqa: E731
    old = pk(after)
    synth_env.package.write_bytes(b"another package\n")
    new = InstallPackage(path=str(synth_env.package),
                         sha256=hashlib.sha256(b"another package\n").hexdigest())
    assert pk(synth_env.synth(files=files, install_package=new)) != old


def test_connection_has_host_port_user_key_path_and_host_key(synth_env, monkeypatch):
    # given a key named relative to the working directory and a pinned host key
    monkeypatch.chdir(synth_env.tmp_path)
    pub = new_private_key(synth_env.tmp_path / "relkey")
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key
    host_key = load_ssh_private_key(pub.read_bytes(), None).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    host = Host("203.0.113.10", port=2222, user="edge", private_key_file="relkey",
                host_key=host_key)
    s = synth_env.synth(masters=[host])
    # then every step connects with the key read from its absolute path at apply
    abs_key = str(synth_env.tmp_path / "relkey")
    want = {"type": "ssh", "host": "203.0.113.10", "port": 2222, "user": "edge",
            "private_key": '${file("%s")}' % abs_key, "host_key": host_key, "timeout": "30s"}
    for step in s.chain("203.0.113.10"):
        # remote-exec's script in the SSH user's home, never the 0777 /tmp default
        assert s.resource("203.0.113.10", step)[1]["connection"] == {
            **want, "script_path": f"./.edge-constructs-{step}.sh"}
    assert CdktfTesting.to_have_resource_with_properties(s.text, "terraform_data", {
        "input": {"host": "203.0.113.10", "step": "EnsureSysctl"}, "connection": want})


def test_ssh_timeout_is_a_prop_and_each_host_is_checked_before_its_chain(synth_env):
    # given a longer SSH timeout than the default 30 s
    s = synth_env.synth(ssh_timeout=90)
    host = "203.0.113.10"
    # then every step's connection waits that long
    for step in s.chain(host):
        assert s.resource(host, step)[1]["connection"]["timeout"] == "90s"
    # and the chain starts with one CheckSSH of its host, run locally with the synth's
    # Python, carrying the host as JSON (the key's path, never the key)
    check = s.resources[s.check_key(host)]
    assert check["provisioner"] == [{"local-exec": {
        "command": f"{shlex.quote(sys.executable)} -m provisioners.ssh check --timeout 10",
        "environment": {"EDGE_CHECK": "${self.input.hosts}"}}}]
    hosts = json.loads(check["input"]["hosts"])["hosts"]
    assert hosts == [{"address": host, "port": 22, "user": "root", "host_key": HOST_KEY,
                      "private_key_file": str(synth_env.key_file)}]
    assert "PRIVATE KEY" not in s.text
    # re-checked when the hosts or their pinned keys change, and whenever a step of the
    # chain runs again (its triggers are the chain's): a changed host key stops there
    # (but what a step shows for the plan: its fingerprint changes with it)
    chain_triggers = [{k: v for k, v in s.resource(host, step)[1]["triggers_replace"].items() if k != "images"}
                      for step in s.chain(host)]
    assert check["triggers_replace"] == {"hosts": check["input"]["hosts"],
                                         "host_keys": {host: HOST_KEY},
                                         "steps": chain_triggers}


@pytest.mark.parametrize("value", [0, 3601, "30s", 2.5, True])
def test_fails_when_ssh_timeout_is_not_whole_seconds(synth_env, value):
    with pytest.raises(ValidationError) as caught:
        synth_env.synth(ssh_timeout=value)
    assert str(caught.value) == (
        f"ssh_timeout: got {value!r}; must be whole seconds from 1 to 3600: how long "
        f"Terraform keeps trying to reach a host (default 30)")


def test_skip_steps_removes_steps(synth_env):
    full = synth_env.synth().chain("203.0.113.10")
    s = synth_env.synth(skip_steps=["EnsureDisableSwap", "EnsurePreflight"])
    chained = s.chain("203.0.113.10")          # still one unbroken chain
    assert chained == [n for n in full if n not in ("EnsureDisableSwap", "EnsurePreflight")]
    assert not [r for r in s.resources.values()
                if r.get("input", {}).get("step") in ("EnsureDisableSwap", "EnsurePreflight")]


def test_three_masters_with_a_vip_form_then_join_as_control_plane(synth_env):
    # given three masters behind a kube-vip VIP
    s = synth_env.synth(masters=three_masters(synth_env), ha=HA(vip="10.0.0.100",
                                                                interface="eth0"))
    first, *others = ["master-0", "master-1", "master-2"]
    # master 0 runs every init phase, kube-vip included, and does not join
    c0 = s.chain(first)
    assert INIT_PHASES <= set(c0)
    assert "EnsureKubeadmInitPhaseKubeVIP" in c0
    assert "EnsureJoinControlPlane" not in c0
    assert c0 == [st.name for st in expected_steps(synth_env, s, 0)]
    kube_vip = script_content(s.resource(first, "EnsureKubeadmInitPhaseKubeVIP")[1])
    assert assigned(kube_vip, "ARGS").split("\n") == [
        "init", "phase", "kube-vip", "--default-ha", "kube-vip", "--control-plane-endpoint",
        "10.0.0.100:6443", "--interface", "eth0"]
    # the others join as control plane, after the one before them is done
    prev = first
    for i, m in enumerate(others, start=1):
        c = s.chain(m)
        assert c == [st.name for st in expected_steps(synth_env, s, i)]
        assert "EnsureJoinControlPlane" in c
        assert not INIT_PHASES & set(c)
        join = script_content(s.resource(m, "EnsureJoinControlPlane")[1])
        # through the VIP (the hidden kube-vip join phase takes the endpoint's host as its VIP);
        # join-prepare skipped: it removes ca.crt (edgeadm pkg/edgeadm/steps/join_master.go)
        assert assigned(join, "ENDPOINT") == "10.0.0.100:6443"
        args = assigned(join, "ARGS").split("\n")
        assert "--control-plane" in args and "--skip-phases=init-node,join-prepare" in args
        assert args[args.index("--interface") + 1] == "eth0"
        key_check = s.resources[s.reset_key(m)]["depends_on"][0].split(".", 1)[1]
        assert s.resources[key_check]["depends_on"] == [f"terraform_data.{s.last_key(prev)}"]
        prev = m
    # each master's certificates after the whole chain, one master after the other
    certificates = s.json["resource"]["edge_master_certificates"]
    assert [r["master"] for r in certificates.values()] == ["master-0", "master-1", "master-2"]
    deps = [r["depends_on"] for r in certificates.values()]
    assert deps == [[f"terraform_data.{s.last_key('master-2')}"],
                    ["edge_master_certificates.edge_certificates_master-0"],
                    ["edge_master_certificates.edge_certificates_master-1"]]
    assert s.cluster.ready[0].friendly_unique_id == "edge_certificates_master-2"
    assert s.outputs["edge_api_server_endpoint"]["value"] == "10.0.0.100:6443"


def test_kube_vip_phase_only_with_a_vip(synth_env):
    s = synth_env.synth(masters=three_masters(synth_env), ha=HA(endpoint="lb.example.com:6443"))
    assert "EnsureKubeadmInitPhaseKubeVIP" not in s.chain("master-0")
    assert "EnsureKubeadmInitPhaseKubeVIP" not in synth_env.synth().chain("203.0.113.10")
    # without a VIP the joins skip edgeadm's hidden kube-vip phase, which would take master 0's address
    join = script_content(s.resource("master-1", "EnsureJoinControlPlane")[1])
    assert "--skip-phases=init-node,join-prepare,kube-vip" in assigned(join, "ARGS").split("\n")
    assert assigned(join, "ENDPOINT") == "10.0.0.11:6443"   # master 0
    assert s.outputs["edge_api_server_endpoint"]["value"] == "lb.example.com:6443"


def test_a_load_balancer_endpoint_keeps_its_own_port(synth_env):
    s = synth_env.synth(masters=three_masters(synth_env), ha=HA(endpoint="lb.example.com:8443"))
    assert s.outputs["edge_api_server_endpoint"]["value"] == "lb.example.com:8443"
    assert s.outputs["edge_join_command"]["value"].startswith("edgeadm join lb.example.com:8443 ")


def test_reset_runs_at_destroy_reading_only_self_input(synth_env):
    s = synth_env.synth()
    reset = s.resources[s.reset_key("203.0.113.10")]
    [item] = json.loads(reset["input"]["teardown"])
    assert item["host"] == {"address": "203.0.113.10", "port": 22, "user": "root",
                            "private_key_file": str(synth_env.key_file), "host_key": HOST_KEY}
    assert item["step"]["name"] == "ResetMaster" and item["step"]["on"] == "MASTERS"
    # the script by reference (no body in a plan), rendered by the package at destroy
    assert re.fullmatch(r"ResetMaster sha256:[0-9a-f]{16}", item["step"]["ref"]), item["step"]
    assert "\n" not in reset["input"]["teardown"]
    from provisioners.ssh.teardown import decode
    [placed] = decode(reset["input"]["teardown"])
    assert "edgeadm reset --force" in placed.step.script
    assert "python" not in reset["input"]     # the interpreter is not kept in state
    [prov] = reset["provisioner"]
    lexec = prov["local-exec"]
    assert lexec["when"] == "destroy"
    assert lexec["command"] == f"{shlex.quote(sys.executable)} -m provisioners.ssh.teardown"
    assert lexec["environment"] == {"EDGE_TEARDOWN": "${self.input.teardown}"}
    # destroy-time provisioners may reference only self
    exprs = re.findall(r"\$\{([^}]*)\}", json.dumps(lexec))
    assert exprs and all(re.fullmatch(r"self\.input\.\w+", e) for e in exprs), exprs


def test_reset_of_a_password_host_carries_the_env_var_name_never_the_password(
        synth_env, monkeypatch):
    monkeypatch.setenv("EDGE_SSH_PASSWORD", "correct horse battery staple")
    monkeypatch.chdir(synth_env.tmp_path)
    s = synth_env.synth(masters=[Host("203.0.113.10", password_env="EDGE_SSH_PASSWORD",
                                      host_key=HOST_KEY)])
    [item] = json.loads(s.resources[s.reset_key("203.0.113.10")]["input"]["teardown"])
    host = item["host"]
    assert "private_key_file" not in host and host["password_env"] == "EDGE_SSH_PASSWORD"
    assert "correct horse" not in json.dumps(s.resources)


# --- outputs ---------------------------------------------------------------------------------

def test_join_command_output_has_the_exact_shape(synth_env):
    s = synth_env.synth()
    out = s.outputs["edge_join_command"]
    assert out["sensitive"] is True
    pkg = "/var/lib/edge_constructs/pkg/kube-linux-amd64-v1.22.6.tar.gz"
    # token and CA hash come from the identity in state
    assert out["value"] == (
        "edgeadm join 203.0.113.10:6443 --token ${edge_cluster_identity.edge_identity.bootstrap_token} "
        "--discovery-token-ca-cert-hash ${edge_cluster_identity.edge_identity.ca_cert_hash} "
        f"--install-pkg-path {pkg} --enable-edge=true")
    assert s.cluster.join_command == out["value"]


def test_kubeconfig_endpoint_and_ca_hash_outputs(synth_env):
    s = synth_env.synth()
    kube = s.outputs["edge_kubeconfig"]
    assert kube["sensitive"] is True
    assert kube["value"] == "${edge_cluster_identity.edge_identity.kubeconfig}"
    assert s.outputs["edge_api_server_endpoint"] == {"value": "203.0.113.10:6443"}
    assert s.outputs["edge_ca_cert_hash"] == {
        "value": "${edge_cluster_identity.edge_identity.ca_cert_hash}"}
    assert set(s.outputs) == {"edge_join_command", "edge_join_script", "edge_kubeconfig", "edge_nodes",
                              "edge_node_bundle_sha256",
                             "edge_edge_components", "edge_certificates",
                              "edge_api_server_endpoint", "edge_ca_cert_hash"}


def test_the_identity_resource_carries_what_the_cluster_says(synth_env):
    s = synth_env.synth(token_rotation="2026-12", leaf_validity_days=90)
    (name, identity), = s.json["resource"]["edge_cluster_identity"].items()
    assert name == "edge_identity"
    assert {k: v for k, v in identity.items() if k != "//"} == {
        "cluster_name": "shenzhen-edge", "endpoint": "203.0.113.10:6443",
        "virtual_address": "169.254.20.11", "token_rotation": "2026-12",
        "kubernetes_service_ip": "10.96.0.1",
        "leaf_validity_days": 90}
    assert s.json["terraform"]["required_providers"]["edge"] == {
        "source": "edge-constructs.local/edge-constructs/edge", "version": "0.2.0"}
    # a replacement is refused by the provider unless asked for
    s = synth_env.synth(replace_identity=True)
    assert s.json["resource"]["edge_cluster_identity"]["edge_identity"]["allow_replace"] is True


@pytest.mark.parametrize("prop, value", [("token_rotation", ""), ("leaf_validity_days", 0),
                                          ("leaf_validity_days", "90"), ("replace_identity", "yes")])
def test_fails_when_an_identity_prop_is_bad(synth_env, prop, value):
    with pytest.raises(ValidationError) as e:
        synth_env.cluster(**{prop: value})
    assert e.value.field == prop and repr(value) in str(e.value)


def test_fails_when_credentials_dir_is_given(synth_env):
    with pytest.raises(ValidationError) as e:
        synth_env.cluster(credentials_dir=str(synth_env.tmp_path / "creds"))
    assert e.value.field == "credentials_dir"
    assert "terraform import edge_cluster_identity." in str(e.value)


def test_outputs_are_named_after_the_construct_id(synth_env):
    s = synth_env.synth("shenzhen")
    assert set(s.outputs) == {"shenzhen_join_command", "shenzhen_join_script", "shenzhen_kubeconfig",
                             "shenzhen_nodes", "shenzhen_edge_components", "shenzhen_node_bundle_sha256",
                                  "shenzhen_certificates",
                              "shenzhen_api_server_endpoint", "shenzhen_ca_cert_hash"}


def test_api_server_address_changes_the_endpoint(synth_env):
    s = synth_env.synth(api_server_address="edge.example.com", api_server_port=7443)
    assert s.outputs["edge_api_server_endpoint"]["value"] == "edge.example.com:7443"
    assert s.outputs["edge_join_command"]["value"].startswith(
        "edgeadm join edge.example.com:7443 --token ")
    # the admin kubeconfig (made by the identity) dials it too
    assert s.json["resource"]["edge_cluster_identity"]["edge_identity"]["endpoint"] == \
        "edge.example.com:7443"


def test_url_package_goes_into_install_pkg_path(synth_env):
    url = "https://mirror.example.com/superedge/kube-linux-amd64-v1.22.6.tar.gz"
    s = synth_env.synth(install_package=InstallPackage(url=url, sha256=synth_env.sha256))
    assert s.outputs["edge_join_command"]["value"].endswith(
        f"--install-pkg-path {url} --enable-edge=true")
    _, res = s.resource("203.0.113.10", "EnsureInstallPackage")
    assert not [f for f in file_provisioners(res) if "source" in f]   # downloaded, not uploaded
    assert "curl -fsSL --retry 3" in script_content(res) and url in script_content(res)


# --- no secret in cdk.tf.json -----------------------------------------------------------------

def test_no_secret_in_the_synthesized_json(synth_env, monkeypatch):
    # given a cluster that touches every kind of secret: three masters with their own keys,
    # a bastion, a password host, files, hooks and a registry
    monkeypatch.setenv("EDGE_SSH_PASSWORD", "pa55word-that-must-not-leak")
    keys = [new_private_key(synth_env.tmp_path / f"key{i}") for i in range(4)]
    bastion = Host("198.51.100.1", private_key_file=str(keys[3]), host_key=HOST_KEY)
    masters = [Host("10.0.0.11", name="master-0", private_key_file=str(keys[0]),
                    bastion=bastion, host_key=HOST_KEY),
               Host("10.0.0.12", name="master-1", private_key_file=str(keys[1]),
                    host_key=HOST_KEY),
               Host("10.0.0.13", name="master-2", password_env="EDGE_SSH_PASSWORD",
                    host_key=HOST_KEY)]
    src = synth_env.tmp_path / "app.conf"
    src.write_text("x=1\n")
    s = synth_env.synth(masters=masters, ha=HA(vip="10.0.0.100"), files=[File(str(src), "/etc/a")],
                        hooks=Hooks(pre_install="echo pre", post_cluster_install="echo post"),
                        registry=Registry(domain="registry.example.com", address="10.0.0.5"))
    # and the identity made by a real apply of its resource (secrets exist only in state)
    outdir = synth_env.full_synth(s.stack)
    values = apply_identity(Path(outdir) / "stacks" / "t")
    text = (Path(outdir) / "stacks" / "t" / "cdk.tf.json").read_text()
    secrets = {name: values[name] for name in
               ("bootstrap_token", "kubeconfig", "ca_key", "sa_key",
                "admin_key", "etcd_ca_key", "front_proxy_ca_key", "lite_apiserver_key",
                "tunnel_anp_client_key")}
    secrets["bootstrap token secret"] = values["bootstrap_token"].split(".", 1)[1]
    secrets["SSH password"] = "pa55word-that-must-not-leak"
    for kf in keys + [synth_env.key_file]:
        for n, line in enumerate(pem_body(kf.read_text()).splitlines()):
            secrets[f"{kf.name} line {n}"] = line
    for name in ("ca_key", "sa_key", "admin_key"):
        for n, line in enumerate(pem_body(values[name]).splitlines()):
            secrets[f"{name} line {n}"] = line
    user = yaml.safe_load(values["kubeconfig"])["users"][0]["user"]
    secrets["admin.conf client-key-data"] = user["client-key-data"]

    leaked = [what for what, value in secrets.items() if value and value in text]
    assert not leaked, f"secrets in cdk.tf.json: {leaked}"
    assert "PRIVATE KEY" not in text
    # the JSON refers to the identity in state, and holds no credentials directory
    assert "${edge_cluster_identity.edge_identity.bootstrap_token}" in text
    assert ".edge-credentials" not in text and "credentials" not in os.listdir(synth_env.tmp_path)


def apply_identity(stack_dir: Path) -> dict:
    """`terraform apply -target` of the identity alone (local state); its values."""
    from edge_constructs.terraform.binary import terraform_env
    import subprocess
    env = terraform_env()
    env["TF_VAR_ssh_password_EDGE_SSH_PASSWORD"] = "pa55word-that-must-not-leak"
    tf = env["TERRAFORM_BINARY_NAME"]
    for args in (["init", "-input=false"],
                 ["apply", "-auto-approve", "-input=false",
                  "-target=edge_cluster_identity.edge_identity"]):
        run = subprocess.run([tf, *args], cwd=stack_dir, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
    show = subprocess.run([tf, "show", "-json"], cwd=stack_dir, env=env, capture_output=True,
                          text=True)
    (res,) = [r for r in json.loads(show.stdout)["values"]["root_module"]["resources"]
              if r["type"] == "edge_cluster_identity"]
    return res["values"]


# --- Terraform accepts it -----------------------------------------------------------------

def test_scripts_escape_every_template_sequence(synth_env):
    # given user text that looks like a Terraform template
    s = synth_env.synth(hooks=Hooks(pre_install='echo "${HOME}" %{if true}x%{endif} $${x}'),
                        masters=three_masters(synth_env), ha=HA(vip="10.0.0.100"))
    contents = [f["content"] for r in s.resources.values() if "provisioner" in r
                for p in r["provisioner"] for f in [p.get("file", {})]
                if "content" in f and f["destination"].startswith(STEP_DIR)]
    assert len(contents) > 60
    bad = {c.split("\n")[1]: unescaped_template_sequences(c) for c in contents
           if unescaped_template_sequences(c)}
    assert not bad, bad
    hook = script_content(s.resource("master-0", "EnsurePreInstallHook")[1])
    assert 'echo "$${HOME}" %%{if true}x%%{endif} $$${x}' in hook


def test_full_synth_is_valid_terraform(synth_env):
    s = synth_env.synth(masters=three_masters(synth_env), ha=HA(vip="10.0.0.100"),
                        hooks=Hooks(pre_install='echo "${HOME}" %{if true}x%{endif}'))
    assert_valid_terraform(synth_env.full_synth(s.stack))


# --- snapshot of the chain ---------------------------------------------------------------

def render_chain(s, env) -> str:
    """Step names, uploads and scripts of the single master, tmp paths and hashes normalized."""
    host = "203.0.113.10"
    names = s.chain(host)
    prelude_text = tf_literal(prelude("<name>", host, "<result>"))
    out = ["# master chain of a single-master cluster (tests/test_cluster_synth.py;",
           "# UPDATE_SNAPSHOTS=1 rewrites it). Scripts as Terraform receives them.", "",
           "## steps", *names, "", "## prelude of every script", prelude_text.rstrip("\n")]
    for name in names:
        res = s.resource(host, name)[1]
        content = script_content(res)
        own_prelude = tf_literal(prelude(name, host, Step(name, "").result_path))
        assert content.startswith(own_prelude), name
        out += ["", f"## {name}"]
        out += [f"upload {f['source']} -> {f['destination']}"
                for f in file_provisioners(res) if "source" in f]
        out += [f"upload {f['content'][2:-1]} -> {f['destination']}"
                for f in file_provisioners(res)
                if "content" in f and not f["destination"].startswith(STEP_DIR)]
        out.append(content[len(own_prelude):].rstrip("\n"))
    text = "\n".join(out) + "\n"
    text = text.replace(str(env.tmp_path), "<tmp>")
    text = text.replace(env.sha256, "<package-sha256>")
    assert not HEX64.search(text), HEX64.search(text)
    return text


def test_master_chain_snapshot(synth_env):
    s = synth_env.synth()
    got = render_chain(s, synth_env)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(got)
    assert SNAPSHOT.is_file(), f"{SNAPSHOT} missing: run with UPDATE_SNAPSHOTS=1"
    want = SNAPSHOT.read_text()
    if got != want:
        import difflib
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            "snapshot", "synthesized", n=2))
        pytest.fail(f"master chain differs from {SNAPSHOT.name} (UPDATE_SNAPSHOTS=1 to accept):"
                    f"\n{diff[:6000]}")


# --- nothing is generated at synth ---------------------------------------------------------

def test_synthesizing_twice_gives_the_same_json(synth_env):
    # the identity is made by the provider on the first apply, not at synth: a fresh
    # checkout synthesizes exactly what the first one did
    first = synth_env.synth()
    second = synth_env.synth()
    assert second.json["resource"] == first.json["resource"]
    assert second.outputs == first.outputs


# --- bad input: refused in the constructor, before anything is written ---------------------

def fails_before_writing(env, monkeypatch, field: str, value, **props) -> str:
    monkeypatch.chdir(env.tmp_path)
    with pytest.raises(ValidationError) as exc:
        env.cluster(**props)
    msg = str(exc.value)
    assert exc.value.field == field, msg
    assert msg.startswith(f"{field}: got {value!r};"), msg
    assert not (env.tmp_path / ".edge-credentials").exists()
    return msg


def test_fails_when_an_address_is_bad(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "masters[0].address", "203.0.113.300",
                               masters=[synth_env.host("203.0.113.300")])
    assert "IPv4 address" in msg


def test_fails_when_addresses_are_duplicated(synth_env, monkeypatch):
    hosts = [synth_env.host("10.0.0.11"), synth_env.host("10.0.0.12"),
             synth_env.host("10.0.0.11")]
    msg = fails_before_writing(synth_env, monkeypatch, "masters[2].address", "10.0.0.11",
                               masters=hosts, ha=HA(vip="10.0.0.100"))
    assert "masters[0] already uses 10.0.0.11 port 22" in msg


def test_fails_when_the_number_of_masters_is_even(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "masters", 2,
                               masters=three_masters(synth_env)[:2], ha=HA(vip="10.0.0.100"))
    assert "odd number of masters" in msg


def test_fails_when_ha_has_no_vip_or_endpoint(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "ha", HA(),
                               masters=three_masters(synth_env), ha=HA())
    assert "set exactly one of vip" in msg


def test_fails_when_several_masters_have_no_ha(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "ha", None,
                               masters=three_masters(synth_env))
    assert "3 masters need one address for the API server" in msg


def test_fails_when_pod_and_service_cidrs_overlap(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "service_cidr", "10.96.0.0/12",
                               pod_cidr="10.100.0.0/16", service_cidr="10.96.0.0/12")
    assert "overlaps pod_cidr 10.100.0.0/16" in msg


def test_fails_when_a_cidr_holds_the_virtual_address(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "pod_cidr", "169.254.0.0/16",
                               pod_cidr="169.254.0.0/16")
    assert "contains superedge.virtual_address 169.254.20.11" in msg


def test_fails_when_the_version_pair_is_unsupported(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "kubernetes_version", "1.20.6",
                               kubernetes_version="1.20.6")
    assert "SuperEdge v0.9.0 installs Kubernetes 1.22.6" in msg
    assert "SuperEdge v0.7.0 with Kubernetes 1.20.6" in msg


def test_fails_when_the_renewal_window_is_as_long_as_a_certificates_life(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "certificate_renewal_before", "2400h",
                               certificate_renewal_before="2400h")
    assert "(2160h)" in msg and "renew-now" in msg


def test_fails_when_the_package_has_no_sha256(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "install_package.sha256", None,
                               install_package=InstallPackage(path=str(synth_env.package)))
    assert "is required" in msg and "sha256sum" in msg


def test_fails_when_a_host_has_no_ssh_credentials(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "masters[0].private_key_file", None,
                               masters=[Host("203.0.113.10")])
    assert "no SSH credentials" in msg and "password_env" in msg


def test_fails_when_the_name_is_not_dns1123(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "name", "Shenzhen_Edge",
                               name="Shenzhen_Edge")
    assert "RFC 1123 label" in msg


def test_fails_when_skip_steps_names_an_unknown_step(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "skip_steps[1]", "EnsureSwapOff",
                               skip_steps=["EnsureSysctl", "EnsureSwapOff"])
    assert "unknown step; known steps:" in msg and "EnsureDisableSwap" in msg


def test_synth_writes_no_credentials(synth_env, monkeypatch):
    fails_before_writing(synth_env, monkeypatch, "kubernetes_version", "1.22.7",
                         kubernetes_version="1.22.7")
    # and a good cluster writes none either: the identity lives in state
    synth_env.synth()
    assert not (synth_env.tmp_path / ".edge-credentials").exists()
