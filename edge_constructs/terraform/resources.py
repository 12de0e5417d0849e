"""Steps become Terraform: one built-in `terraform_data` per (host, step), chained."""
from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Optional, Sequence

from cdktf import (FileProvisioner, ITerraformDependable, RemoteExecProvisioner,
                   SSHProvisionerConnection, TerraformProviderGeneratorMetadata, TerraformResource,
                   TerraformStack, TerraformVariable)
from constructs import Construct

from edge_constructs.core.props import Host
from edge_constructs.terraform.binary import embedded_terraform
from edge_constructs.steps.step import (STAGE_DIR, STEP_DIR, Step, full_script,
                                        parse_identity_source, staged_path)
from edge_constructs.ssh.teardown import host_json

#: How long Terraform keeps trying to open SSH to a host before the step fails.
SSH_TIMEOUT = "2m"


class TerraformData(TerraformResource):
    """Terraform's built-in `terraform_data`. cdktf's own `DataResource` runs `terraform
    version` during synth (and reads TERRAFORM_BINARY_NAME when cdktf is imported, before
    we could point it at the embedded Terraform); this one needs no Terraform to synthesize."""

    def __init__(self, scope: Construct, id: str, *, input: Optional[dict] = None,
                 triggers_replace: Optional[dict] = None, **config):
        super().__init__(scope, id, terraform_resource_type="terraform_data",
                         terraform_generator_metadata=TerraformProviderGeneratorMetadata(
                             provider_name="terraform"), **config)
        if input is not None:
            self.add_override("input", input)
        if triggers_replace is not None:
            self.add_override("triggers_replace", triggers_replace)


def ensure_terraform_for_synth() -> None:
    """Synth needs no Terraform (see TerraformData); kept so that callers that set up the
    environment for `Testing.to_be_valid_terraform` and the like find one."""
    if not os.environ.get("TERRAFORM_BINARY_NAME") and not shutil.which("terraform"):
        os.environ["TERRAFORM_BINARY_NAME"] = embedded_terraform()


def tf_literal(text: str) -> str:
    """Text Terraform must not read as a template: `${` and `%{` escaped."""
    return text.replace("${", "$${").replace("%{", "%%{")


def logical_id(value: str) -> str:
    """A construct id made of what Terraform allows in resource names."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", value)


def _file_expr(path: str) -> str:
    return '${file("%s")}' % os.path.abspath(os.path.expanduser(path))


def _password_expr(scope: Construct, env_name: str) -> str:
    """A password never enters the JSON: Terraform takes it from the sensitive variable
    `ssh_password_<env_name, lower case>`, which the user sets as `TF_VAR_ssh_password_…`
    (the SSH runner reads `$<env_name>` itself)."""
    stack = TerraformStack.of(scope)
    var_id = f"ssh_password_{env_name}".lower()
    existing = stack.node.try_find_child(var_id)
    var = existing or TerraformVariable(stack, var_id, type="string", sensitive=True,
                                        description=f"SSH password (set TF_VAR_{var_id})")
    return var.string_value


def connection_for(scope: Construct, host: Host) -> SSHProvisionerConnection:
    """The SSH connection of a host: key by path (read by Terraform at apply), host key pinned."""
    kw: dict = {}
    if host.bastion:
        b = host.bastion
        kw.update(bastion_host=b.address, bastion_port=b.port, bastion_user=b.user,
                  bastion_host_key=b.host_key)
        if b.private_key_file:
            kw["bastion_private_key"] = _file_expr(b.private_key_file)
        elif b.password_env:
            kw["bastion_password"] = _password_expr(scope, b.password_env)
    if host.private_key_file:
        kw["private_key"] = _file_expr(host.private_key_file)
    elif host.password_env:
        kw["password"] = _password_expr(scope, host.password_env)
    return SSHProvisionerConnection(type="ssh", host=host.address, port=host.port, user=host.user,
                                    host_key=host.host_key, timeout=SSH_TIMEOUT, **kw)


IDENTITY_TYPE = "edge_cluster_identity"


def identity_expr(resource: str, attribute: str) -> str:
    """A Terraform reference to an attribute of an `edge_cluster_identity`."""
    return "${%s.%s.%s}" % (IDENTITY_TYPE, resource, attribute)


def identity_digest_expr(resource: str, attribute: str) -> str:
    """The provider's sha256 of an identity value: known at plan once the identity exists."""
    return '${%s.%s.digests["%s"]}' % (IDENTITY_TYPE, resource, attribute)


def step_resource(scope: Construct, host: Host, step: Step,
                  depends_on: Sequence[ITerraformDependable]) -> TerraformData:
    """Upload the step's files and script, then run it. Replaced (re-run) when the script,
    an uploaded file or an uploaded identity value changes; tainted (re-run next apply) when
    it fails. Identity values come from state (the file provisioner's `content`); the trigger
    holds only their digests."""
    provisioners: list = [RemoteExecProvisioner(type="remote-exec", inline=[
        f"mkdir -p -m 0700 {STAGE_DIR}/{step.name} {STEP_DIR}"])]
    triggers = {"fingerprint": step.fingerprint()}
    for i, up in enumerate(step.uploads):
        ref = parse_identity_source(up.source)
        if ref:
            provisioners.append(FileProvisioner(type="file", content=identity_expr(*ref),
                                                destination=staged_path(step, i)))
            triggers[ref[1]] = identity_digest_expr(*ref)
            continue
        provisioners.append(FileProvisioner(type="file", source=os.path.abspath(up.source),
                                            destination=staged_path(step, i)))
    provisioners.append(FileProvisioner(type="file", content=tf_literal(full_script(step)),
                                        destination=step.remote_path))
    provisioners.append(RemoteExecProvisioner(type="remote-exec", inline=[
        "set -e", f"sh {step.remote_path}"]))
    return TerraformData(scope, logical_id(step.name),
                        input={"host": host.key, "step": step.name},
                        triggers_replace=triggers,
                        connection=connection_for(scope, host),
                        depends_on=list(depends_on), provisioners=provisioners)


def chain_resources(scope: Construct, host: Host, steps: Sequence[Step],
                    after: Sequence[ITerraformDependable] = (),
                    destroy_kind: Optional[str] = None) -> list[TerraformData]:
    """One resource per step, each depending on the one before. With `destroy_kind`, a
    first resource resets the host when its chain is destroyed (it goes last on destroy)."""
    made: list[TerraformData] = []
    prev: list[ITerraformDependable] = list(after)
    if destroy_kind:
        anchor = destroy_resource(scope, host, destroy_kind, prev)
        made.append(anchor)
        prev = [anchor]
    for step in steps:
        res = step_resource(scope, host, step, prev)
        made.append(res)
        prev = [res]
    return made


def teardown_provisioner(kind: str, host_json_expr: str) -> dict:
    """A destroy-time local-exec running `python -m edge_constructs.ssh.teardown <kind>` with the
    interpreter that synthesized the stack; it reports an unreachable host, never fails."""
    return {"local-exec": {"when": "destroy",
                           "command": '"${self.input.python}" -m edge_constructs.ssh.teardown ' + kind,
                           "environment": {"EDGE_HOST": host_json_expr}}}


def destroy_resource(scope: Construct, host: Host, kind: str,
                     depends_on: Sequence[ITerraformDependable],
                     name: str = "Reset") -> TerraformData:
    """A resource whose destroy resets the host (`edge_constructs.ssh.teardown <kind>`). Destroy
    provisioners may only read `self`, so the host travels in `input` as JSON: paths and
    names, never key material."""
    res = TerraformData(scope, name, depends_on=list(depends_on),
                        input={"host": tf_literal(host_json(host)), "python": sys.executable})
    res.add_override("provisioner", [teardown_provisioner(kind, "${self.input.host}")])
    return res
