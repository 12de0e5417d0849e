#!/usr/bin/env python3
"""A cdktf app for the fleet end-to-end test: the cluster in one stack, each site's edge
node pool in a stack of its own, every stack's state in PostgreSQL (one schema per stack).

$EDGE_TEST_SPEC (JSON):
{"hosts": [site inventory entries...], "master": "h0",
 "package": {"path", "sha256"},
 "sites": {"site-a": ["h1"], "site-b": ["h2"]},     # stack name -> its hosts (by name)
 "cluster": {extra EdgeCluster props, e.g. "token_rotation"}}

Stacks: "cluster" (schema edge_fleet_cluster) and one per site (schema edge_fleet_<site>,
dashes as underscores); the connection comes from $PG_CONN_STR.
"""
import json
import os
from pathlib import Path

from edge_constructs.terraform.cdk import App, TerraformStack

from edge_constructs import EdgeCluster, EdgeNodePool, Host, InstallPackage
from edge_constructs.terraform.state import pg_backend


def schema(stack: str) -> str:
    return "edge_fleet_" + stack.replace("-", "_")


spec = json.loads(Path(os.environ["EDGE_TEST_SPEC"]).read_text())
hosts = {h["name"]: Host(h["address"], port=h["port"], user=h["user"],
                         private_key_file=h["private_key_file"], host_key=h["host_key"],
                         name=h["name"]) for h in spec["hosts"]}
app = App()
cluster_stack = TerraformStack(app, "cluster")
pg_backend(cluster_stack, schema_name=schema("cluster"))
cluster = EdgeCluster(cluster_stack, "edge", name="fleet", masters=[hosts[spec["master"]]],
                      install_package=InstallPackage(**spec["package"]),
                      **spec.get("cluster", {}))
for site, names in spec["sites"].items():
    stack = TerraformStack(app, site)
    pg_backend(stack, schema_name=schema(site))
    if names:
        EdgeNodePool(stack, site, cluster=cluster, hosts=[hosts[n] for n in names],
                     node_unit=site, labels={"topology.superedge.io/site": site})
app.synth()
