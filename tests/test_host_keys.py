"""Host keys are verified by default (issue 8, item 1): every Host, and its bastion, gives
exactly one of host_key, known_hosts_file or insecure_ignore_host_key; a known_hosts file is
read at synth and its key pinned in Terraform's connection."""
from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from tests.synth_fixtures import HOST_KEY, new_private_key, synth_env  # noqa: F401  (fixture)

from edge_constructs import Host
from edge_constructs.core.errors import ValidationError

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
    code = ("from edge_constructs.core.props import Host\n"
            "from edge_constructs.validation import validate_host\n"
            f"validate_host(Host('{ADDRESS}', private_key_file='{key}', "
            "insecure_ignore_host_key=True), 'masters[0]')\n")
    import sys
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith(f"WARNING: host {ADDRESS} ({ADDRESS}:22): "
                               "insecure_ignore_host_key=True")
