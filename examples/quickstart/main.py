#!/usr/bin/env python3
"""Quick start: a one-master SuperEdge edge cluster on a host listed in an inventory file.

The inventory (default: inventory.json beside this file, or $EDGE_INVENTORY) is written by
the simulated site (`scripts/demo`) or by you:

    {"hosts": [{"name": "master-0", "address": "203.0.113.10", "port": 22, "user": "root",
                "private_key_file": "~/.ssh/id_ed25519", "host_key": "ssh-ed25519 AAAA..."}],
     "install_package": {"path": "kube-linux-amd64-v1.22.6.tar.gz", "sha256": "..."}}
"""
import json
import os
from pathlib import Path

from cdktf import App, LocalBackend, TerraformStack

from edge_constructs import EdgeCluster, Host, InstallPackage, SuperEdge

HERE = Path(__file__).resolve().parent
# State and credentials live here; point it elsewhere to keep several sites apart.
WORKDIR = Path(os.environ.get("EDGE_WORKDIR", HERE))


def load_inventory() -> dict:
    path = Path(os.environ.get("EDGE_INVENTORY", WORKDIR / "inventory.json"))
    if not path.exists():
        raise SystemExit(f"no inventory at {path}: run scripts/demo, or write one (see {__file__})")
    return json.loads(path.read_text())


class Quickstart(TerraformStack):
    def __init__(self, scope, id: str, inventory: dict):
        super().__init__(scope, id)
        LocalBackend(self, path=str(WORKDIR / "terraform.quickstart.tfstate"))
        master = inventory["hosts"][0]
        self.cluster = EdgeCluster(
            self, "edge",
            name="quickstart",
            masters=[Host(master["address"], port=master.get("port", 22),
                          user=master.get("user", "root"),
                          private_key_file=master["private_key_file"],
                          host_key=master.get("host_key"), name=master.get("name"))],
            kubernetes_version="1.22.6",
            install_package=InstallPackage(**inventory["install_package"]),
            superedge=SuperEdge(version="v0.9.0"),
            credentials_dir=str(WORKDIR / ".edge-credentials" / "quickstart"),
        )


app = App()
Quickstart(app, "quickstart", load_inventory())
app.synth()
