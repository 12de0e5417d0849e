#!/usr/bin/env python3
"""A one-host chain through the constructs' own `chain_resources` (CheckSSH, then each step
as terraform_data with file + remote-exec), for the host-key test: the host and a `version`
written by the steps come from $EDGE_TEST_SPEC; the host key is pinned from its
known_hosts_file, read here at synth."""
import json
import os
from pathlib import Path

from edge_constructs.terraform.cdk import App, LocalBackend, TerraformStack

from provisioners.core.props import Host
from provisioners.steps.chains import Placed
from provisioners.steps.step import Step, Upload
from edge_constructs.terraform.resources import chain_resources
from edge_constructs.validation import validate_host

spec = json.loads(Path(os.environ["EDGE_TEST_SPEC"]).read_text())
host = Host(**spec["host"])
validate_host(host, "host")
payload = Path(spec["workdir"]) / f"payload-{spec['version']}"
payload.write_text(f"payload {spec['version']}\n")
steps = [Step(spec["steps"][0], f"say version {spec['version']}",
              uploads=(Upload(str(payload), "/root/payload", "0600"),)),
         Step(spec["steps"][1], f"echo {spec['version']} > /root/version")]
app = App()
stack = TerraformStack(app, "hostkeys")
LocalBackend(stack, path=str(Path(spec["workdir"]) / "terraform.tfstate"))
chain_resources(stack, [Placed(host, s) for s in steps])
app.synth()
