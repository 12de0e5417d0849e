#!/usr/bin/env python3
"""A cdktf app for the end-to-end tests: an EdgeCluster described by $EDGE_TEST_SPEC (JSON).

{"hosts": [site inventory entries...], "masters": 1, "package": {"path", "sha256"},
 "workdir": "...", "ha": {"vip": ..., "interface": ...} | null}
"""
import json
import os
from pathlib import Path

from cdktf import App, LocalBackend, TerraformStack

from edge_constructs import HA, EdgeCluster, Host, InstallPackage

spec = json.loads(Path(os.environ["EDGE_TEST_SPEC"]).read_text())
work = Path(spec["workdir"])
app = App()
stack = TerraformStack(app, "cluster")
LocalBackend(stack, path=str(work / "terraform.tfstate"))
hosts = [Host(h["address"], port=h["port"], user=h["user"], private_key_file=h["private_key_file"],
              host_key=h["host_key"], name=h["name"]) for h in spec["hosts"][: spec.get("masters", 1)]]
EdgeCluster(stack, "edge", name="e2e", masters=hosts,
            install_package=InstallPackage(**spec["package"]),
            ha=HA(**spec["ha"]) if spec.get("ha") else None,
            **json.loads(os.environ.get("EDGE_TEST_CLUSTER_PROPS", "{}")))
app.synth()
