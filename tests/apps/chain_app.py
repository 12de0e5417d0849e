#!/usr/bin/env python3
"""A minimal cdktf app for the foundation test: on each host of $EDGE_TEST_SPEC, a chain of
two built-in terraform_data resources with file + remote-exec provisioners."""
import json
import os
from pathlib import Path

from edge_constructs.terraform.cdk import (App, FileProvisioner, LocalBackend,
                                           RemoteExecProvisioner, SSHProvisionerConnection,
                                           TerraformStack)

from edge_constructs.terraform.resources import TerraformData

spec = json.loads(Path(os.environ["EDGE_TEST_SPEC"]).read_text())
app = App()
stack = TerraformStack(app, "chain")
LocalBackend(stack, path=str(Path(spec["workdir"]) / "terraform.tfstate"))
for h in spec["hosts"]:
    conn = SSHProvisionerConnection(type="ssh", host=h["address"], port=h["port"], user=h["user"],
                                    private_key='${file("%s")}' % h["private_key_file"],
                                    host_key=h["host_key"])
    first = TerraformData(stack, f"{h['name']}-write", connection=conn, provisioners=[
        FileProvisioner(type="file", content=f"hello from {h['name']}\n", destination="/root/hello"),
        RemoteExecProvisioner(type="remote-exec", inline=["set -e", "hostname > /root/seen-by"]),
    ])
    TerraformData(stack, f"{h['name']}-read", connection=conn, depends_on=[first], provisioners=[
        RemoteExecProvisioner(type="remote-exec", inline=[
            "set -e", "cat /root/hello /root/seen-by > /root/chained"]),
    ])
app.synth()
