"""Host keys are verified by default (issue 8, item 1): every Host, and its bastion, gives
exactly one of host_key, known_hosts_file or insecure_ignore_host_key; a known_hosts file is
read at synth and its key pinned in Terraform's connection."""
from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from simsite.synth import HOST_KEY, new_private_key
from tests.synth_fixtures import synth_env  # noqa: F401  (fixture)

from edge_constructs import Host
from provisioners.core.errors import SSHError, ValidationError

ADDRESS = "203.0.113.10"


def _public_line(tmp_path: Path, name: str) -> str:
    """A fresh host key's OpenSSH public key line ("ssh-ed25519 AAAA…")."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f",
                    str(tmp_path / name)], check=True)
    return (tmp_path / f"{name}.pub").read_text().strip()


def _known_hosts(tmp_path: Path, entries: dict[str, str], hashed: bool = False) -> Path:
    p = tmp_path / "known_hosts"
    p.write_text("".join(f"{name} {line}\n" for name, line in entries.items()))
    if hashed:
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(p)], check=True, capture_output=True)
        assert not any(name in p.read_text() for name in entries)
    return p


def _connections(s) -> list[dict]:
    return [s.resource(ADDRESS, step)[1]["connection"] for step in s.chain(ADDRESS)]


def test_a_host_with_none_of_the_three_is_refused(synth_env):
    with pytest.raises(ValidationError) as caught:
        synth_env.synth(masters=[Host(ADDRESS, private_key_file=str(synth_env.key_file))])
    e = caught.value
    assert e.field == "masters[0].host_key" and e.value is None
    for option in ("host_key=", "known_hosts_file=", "insecure_ignore_host_key=True"):
        assert option in str(e), option


def test_a_bastion_with_none_of_the_three_is_refused(synth_env):
    bastion = Host("198.51.100.1", private_key_file=str(synth_env.key_file))
    with pytest.raises(ValidationError) as caught:
        synth_env.synth(masters=[synth_env.host(bastion=bastion)])
    assert caught.value.field == "masters[0].bastion.host_key"


@pytest.mark.parametrize("extra", [{"known_hosts_file": "KNOWN"},
                                   {"insecure_ignore_host_key": True}],
                         ids=["known_hosts_file", "insecure"])
def test_a_host_with_two_of_them_is_refused(synth_env, tmp_path, extra):
    known = _known_hosts(tmp_path, {ADDRESS: HOST_KEY})
    extra = {k: (str(known) if v == "KNOWN" else v) for k, v in extra.items()}
    with pytest.raises(ValidationError) as caught:
        synth_env.synth(masters=[synth_env.host(host_key=HOST_KEY, **extra)])
    (name,) = extra
    assert caught.value.field == f"masters[0].{name}"
    assert str(caught.value).endswith("give only one of host_key, known_hosts_file and "
                                      "insecure_ignore_host_key; host_key is given too")


def test_a_known_hosts_file_that_does_not_exist_is_refused(synth_env, tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(ValidationError) as caught:
        synth_env.synth(masters=[synth_env.host(known_hosts_file=missing)])
    e = caught.value
    assert e.field == "masters[0].known_hosts_file" and e.value == missing
    assert "must be an OpenSSH known_hosts file" in str(e) and "does not exist" in str(e)
    assert f"ssh-keyscan {ADDRESS} > {missing}" in str(e)


@pytest.mark.parametrize("port,entry", [(22, "[203.0.113.10]:2222"), (2222, ADDRESS),
                                        (22, "203.0.113.11")],
                         ids=["other port", "port 22 entry for port 2222", "other address"])
def test_a_known_hosts_file_without_the_host_is_refused(synth_env, tmp_path, port, entry):
    known = _known_hosts(tmp_path, {entry: HOST_KEY})
    with pytest.raises(ValidationError) as caught:
        synth_env.synth(masters=[synth_env.host(port=port, known_hosts_file=str(known))])
    e = caught.value
    want = ADDRESS if port == 22 else f"[{ADDRESS}]:{port}"
    assert e.field == "masters[0].known_hosts_file" and e.value == str(known)
    assert f"must hold an entry for {want} " in str(e)


@pytest.mark.parametrize("port,hashed", [(22, False), (2222, False), (22, True), (2222, True)],
                         ids=["plain", "[host]:port", "hashed", "hashed [host]:port"])
def test_a_known_hosts_entry_is_pinned_in_every_connection(synth_env, tmp_path, port, hashed):
    # given a known_hosts file with the host (and a decoy: another port of the same address)
    mine, decoy = _public_line(tmp_path, "mine"), _public_line(tmp_path, "decoy")
    name = ADDRESS if port == 22 else f"[{ADDRESS}]:{port}"
    other = f"[{ADDRESS}]:2200"
    known = _known_hosts(tmp_path, {other: decoy, name: mine}, hashed)
    # when a cluster is synthesized with it
    s = synth_env.synth(masters=[synth_env.host(port=port, known_hosts_file=str(known))])
    # then Terraform's connection pins the host's own key, read at synth
    conns = _connections(s)
    assert conns and all(c["host_key"] == mine and c["port"] == port for c in conns)
    # and the CheckSSH carries the file (absolute path) and re-runs when the entry changes
    check = s.resources[s.check_key(ADDRESS)]
    assert f'"known_hosts_file": "{known}"' in check["input"]["hosts"]
    assert check["triggers_replace"]["host_keys"] == {ADDRESS: mine}


def test_with_several_keys_for_the_host_the_ed25519_one_is_pinned(tmp_path):
    # Terraform's connection takes one key: ssh-keyscan lists ECDSA (and RSA) too
    from provisioners.core.hostkeys import key_from_known_hosts
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-C", "", "-f",
                    str(tmp_path / "ec")], check=True)
    ecdsa, ed = (tmp_path / "ec.pub").read_text().strip(), _public_line(tmp_path, "ed")
    known = tmp_path / "known_hosts"
    known.write_text(f"{ADDRESS} {ecdsa}\n{ADDRESS} {ed}\n")
    assert key_from_known_hosts(str(known), ADDRESS, 22) == ed
    known.write_text(f"{ADDRESS} {ecdsa}\n")
    assert key_from_known_hosts(str(known), ADDRESS, 22) == ecdsa


def test_a_bastion_known_hosts_entry_is_pinned_as_bastion_host_key(synth_env, tmp_path):
    jump = _public_line(tmp_path, "jump")
    known = _known_hosts(tmp_path, {"198.51.100.1": jump, ADDRESS: HOST_KEY})
    bastion = Host("198.51.100.1", private_key_file=str(synth_env.key_file),
                   known_hosts_file=str(known))
    s = synth_env.synth(masters=[synth_env.host(bastion=bastion, host_key=None,
                                                known_hosts_file=str(known))])
    conns = _connections(s)
    assert all(c["bastion_host_key"] == jump and c["host_key"] == HOST_KEY for c in conns)


def test_insecure_ignore_host_key_synthesizes_with_a_warning_naming_the_host(synth_env, caplog):
    caplog.set_level(logging.WARNING, logger="edge_constructs.hostkeys")
    s = synth_env.synth(masters=[synth_env.host(name="m0", insecure_ignore_host_key=True)])
    warned = [r.getMessage() for r in caplog.records if r.name == "edge_constructs.hostkeys"]
    assert warned == [f"WARNING: host m0 ({ADDRESS}:22): insecure_ignore_host_key=True, so "
                      "Terraform accepts whatever host key answers there: whoever holds that "
                      "address gets the cluster's secrets. Pin it with host_key or "
                      "known_hosts_file."]
    conns = [s.resource("m0", step)[1]["connection"] for step in s.chain("m0")]
    assert conns and all("host_key" not in c for c in conns)
    check = s.resources[s.check_key("m0")]
    assert '"insecure_ignore_host_key": true' in check["input"]["hosts"]


def test_the_warning_reaches_stderr_without_any_logging_setup(tmp_path):
    # logging's last-resort handler prints warnings when the app configures nothing
    key = new_private_key(tmp_path / "k")
    code = ("from provisioners.core.props import Host\n"
            "from edge_constructs.validation import validate_host\n"
            f"validate_host(Host('{ADDRESS}', private_key_file='{key}', "
            "insecure_ignore_host_key=True), 'masters[0]')\n")
    import sys
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith(f"WARNING: host {ADDRESS} ({ADDRESS}:22): "
                               "insecure_ignore_host_key=True")


def test_teardown_and_check_inventories_carry_the_host_identity(tmp_path, monkeypatch):
    # destroy-time teardown and CheckSSH run the runner from Terraform's directory: the
    # known_hosts path travels absolute, the opt-out as it was given
    from provisioners.ssh import teardown
    from provisioners.steps.chains import Placed
    from provisioners.steps.step import Step
    monkeypatch.chdir(tmp_path)
    bastion = Host("198.51.100.1", private_key_file="k", insecure_ignore_host_key=True)
    host = Host(ADDRESS, private_key_file="k", known_hosts_file="known", bastion=bastion)
    [back] = teardown.decode(teardown.encode([Placed(host, Step("S", "true"))]))
    assert back.host.known_hosts_file == str(tmp_path / "known")
    assert back.host.bastion.insecure_ignore_host_key is True and back.host.host_key is None
    again = Host.from_dict(host.to_dict())
    assert again.known_hosts_file == str(tmp_path / "known")
    assert again.bastion.insecure_ignore_host_key is True


# --- a host whose key is replaced between two applies (simulated site, real Terraform) -------

APP = Path(__file__).resolve().parent / "apps" / "host_key_app.py"
STEPS = ["HostKeyProbeUpload", "HostKeyProbeWrite"]


def _fingerprint(line: str, tmp_path: Path) -> str:
    """The key's fingerprint as OpenSSH prints it (ssh-keygen -lf), SHA256:…"""
    p = tmp_path / "fp.pub"
    p.write_text(line + "\n")
    out = subprocess.run(["ssh-keygen", "-lf", str(p)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]


def _host_files(site, h) -> str:
    """What the steps leave on the host: every file under the step and stage directories,
    with size and modification time, and the files the steps write."""
    from provisioners.steps.step import STAGE_DIR, STEP_DIR
    rc, out, err = site.ssh(h.name, f"find {STEP_DIR} {STAGE_DIR} /root/payload /root/version "
                                    "/root/runner-ran -printf '%p %s %T@\\n' 2>/dev/null | sort; "
                                    "cat /root/payload /root/version")
    assert rc == 0, err
    return out


@pytest.mark.site
def test_a_replaced_host_key_stops_the_next_apply_before_any_upload(site_factory, tmp_path):
    from tests.chain_runner import run_chain
    from provisioners.steps.step import Step
    from simsite import tf

    # given one simulated host, pinned by a known_hosts file, and a chain applied once
    site = site_factory(1)
    h = site.hosts[0]
    old = h.host_public_key
    known = _known_hosts(tmp_path, {h.address: old}, hashed=True)
    host = {"address": h.address, "port": h.port, "user": h.user, "name": h.name,
            "private_key_file": h.private_key_file, "known_hosts_file": str(known)}
    spec = tmp_path / "spec.json"

    def apply(version: str):
        spec.write_text(json.dumps({"host": host, "workdir": str(tmp_path), "version": version,
                                    "steps": STEPS}))
        stack = tf.synth(APP, tmp_path / "out", {"EDGE_TEST_SPEC": str(spec)})
        if not (stack / ".terraform").exists():
            tf.terraform(["init", "-input=false"], stack).check()
        return tf.terraform(["apply", "-auto-approve", "-input=false", "-no-color"], stack)

    apply("1").check()
    before = _host_files(site, h)
    assert before.endswith("payload 1\n1\n") and "HostKeyProbeWrite.sh" in before, before
    # when the host's key is replaced and a changed chain is applied again
    new = site.replace_host_key(h).host_public_key
    assert new != old
    run = apply("2")
    # then the apply stops at the chain's first resource, CheckSSH, naming both
    # fingerprints and what to do, and no step ran or uploaded anything
    assert run.returncode != 0
    out = " ".join(run.output.split())
    assert f"[{h.name}] CheckSSH: failed (host key)" in out, run.output
    assert (f"known_hosts_file {known} pins ssh-ed25519 {_fingerprint(old, tmp_path)}, the "
            f"host offered ssh-ed25519 {_fingerprint(new, tmp_path)}.") in out, run.output
    assert "Verify the new fingerprint out of band" in out
    for step in STEPS:   # (a replaced step is destroyed first: that runs nothing on hosts)
        assert f"{step}: Creating" not in out and f"{step}: Provisioning" not in out, run.output
    assert "CheckSSH: Provisioning with 'local-exec'" in out
    assert _host_files(site, h) == before

    # and the runner, given the same host, stops before its first upload too
    with pytest.raises(SSHError) as caught:
        run_chain(Host(**host), [Step(STEPS[0], "touch /root/runner-ran")], log=lambda _: None)
    assert caught.value.kind == "host key"
    assert _fingerprint(old, tmp_path) in str(caught.value)
    assert _fingerprint(new, tmp_path) in str(caught.value)
    assert _host_files(site, h) == before


# --- keys checked for form at synth (issue 19) ----------------------------------------------

from provisioners.core.hostkeys import KEY_TYPES, parse_key_line  # noqa: E402
from provisioners.core.errors import HostKeyError  # noqa: E402


def _keygen_line(tmp_path: Path, kind: str, bits: str = "") -> str:
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", str(tmp_path / kind)]
    subprocess.run(args + (["-b", bits] if bits else []), check=True)
    return (tmp_path / f"{kind}.pub").read_text().strip()


@pytest.mark.parametrize("kind, bits", [("ed25519", ""), ("rsa", "2048"), ("ecdsa", "256"),
                                        ("ecdsa", "384"), ("ecdsa", "521")])
def test_real_keys_of_each_type_are_accepted_as_they_are(tmp_path, kind, bits):
    line = _keygen_line(tmp_path, kind, bits)
    assert parse_key_line(line + " root@host") == line
    assert line.split()[0] in KEY_TYPES


def test_a_key_cut_short_is_refused_at_synth_naming_the_field(synth_env, tmp_path):
    line = _public_line(tmp_path, "k")
    kind, b64 = line.split()
    for cut in (b64[:-4], b64[:-8], b64[:40], b64[:-1], b64 + "AAAA", kind + "x " + b64,
                "ssh-rsa " + b64, f"{kind} {b64[:20]}!!{b64[22:]}"):
        value = cut if " " in cut else f"{kind} {cut}"
        with pytest.raises(ValidationError) as caught:
            synth_env.synth(masters=[synth_env.host(host_key=value)])
        e = caught.value
        assert (e.field, e.value) == ("masters[0].host_key", value), value
        assert "'<type> <base64>'" in e.allowed, e.allowed


def test_a_bastion_key_cut_short_is_refused_at_synth(synth_env, tmp_path):
    line = _public_line(tmp_path, "b")
    bastion = Host("198.51.100.1", private_key_file=str(synth_env.key_file),
                   host_key=line[:-6])
    with pytest.raises(ValidationError) as caught:
        synth_env.synth(masters=[synth_env.host(bastion=bastion)])
    assert caught.value.field == "masters[0].bastion.host_key"


@pytest.mark.parametrize("value, why", [
    ("ssh-ed25519", "a type and a base64 key"),
    ("ssh-dss AAAAB3NzaC1kc3M=", "unknown key type"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3x", "cut short"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3", "not base64"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA", "cut short"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "fields after its type"),
])
def test_malformed_key_lines_say_why(value, why):
    with pytest.raises(HostKeyError) as caught:
        parse_key_line(value, "host.host_key")
    assert caught.value.field == "host.host_key" and why in caught.value.allowed, caught.value.allowed


# --- an in-place change of a joined node's connection is tried before it is stored ----------

def _node_state(tmp_path: Path, **host) -> dict:
    from tests.test_standins import free_port
    key = tmp_path / "id"
    if not key.exists():
        new_private_key(key)
    h = {"address": "127.0.0.1", "port": free_port(), "name": "cam-1",
         "private_key_file": str(key), "host_key": HOST_KEY, **host}
    return {"id": "cam-1", "name": "cam-1", "bundle_sha256": "0" * 64,
            "host": json.dumps(h), "package": None, "reset": "true", "labels": None,
            "taints": None, "node_unit": None, "ready_timeout": 1, "drain_timeout": 1,
            "force_drain": False, "present": True, "ready": True, "kubelet_version": "v1.22.6"}


@pytest.mark.parametrize("change", ["host_key", "port"])
def test_a_new_key_or_port_that_does_not_connect_is_not_stored(tmp_path, change):
    from tf.iface import UpdateContext
    from tf.utils import Diagnostics
    from edge_constructs.terraform.provider.node_resource import EdgeNode
    current = _node_state(tmp_path)
    host = json.loads(current["host"])
    if change == "host_key":
        host["host_key"] = _public_line(tmp_path, "new")      # a closed port: never reached
    else:
        host["port"] += 1
    planned = dict(current, host=json.dumps(host))
    diags = Diagnostics()
    out = EdgeNode(None).update(UpdateContext(diags, "edge_node"), current, planned)
    assert out == current and out["host"] == current["host"]
    (err,) = diags.diagnostics
    assert err.summary == "edge node cam-1: the new connection was not stored", err.summary
    assert "keeps the connection that worked" in err.detail and err.path == ["host"]


def test_a_key_cut_short_in_state_is_refused_before_connecting(tmp_path, monkeypatch):
    from tf.iface import UpdateContext
    from tf.utils import Diagnostics
    from edge_constructs.terraform.provider import node_resource
    tried = []
    monkeypatch.setattr(node_resource, "check_host", lambda h: tried.append(h))
    current = _node_state(tmp_path)
    host = dict(json.loads(current["host"]), host_key=HOST_KEY[:-8])
    diags = Diagnostics()
    out = node_resource.EdgeNode(None).update(UpdateContext(diags, "edge_node"), current,
                                              dict(current, host=json.dumps(host)))
    assert out == current and tried == []
    assert "cut short" in diags.diagnostics[0].detail


def test_a_new_key_that_checks_out_is_stored(tmp_path, monkeypatch):
    """The check passes (stood in here; the site tests run the real one): the update goes
    on and stores the new connection."""
    from tf.iface import UpdateContext
    from tf.utils import Diagnostics
    from provisioners.ssh.check import Checked
    from edge_constructs.terraform.provider import node_resource
    tried = []
    monkeypatch.setattr(node_resource, "check_host",
                        lambda h: tried.append(h) or Checked(h, 0.1))
    monkeypatch.setattr(node_resource.EdgeNode, "_converge",
                        lambda self, diags, state, current: state)
    current = _node_state(tmp_path)
    new_key = _public_line(tmp_path, "new")
    host = dict(json.loads(current["host"]), host_key=new_key)
    diags = Diagnostics()
    out = node_resource.EdgeNode(None).update(UpdateContext(diags, "edge_node"), current,
                                              dict(current, host=json.dumps(host)))
    assert diags.diagnostics == [] and json.loads(out["host"])["host_key"] == new_key
    assert [h.host_key for h in tried] == [new_key]


def test_an_unchanged_connection_is_not_checked_again(tmp_path, monkeypatch):
    from tf.iface import UpdateContext
    from tf.utils import Diagnostics
    from edge_constructs.terraform.provider import node_resource
    monkeypatch.setattr(node_resource, "check_host", lambda h: pytest.fail("checked"))
    monkeypatch.setattr(node_resource.EdgeNode, "_converge",
                        lambda self, diags, state, current: state)
    current = _node_state(tmp_path)
    out = node_resource.EdgeNode(None).update(UpdateContext(Diagnostics(), "edge_node"), current,
                                              dict(current, labels={"zone": "b"}))
    assert out["labels"] == {"zone": "b"}


def test_a_masters_reset_stores_a_new_key_only_after_its_check(synth_env, tmp_path):
    """The Reset resource keeps how to reach the master at destroy: it depends on a
    CheckHostKey of the master, re-run (replaced) whenever the master's key or connection
    changes, so Terraform updates the Reset with a new key only once that key was checked."""
    def parts(key):
        s = synth_env.synth(masters=[synth_env.host(name="m0", host_key=key)])
        reset = s.resources[s.reset_key("m0")]
        (dep,) = reset["depends_on"]
        check = s.resources[dep.split(".", 1)[1]]
        return reset, check, dep
    old_key, new_key = _public_line(tmp_path, "a"), _public_line(tmp_path, "b")
    reset1, check1, dep1 = parts(old_key)
    reset2, check2, dep2 = parts(new_key)
    assert "_CheckHostKey_" in dep1 and dep1 == dep2
    assert check1["triggers_replace"]["host_keys"] == {"m0": old_key}
    assert check2["triggers_replace"]["host_keys"] == {"m0": new_key}
    (prov,) = check2["provisioner"]
    assert "-m provisioners.ssh check" in prov["local-exec"]["command"]
    assert "when" not in prov["local-exec"]                      # runs at create (replace)
    assert reset1["input"]["teardown"] != reset2["input"]["teardown"]   # the key it stores
    assert new_key.split()[1] in reset2["input"]["teardown"]
