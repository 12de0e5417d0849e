#!/usr/bin/env python3
"""Fleet: one cluster stack (identity and masters) and one stack per site (its edge nodes),
from one app, each stack with its own state.

The inventory (default: inventory.json beside this file, or $EDGE_INVENTORY) lists the hosts,
then says which are masters and which site each edge node belongs to; a host in neither is
left alone; "token_rotation" (optional) is the cluster's:

    {"hosts": [{"name": "master-0", "address": "203.0.113.10", "port": 22, "user": "root",
                "private_key_file": "~/.ssh/id_ed25519", "host_key": "ssh-ed25519 AAAA..."},
               {"name": "cam-a1", "address": "198.51.100.21", ...}, ...],
     "masters": ["master-0"],
     "sites": {"site-a": ["cam-a1", "cam-a2"], "site-b": ["cam-b1"]},
     "token_rotation": "2026-12",
     "install_package": {"path": "kube-linux-amd64-v1.22.6.tar.gz", "sha256": "..."}}

Each host pins its SSH host key: "host_key" (its public key line), or "known_hosts_file"
(a known_hosts file that holds it), or, knowingly, "insecure_ignore_host_key": true.

Stacks: `cluster`, then one per site, named after it (`site-a`, ...). State: PostgreSQL, one
schema per stack (`<prefix>_cluster`, `<prefix>_site_a`, ...; prefix `edge_fleet`, or
$EDGE_PG_SCHEMA_PREFIX). Terraform reads the connection from $PG_CONN_STR, so no password
enters the JSON. EDGE_STATE_BACKEND=local keeps each stack's state in a 0600 file instead,
`terraform.<stack>.tfstate` in $EDGE_WORKDIR (default: beside this file): for a try-out.

A site stack reads what its nodes need of the cluster (admin kubeconfig, node bundle, the
bundle's fingerprint) from the cluster stack's outputs, through that stack's backend, and
depends on it: `cdktf deploy cluster site-a` deploys them in that order. See README.md here.
"""
import json
import os
import re
from pathlib import Path

from cdktf import App, TerraformStack

from edge_constructs import (EdgeCluster, EdgeNodePool, EdgeSiteStack, Host, InstallPackage,
                             SuperEdge)
from edge_constructs.terraform.state import pg_backend, private_local_backend

HERE = Path(__file__).resolve().parent
# Local state files (EDGE_STATE_BACKEND=local) live here.
WORKDIR = Path(os.environ.get("EDGE_WORKDIR", HERE))
CLUSTER_STACK = "cluster"


def load_inventory() -> dict:
    path = Path(os.environ.get("EDGE_INVENTORY", WORKDIR / "inventory.json"))
    if not path.exists():
        raise SystemExit(f"no inventory at {path}: write one (see {__file__})")
    inventory = json.loads(path.read_text())
    if not inventory.get("masters") or not isinstance(inventory.get("sites", {}), dict):
        raise SystemExit(f"{path}: needs \"masters\" (a list of host names) and \"sites\" "
                         f"(site name -> list of host names); see {__file__}")
    return inventory


def hosts_named(inventory: dict, names, where: str) -> list[Host]:
    """The inventory's hosts of these names, in the order given."""
    by_name = {h.get("name"): (i, h) for i, h in enumerate(inventory["hosts"])}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"inventory: {where} names {unknown}, which are not in hosts "
                         f"(known: {sorted(n for n in by_name if n)})")
    return [Host.from_dict(by_name[n][1], f"inventory: hosts[{by_name[n][0]}]") for n in names]


def backend(stack: TerraformStack, name: str) -> None:
    """Each stack its own state: a PostgreSQL schema, or a local file for a try-out."""
    if os.environ.get("EDGE_STATE_BACKEND") == "local":
        private_local_backend(stack, WORKDIR / f"terraform.{name}.tfstate")
    else:
        prefix = os.environ.get("EDGE_PG_SCHEMA_PREFIX", "edge_fleet")
        pg_backend(stack, schema_name=f"{prefix}_{re.sub(r'[^a-z0-9_]', '_', name.lower())}")


class ClusterStack(TerraformStack):
    """The identity and the masters: deployed first, changed rarely."""

    def __init__(self, scope, id: str, inventory: dict):
        super().__init__(scope, id)
        backend(self, id)
        self.cluster = EdgeCluster(
            self, "edge",
            name="fleet",
            masters=hosts_named(inventory, inventory["masters"], "masters"),
            kubernetes_version="1.22.6",
            install_package=InstallPackage(**inventory["install_package"]),
            superedge=SuperEdge(version="v0.9.0"),
            # change it to make a new bootstrap token (the joined nodes are left alone)
            token_rotation=inventory.get("token_rotation"),
        )


class SiteStack(EdgeSiteStack):
    """One site's edge nodes: planned, applied and destroyed on their own. EdgeSiteStack
    declares the cluster's provider block here even when the site has no host left: the
    nodes that leave are deleted through it (drain, reset, delete)."""

    def __init__(self, scope, id: str, cluster: EdgeCluster, hosts: list[Host]):
        super().__init__(scope, id, cluster=cluster)
        backend(self, id)
        if hosts:
            self.pool = EdgeNodePool(
                self, "pool",
                cluster=cluster,
                hosts=hosts,
                node_unit=id,
                labels={"topology.superedge.io/site": id},
            )


app = App()
inventory = load_inventory()
cluster = ClusterStack(app, CLUSTER_STACK, inventory).cluster
for site, names in sorted((inventory.get("sites") or {}).items()):
    # a site with no host left keeps its stack: deploying it removes the nodes that left
    SiteStack(app, site, cluster, hosts_named(inventory, names, f"sites.{site}"))
app.synth()
