#!/usr/bin/env python3
"""Edge pool: a one-master SuperEdge cluster and a pool of edge nodes at one site.

The inventory (default: inventory.json beside this file, or $EDGE_INVENTORY) lists the
hosts; the first is the master, the others join the pool unless "pool" names which do:

    {"hosts": [{"name": "master-0", "address": "203.0.113.10", "port": 22, "user": "root",
                "private_key_file": "~/.ssh/id_ed25519", "host_key": "ssh-ed25519 AAAA..."},
               {"name": "camera-01", "address": "198.51.100.20", ...}, ...],
     "pool": ["camera-01", "camera-02"],
     "install_package": {"path": "kube-linux-amd64-v1.22.6.tar.gz", "sha256": "..."}}

Each host pins its SSH host key: "host_key" (its public key line), or "known_hosts_file"
(a known_hosts file that holds it), or, knowingly, "insecure_ignore_host_key": true.

Add a host to "pool" and apply: only it joins. Drop one and apply: only it is drained,
reset and deleted. A new "token_rotation" value makes a new join token: no joined node
changes. `terraform output -raw edge_join_script` prints a script that joins a
host Terraform cannot reach (cloud-init user-data).
"""
import json
import os
from pathlib import Path

from cdktf import App, TerraformStack

from edge_constructs import EdgeCluster, EdgeNodePool, Host, InstallPackage, SuperEdge
from edge_constructs.terraform.state import private_local_backend

HERE = Path(__file__).resolve().parent
# The local state lives here; point it elsewhere to keep several sites apart.
WORKDIR = Path(os.environ.get("EDGE_WORKDIR", HERE))


def load_inventory() -> dict:
    path = Path(os.environ.get("EDGE_INVENTORY", WORKDIR / "inventory.json"))
    if not path.exists():
        raise SystemExit(f"no inventory at {path}: write one (see {__file__})")
    return json.loads(path.read_text())


class EdgePool(TerraformStack):
    def __init__(self, scope, id: str, inventory: dict):
        super().__init__(scope, id)
        private_local_backend(self, WORKDIR / "terraform.edge_pool.tfstate")
        master, *others = inventory["hosts"]
        wanted = inventory.get("pool")
        pool = [h for h in others if wanted is None or h["name"] in wanted]
        self.cluster = EdgeCluster(
            self, "edge",
            name="edge-pool",
            masters=[Host.from_dict(master, "inventory: hosts[0]")],
            kubernetes_version="1.22.6",
            install_package=InstallPackage(**inventory["install_package"]),
            superedge=SuperEdge(version="v0.9.0"),
            token_rotation=inventory.get("token_rotation"),
        )
        if pool:
            self.pool = EdgeNodePool(
                self, "site-a",
                cluster=self.cluster,
                hosts=[Host.from_dict(h, f"inventory: host {h.get('name')}") for h in pool],
                node_unit="site-a",
                labels={"topology.superedge.io/site": "site-a", "zone": "a"},
                taints=["dedicated=camera:NoSchedule"],
            )


app = App()
EdgePool(app, "edge_pool", load_inventory())
app.synth()
