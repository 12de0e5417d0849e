"""EdgeCluster at synth: what cdk.tf.json holds (steps as chained terraform_data resources,
outputs, no secret), that Terraform accepts it, and that bad props fail before anything is
written. Fast: no simulated site, no root."""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.synth_fixtures import assert_valid_terraform, new_private_key, pem_body, synth_env  # noqa: F401  (fixture)

from edge_constructs.terraform.cdk import Testing as CdktfTesting  # "Testing" alone looks like a test class to pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge_constructs import HA, File, Hooks, Host, InstallPackage, Registry
from edge_constructs.core.errors import ValidationError
from edge_constructs.terraform.resources import tf_literal
from edge_constructs.steps import chains as chain
from edge_constructs.steps.cluster import EDGEADM_INIT_PHASES
from edge_constructs.steps.context import MASTER, MASTER0, Context
from edge_constructs.steps.step import PRELUDE, STAGE_DIR, STEP_DIR, Step, full_script, staged_path

SNAPSHOT = Path(__file__).parent / "snapshots" / "master_chain.txt"
INIT_PHASES = {fn.step_name for fn in EDGEADM_INIT_PHASES}
HEX64 = re.compile(r"[0-9a-f]{64}")


def file_provisioners(resource: dict) -> list[dict]:
    return [p["file"] for p in resource["provisioner"] if "file" in p]


def script_content(resource: dict) -> str:
    contents = [f["content"] for f in file_provisioners(resource) if "content" in f]
    assert len(contents) == 1
    return contents[0]


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
    assert len(s.resources) == len(want) + 2          # + Reset, CheckSSH
    assert s.resources[s.reset_key(host)].get("depends_on", []) == []
    # and the cluster is ready when the last step is
    assert s.cluster.ready[0].friendly_unique_id == s.last_key(host)


def test_each_step_uploads_its_files_and_script_then_runs_it(synth_env):
    s = synth_env.synth()
    for step in expected_steps(synth_env, s):
        _, res = s.resource("203.0.113.10", step.name)
        provs = res["provisioner"]
        # mkdir of the staging and script directories first
        assert provs[0] == {"remote-exec": {"inline": [
            f"mkdir -p -m 0700 {step.stage_dir} {STEP_DIR}"]}}
        # one file provisioner per upload, from an absolute local path to the staging path
        uploads = [p["file"] for p in provs[1:1 + len(step.uploads)]]
        assert uploads == [{"source": up.source, "destination": staged_path(step, i)}
                           for i, up in enumerate(step.uploads)]
        assert all(os.path.isabs(u["source"]) and os.path.isfile(u["source"]) for u in uploads)
        # then the script itself, Terraform-escaped
        assert provs[1 + len(step.uploads)] == {"file": {
            "content": tf_literal(full_script(step, "203.0.113.10")),
            "destination": step.remote_path}}
        # then it runs
        assert provs[-1] == {"remote-exec": {"inline": ["set -e", f"sh {step.remote_path}"]}}
        assert len(provs) == 3 + len(step.uploads)
        assert res["triggers_replace"] == {"fingerprint": step.fingerprint()}


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
    sources = {f.get("source") for f in file_provisioners(
        s.resource("203.0.113.10", "EnsureKubeadmConfig")[1])}
    assert str(creds.bootstrap_token) in sources
    sources = {f.get("source") for f in file_provisioners(
        s.resource("203.0.113.10", "EnsureCertificates")[1])}
    assert {str(creds.ca_cert), str(creds.ca_key), str(creds.sa_key)} <= sources


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
        assert s.resource("203.0.113.10", step)[1]["connection"] == want
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
        "command": '"${self.input.python}" -m edge_constructs.ssh check --timeout 10',
        "environment": {"EDGE_CHECK": "${self.input.hosts}"}}}]
    hosts = json.loads(check["input"]["hosts"])["hosts"]
    assert hosts == [{"address": host, "port": 22, "user": "root",
                      "private_key_file": str(synth_env.key_file)}]
    assert "PRIVATE KEY" not in s.text
    assert check["triggers_replace"] == {"hosts": check["input"]["hosts"]}


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
    assert "edgeadm init phase kube-vip --default-ha kube-vip --control-plane-endpoint " \
        "10.0.0.100:6443 --interface eth0" in kube_vip
    # the others join as control plane, after the one before them is done
    prev = first
    for i, m in enumerate(others, start=1):
        c = s.chain(m)
        assert c == [st.name for st in expected_steps(synth_env, s, i)]
        assert "EnsureJoinControlPlane" in c
        assert not INIT_PHASES & set(c)
        join = script_content(s.resource(m, "EnsureJoinControlPlane")[1])
        assert "edgeadm join 10.0.0.11:6443" in join and "--control-plane" in join
        assert s.resources[s.reset_key(m)]["depends_on"] == [
            f"terraform_data.{s.last_key(prev)}"]
        prev = m
    assert s.cluster.ready[0].friendly_unique_id == s.last_key("master-2")
    assert s.outputs["edge_api_server_endpoint"]["value"] == "10.0.0.100:6443"


def test_kube_vip_phase_only_with_a_vip(synth_env):
    s = synth_env.synth(masters=three_masters(synth_env), ha=HA(endpoint="lb.example.com:6443"))
    assert "EnsureKubeadmInitPhaseKubeVIP" not in s.chain("master-0")
    assert "EnsureKubeadmInitPhaseKubeVIP" not in synth_env.synth().chain("203.0.113.10")
    assert s.outputs["edge_api_server_endpoint"]["value"] == "lb.example.com:6443"


def test_a_load_balancer_endpoint_keeps_its_own_port(synth_env):
    s = synth_env.synth(masters=three_masters(synth_env), ha=HA(endpoint="lb.example.com:8443"))
    assert s.outputs["edge_api_server_endpoint"]["value"] == "lb.example.com:8443"
    assert s.outputs["edge_join_command"]["value"].startswith("edgeadm join lb.example.com:8443 ")


def test_reset_runs_at_destroy_reading_only_self_input(synth_env):
    s = synth_env.synth()
    reset = s.resources[s.reset_key("203.0.113.10")]
    [item] = json.loads(reset["input"]["teardown"])
    assert item["host"] == {"address": "203.0.113.10", "port": 22, "user": "root", "name": None,
                            "private_key_file": str(synth_env.key_file), "password_env": None,
                            "host_key": None}
    assert item["step"]["name"] == "ResetMaster" and item["step"]["on"] == "MASTERS"
    assert "edgeadm reset --force" in item["step"]["script"]
    assert reset["input"]["python"] == sys.executable
    [prov] = reset["provisioner"]
    lexec = prov["local-exec"]
    assert lexec["when"] == "destroy"
    assert lexec["command"] == '"${self.input.python}" -m edge_constructs.ssh.teardown'
    assert lexec["environment"] == {"EDGE_TEARDOWN": "${self.input.teardown}"}
    # destroy-time provisioners may reference only self
    exprs = re.findall(r"\$\{([^}]*)\}", json.dumps(lexec))
    assert exprs and all(re.fullmatch(r"self\.input\.\w+", e) for e in exprs), exprs


def test_reset_of_a_password_host_carries_the_env_var_name_never_the_password(
        synth_env, monkeypatch):
    monkeypatch.setenv("EDGE_SSH_PASSWORD", "correct horse battery staple")
    monkeypatch.chdir(synth_env.tmp_path)
    s = synth_env.synth(masters=[Host("203.0.113.10", password_env="EDGE_SSH_PASSWORD")])
    [item] = json.loads(s.resources[s.reset_key("203.0.113.10")]["input"]["teardown"])
    host = item["host"]
    assert host["private_key_file"] is None and host["password_env"] == "EDGE_SSH_PASSWORD"
    assert "correct horse" not in json.dumps(s.resources)


# --- outputs ---------------------------------------------------------------------------------

def test_join_command_output_has_the_exact_shape(synth_env):
    s = synth_env.synth()
    out = s.outputs["edge_join_command"]
    assert out["sensitive"] is True
    token_file = synth_env.credentials_dir / "bootstrap-token"
    pkg = "/var/lib/edge_constructs/pkg/kube-linux-amd64-v1.22.6.tar.gz"
    m = re.fullmatch(
        r'edgeadm join 203\.0\.113\.10:6443 --token \$\{trimspace\(file\("(?P<tok>[^"]+)"\)\)\} '
        r'--discovery-token-ca-cert-hash sha256:(?P<hash>[0-9a-f]{64}) '
        r'--install-pkg-path (?P<pkg>\S+) --enable-edge=true', out["value"])
    assert m, out["value"]
    assert m["tok"] == str(token_file)
    assert m["pkg"] == pkg
    assert "sha256:" + m["hash"] == independent_ca_hash(synth_env.credentials_dir / "ca.crt")
    assert s.cluster.join_command == out["value"]


def test_kubeconfig_endpoint_and_ca_hash_outputs(synth_env):
    s = synth_env.synth()
    kube = s.outputs["edge_kubeconfig"]
    assert kube["sensitive"] is True
    assert kube["value"] == '${file("%s")}' % (synth_env.credentials_dir / "admin.conf")
    assert s.outputs["edge_api_server_endpoint"] == {"value": "203.0.113.10:6443"}
    assert s.outputs["edge_ca_cert_hash"] == {
        "value": independent_ca_hash(synth_env.credentials_dir / "ca.crt")}
    assert set(s.outputs) == {"edge_join_command", "edge_join_script", "edge_kubeconfig",
                              "edge_api_server_endpoint", "edge_ca_cert_hash"}


def test_outputs_are_named_after_the_construct_id(synth_env):
    s = synth_env.synth("shenzhen")
    assert set(s.outputs) == {"shenzhen_join_command", "shenzhen_join_script", "shenzhen_kubeconfig",
                              "shenzhen_api_server_endpoint", "shenzhen_ca_cert_hash"}


def test_api_server_address_changes_the_endpoint(synth_env):
    s = synth_env.synth(api_server_address="edge.example.com", api_server_port=7443)
    assert s.outputs["edge_api_server_endpoint"]["value"] == "edge.example.com:7443"
    assert s.outputs["edge_join_command"]["value"].startswith(
        "edgeadm join edge.example.com:7443 --token ")
    # the admin kubeconfig dials it too
    conf = yaml.safe_load((synth_env.credentials_dir / "admin.conf").read_text())
    assert conf["clusters"][0]["cluster"]["server"] == "https://edge.example.com:7443"


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
    bastion = Host("198.51.100.1", private_key_file=str(keys[3]))
    masters = [Host("10.0.0.11", name="master-0", private_key_file=str(keys[0]),
                    bastion=bastion),
               Host("10.0.0.12", name="master-1", private_key_file=str(keys[1])),
               Host("10.0.0.13", name="master-2", password_env="EDGE_SSH_PASSWORD")]
    src = synth_env.tmp_path / "app.conf"
    src.write_text("x=1\n")
    s = synth_env.synth(masters=masters, ha=HA(vip="10.0.0.100"), files=[File(str(src), "/etc/a")],
                        hooks=Hooks(pre_install="echo pre", post_cluster_install="echo post"),
                        registry=Registry(domain="registry.example.com", address="10.0.0.5"))
    text = s.text
    creds = s.cluster.credentials
    token = creds.read_bootstrap_token()
    secrets = {"bootstrap token": token, "bootstrap token secret": token.split(".", 1)[1],
               "tunnel token": creds.read_tunnel_token(),
               "SSH password": "pa55word-that-must-not-leak"}
    # every private key: the SSH keys, and every key in the credentials directory
    key_files = keys + [synth_env.key_file] + sorted(creds.directory.glob("*.key"))
    assert len(key_files) >= 12
    for kf in key_files:
        for n, line in enumerate(pem_body(kf.read_text()).splitlines()):
            secrets[f"{kf.name} line {n}"] = line
    # the admin kubeconfig, whole and its credentials
    conf_text = creds.admin_kubeconfig.read_text()
    secrets["admin.conf"] = conf_text
    user = yaml.safe_load(conf_text)["users"][0]["user"]
    secrets["admin.conf client-key-data"] = user["client-key-data"]
    secrets["admin.conf client-certificate-data"] = user["client-certificate-data"]

    leaked = [what for what, value in secrets.items() if value and value in text]
    assert not leaked, f"secrets in cdk.tf.json: {leaked}"
    assert "PRIVATE KEY" not in text
    # the JSON names the files instead
    assert str(creds.bootstrap_token) in text


# --- Terraform accepts it -----------------------------------------------------------------

def test_scripts_escape_every_template_sequence(synth_env):
    # given user text that looks like a Terraform template
    s = synth_env.synth(hooks=Hooks(pre_install='echo "${HOME}" %{if true}x%{endif} $${x}'),
                        masters=three_masters(synth_env), ha=HA(vip="10.0.0.100"))
    contents = [f["content"] for r in s.resources.values() if "provisioner" in r
                for p in r["provisioner"] for f in [p.get("file", {})] if "content" in f]
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
    prelude = tf_literal(PRELUDE.format(name="<name>", host=host, result="<result>"))
    out = ["# master chain of a single-master cluster (tests/test_cluster_synth.py;",
           "# UPDATE_SNAPSHOTS=1 rewrites it). Scripts as Terraform receives them.", "",
           "## steps", *names, "", "## prelude of every script", prelude.rstrip("\n")]
    for name in names:
        res = s.resource(host, name)[1]
        content = script_content(res)
        own_prelude = tf_literal(PRELUDE.format(name=name, host=host,
                                                result=Step(name, "").result_path))
        assert content.startswith(own_prelude), name
        out += ["", f"## {name}"]
        out += [f"upload {f['source']} -> {f['destination']}"
                for f in file_provisioners(res) if "source" in f]
        out.append(content[len(own_prelude):].rstrip("\n"))
    text = "\n".join(out) + "\n"
    text = text.replace(str(env.tmp_path), "<tmp>")
    text = text.replace(s.cluster.ca_cert_hash, "sha256:<ca-hash>")
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


# --- credentials are reused ------------------------------------------------------------------

def test_synthesizing_twice_reuses_the_credentials(synth_env):
    first = synth_env.synth()
    token_file = synth_env.credentials_dir / "bootstrap-token"
    token = token_file.read_text()
    files = {p.name: p.read_bytes() for p in synth_env.credentials_dir.iterdir() if p.is_file()}
    second = synth_env.synth()
    assert second.outputs["edge_ca_cert_hash"] == first.outputs["edge_ca_cert_hash"]
    assert second.outputs["edge_join_command"] == first.outputs["edge_join_command"]
    assert token_file.read_text() == token
    assert {p.name: p.read_bytes() for p in synth_env.credentials_dir.iterdir()
            if p.is_file()} == files
    # nothing to re-run: every step keeps its fingerprint
    assert second.resources == first.resources


# --- bad input: refused in the constructor, before anything is written ---------------------

def fails_before_writing(env, monkeypatch, field: str, value, **props) -> str:
    monkeypatch.chdir(env.tmp_path)
    with pytest.raises(ValidationError) as exc:
        env.cluster(**props)
    msg = str(exc.value)
    assert exc.value.field == field, msg
    assert msg.startswith(f"{field}: got {value!r};"), msg
    assert not env.credentials_dir.exists(), "credentials written before validation"
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
                               name="Shenzhen_Edge", credentials_dir=None)
    assert "RFC 1123 label" in msg


def test_fails_when_skip_steps_names_an_unknown_step(synth_env, monkeypatch):
    msg = fails_before_writing(synth_env, monkeypatch, "skip_steps[1]", "EnsureSwapOff",
                               skip_steps=["EnsureSysctl", "EnsureSwapOff"])
    assert "unknown step; known steps:" in msg and "EnsureDisableSwap" in msg


def test_nothing_is_written_with_the_default_credentials_dir(synth_env, monkeypatch):
    fails_before_writing(synth_env, monkeypatch, "kubernetes_version", "1.22.7",
                         kubernetes_version="1.22.7", credentials_dir=None)
    # and a good cluster does write there
    synth_env.cluster(credentials_dir=None)
    assert (synth_env.tmp_path / ".edge-credentials" / "shenzhen-edge" / "ca.crt").is_file()
