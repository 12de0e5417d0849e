#!/usr/bin/env python3
"""A cdktf app for the end-to-end tests: an EdgeCluster described by $EDGE_TEST_SPEC (JSON).

{"hosts": [site inventory entries...], "masters": 1, "package": {"path", "sha256"},
 "workdir": "...", "ha": {"vip": ..., "interface": ...} | null,
 "backend": "local" | "pg" (pg: schema "pg_schema", connection from $PG_CONN_STR),
 "cluster": {extra EdgeCluster props, e.g. "token_rotation"},
 "superedge": {SuperEdge fields, e.g. "version"} | absent}
"""
import json
import os
from pathlib import Path

from edge_constructs.terraform.cdk import App, TerraformStack

from edge_constructs import HA, EdgeCluster, Host, InstallPackage
from provisioners.core.props import SuperEdge
from edge_constructs.terraform.state import pg_backend, private_local_backend

spec = json.loads(Path(os.environ["EDGE_TEST_SPEC"]).read_text())
work = Path(spec["workdir"])
app = App()
stack = TerraformStack(app, "cluster")
if spec.get("backend") == "pg":
    pg_backend(stack, schema_name=spec["pg_schema"])
else:
    private_local_backend(stack, work / "terraform.tfstate")
hosts = [Host(h["address"], port=h["port"], user=h["user"], private_key_file=h["private_key_file"],
              host_key=h["host_key"], name=h["name"]) for h in spec["hosts"][: spec.get("masters", 1)]]
EdgeCluster(stack, "edge", name="e2e", masters=hosts,
            install_package=InstallPackage(**spec["package"]),
            ha=HA(**spec["ha"]) if spec.get("ha") else None,
            **({"superedge": SuperEdge(**spec["superedge"])} if spec.get("superedge") else {}),
            **spec.get("cluster", {}))
app.synth()
