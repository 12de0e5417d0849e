#!/usr/bin/env python3
"""Quick start: a one-master SuperEdge edge cluster on a host listed in an inventory file.

The inventory (default: inventory.json beside this file, or $EDGE_INVENTORY) is written by
the simulated site (`scripts/demo`) or by you. With neither, the app synthesizes from
inventory.example.json (documentation addresses) and says so: enough for `cdktf synth`, not
for a deploy.

    {"hosts": [{"name": "master-0", "address": "203.0.113.10", "port": 22, "user": "root",
                "private_key_file": "~/.ssh/id_ed25519", "host_key": "ssh-ed25519 AAAA..."}],
     "install_package": {"path": "kube-linux-amd64-v1.22.6.tar.gz", "sha256": "..."}}

Each host pins its SSH host key: "host_key" (its public key line), or "known_hosts_file"
(a known_hosts file that holds it), or, knowingly, "insecure_ignore_host_key": true.
"""
import json
import os
import sys
from pathlib import Path

from cdktf import App, TerraformStack

from edge_constructs import EdgeCluster, Host, InstallPackage, SuperEdge
from edge_constructs.terraform.state import pg_backend, private_local_backend

HERE = Path(__file__).resolve().parent
# The local state lives here; point it elsewhere to keep several sites apart.
WORKDIR = Path(os.environ.get("EDGE_WORKDIR", HERE))


def load_inventory() -> dict:
    named = os.environ.get("EDGE_INVENTORY")
    path = Path(named) if named else WORKDIR / "inventory.json"
    if named and not path.exists():
        raise SystemExit(f"EDGE_INVENTORY={named}: no such file; write one (see {__file__})")
    if not path.exists():
        path = HERE / "inventory.example.json"
        print(f"quickstart: no inventory at {WORKDIR / 'inventory.json'}; synthesizing from "
              f"{path} (documentation addresses: a deploy needs a real inventory or "
              "scripts/demo)", file=sys.stderr)
        inventory = json.loads(path.read_text())
        for h in inventory["hosts"]:
            # Synth checks that the password variable is set; its value never enters the JSON.
            if h.get("password_env"):
                os.environ.setdefault(h["password_env"], "example-only")
        return inventory
    return json.loads(path.read_text())


class Quickstart(TerraformStack):
    def __init__(self, scope, id: str, inventory: dict):
        super().__init__(scope, id)
        # The state holds the cluster's keys: a 0600 local file, or PostgreSQL
        # (EDGE_STATE_BACKEND=pg; Terraform reads the connection from $PG_CONN_STR).
        if os.environ.get("EDGE_STATE_BACKEND") == "pg":
            pg_backend(self, schema_name=os.environ.get("EDGE_PG_SCHEMA", "edge_quickstart"))
        else:
            private_local_backend(self, WORKDIR / "terraform.quickstart.tfstate")
        master = inventory["hosts"][0]
        self.cluster = EdgeCluster(
            self, "edge",
            name="quickstart",
            masters=[Host.from_dict(master, "inventory: hosts[0]")],
            kubernetes_version="1.22.6",
            install_package=InstallPackage(**inventory["install_package"]),
            superedge=SuperEdge(version="v0.9.0"),
            token_rotation=os.environ.get("EDGE_TOKEN_ROTATION"),
        )


app = App()
Quickstart(app, "quickstart", load_inventory())
app.synth()
