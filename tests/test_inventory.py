"""The one inventory codec: a Host to JSON and back, checked; what the SSH check, teardown,
the `edge_node` resource and the examples read."""
from __future__ import annotations

import json

import pytest

from edge_constructs import EdgeConstructsError, Host, InventoryError, load_inventory


def test_a_host_goes_to_json_and_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bastion = Host("198.18.0.1", private_key_file="b", insecure_ignore_host_key=True)
    host = Host("198.18.0.10", port=2222, user="ops", private_key_file="~/k",
                known_hosts_file="known", name="m0", bastion=bastion)
    d = host.to_dict()
    assert d["private_key_file"].startswith("/") and d["known_hosts_file"] == str(tmp_path / "known")
    assert "password_env" not in d and "host_key" not in d
    back = Host.from_dict(json.loads(json.dumps(d)))
    assert back.to_dict() == d
    assert back.bastion.insecure_ignore_host_key is True and back.port == 2222


@pytest.mark.parametrize("entry,says", [
    ({"port": 22}, 'at least "address"'),
    ({"address": "198.18.0.10", "adress": "x"}, "unknown field(s) adress"),
    ({"address": "198.18.0.10", "port": "22"}, "hosts[0].port: got '22'; a int"),
    ({"address": "198.18.0.10", "port": True}, "hosts[0].port: got True"),
    ({"address": "198.18.0.10", "insecure_ignore_host_key": "yes"}, "insecure_ignore_host_key"),
    ({"address": "198.18.0.10", "bastion": {"user": "x"}}, "hosts[0].bastion"),
])
def test_a_bad_entry_is_refused_naming_where_and_what(entry, says):
    with pytest.raises(InventoryError) as e:
        load_inventory(json.dumps({"hosts": [entry]}))
    assert says in str(e.value)
    assert isinstance(e.value, ValueError) and isinstance(e.value, EdgeConstructsError)


@pytest.mark.parametrize("text,says", [("{", "not JSON"), ('{"hosts": []}', 'non-empty "hosts"'),
                                       ("[]", 'non-empty "hosts"')])
def test_a_bad_inventory_is_refused(text, says):
    with pytest.raises(InventoryError, match=says):
        load_inventory(text, "inv.json")


def test_the_teardown_and_the_check_read_the_same_json(tmp_path):
    from provisioners.ssh import teardown
    from provisioners.steps.chains import Placed
    from provisioners.steps.step import Step
    host = Host("198.18.0.10", private_key_file=str(tmp_path / "k"), host_key="ssh-ed25519 AAAA")
    [p] = teardown.decode(teardown.encode([Placed(host, Step("S", "true"))]))
    assert p.host == host == load_inventory({"hosts": [host.to_dict()]})[0]
