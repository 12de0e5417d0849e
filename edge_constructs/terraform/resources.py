"""Steps become Terraform: one built-in `terraform_data` per (host, step), chained."""
from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import sys
from typing import Optional, Sequence

from constructs import Construct

from provisioners.core.hostkeys import pinned_key
from provisioners.core.props import DEFAULT_SSH_TIMEOUT, Host, logical_id
from provisioners.ssh import teardown
from provisioners.ssh.check import CHECK_TIMEOUT
from provisioners.steps.chains import Placed
from provisioners.steps.step import Step, full_script, parse_identity_source, staged_path
from edge_constructs.terraform.cdk import (FileProvisioner, ITerraformDependable,
                                           RemoteExecProvisioner, SSHProvisionerConnection,
                                           TerraformProviderGeneratorMetadata, TerraformResource,
                                           TerraformVariable, stack_of)
from edge_constructs.terraform.literal import hcl_string, literal_tree, tf_literal  # noqa: F401 (re-exported)



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


def _file_expr(path: str) -> str:
    return "${file(%s)}" % hcl_string(os.path.abspath(os.path.expanduser(path)))


def _password_expr(scope: Construct, env_name: str) -> str:
    """A password never enters the JSON: Terraform takes it from the sensitive variable
    `ssh_password_<env_name>` (case kept, so PW and pw stay two variables), which the user
    sets as `TF_VAR_ssh_password_<env_name>`
    (the SSH runner reads `$<env_name>` itself)."""
    stack = stack_of(scope, "SSH password variable")
    var_id = f"ssh_password_{env_name}"
    existing = stack.node.try_find_child(var_id)
    var = existing or TerraformVariable(stack, var_id, type="string", sensitive=True,
                                        description=f"SSH password (set TF_VAR_{var_id})")
    return var.string_value


def script_path_for(step_name: str) -> str:
    """Where remote-exec puts the script of its `inline` commands. Terraform's default is
    `/tmp/terraform_%RAND%.sh`, uploaded then made 0777 and run (hashicorp/terraform
    internal/communicator/ssh communicator.go UploadScript, provisioner.go): in a world-writable
    directory, any local user may rewrite it before it runs as root. Ours lies in the SSH
    user's home (the session's working directory: root's is 0700), named per step, so one
    (emptied, as Terraform leaves it) file per step, not one per run."""
    return "./.edge-constructs-%s.sh" % re.sub(r"[^A-Za-z0-9_.-]", "_", step_name)


def connection_for(scope: Construct, host: Host,
                   timeout: int = DEFAULT_SSH_TIMEOUT,
                   script_path: Optional[str] = None) -> SSHProvisionerConnection:
    """The SSH connection of a host: key by path (read by Terraform at apply), host key
    pinned (`host_key`, or the `known_hosts_file` entry read now; none only with
    `insecure_ignore_host_key`, which validation warned about); Terraform keeps trying to connect for `timeout` seconds (the `ssh_timeout` prop)."""
    kw: dict = {}
    if host.bastion:
        b = host.bastion
        kw.update(bastion_host=tf_literal(b.address), bastion_port=b.port,
                  bastion_user=tf_literal(b.user),
                  bastion_host_key=pinned_key(b))
        if b.private_key_file:
            kw["bastion_private_key"] = _file_expr(b.private_key_file)
        elif b.password_env:
            kw["bastion_password"] = _password_expr(scope, b.password_env)
    if host.private_key_file:
        kw["private_key"] = _file_expr(host.private_key_file)
    elif host.password_env:
        kw["password"] = _password_expr(scope, host.password_env)
    if script_path:
        kw["script_path"] = script_path
    return SSHProvisionerConnection(type="ssh", host=tf_literal(host.address), port=host.port,
                                    user=tf_literal(host.user),
                                    host_key=pinned_key(host), timeout=f"{timeout}s", **kw)


IDENTITY_TYPE = "edge_cluster_identity"
MASTER_CERTS_TYPE = "edge_master_certificates"


def identity_expr(resource: str, attribute: str) -> str:
    """A Terraform reference to an attribute of an `edge_cluster_identity`."""
    return "${%s.%s.%s}" % (IDENTITY_TYPE, resource, attribute)


def identity_digest_expr(resource: str, attribute: str) -> str:
    """The provider's sha256 of an identity value: known at plan once the identity exists."""
    return '${%s.%s.digests["%s"]}' % (IDENTITY_TYPE, resource, attribute)


def step_triggers(step: Step) -> dict:
    """What replaces (re-runs) a step: its script and uploaded files (the fingerprint), what
    it shows (`Step.shown`: the plan names what changes), and the digests of the identity
    values it uploads."""
    triggers = {"fingerprint": step.fingerprint(), **literal_tree(dict(step.shown or {}))}
    for up in step.uploads:
        ref = parse_identity_source(up.source)
        if ref:
            triggers[ref[1]] = identity_digest_expr(*ref)
    return triggers


def _checked(step: Step) -> dict:
    """What of a step's trigger re-runs CheckSSH: all of it but what the step shows (the
    fingerprint changes with it; the plan names it once, on the step)."""
    return {k: v for k, v in step_triggers(step).items() if k not in (step.shown or {})}


def verbose_prefix() -> str:
    """`EDGE_VERBOSE=1 ` when the synth runs with EDGE_VERBOSE or TF_LOG set: the steps then
    print their progress and commands' output, not only their one line (sh/lib/prelude.sh).
    A provisioner's command is no attribute: changing it plans no change."""
    return "EDGE_VERBOSE=1 " if os.environ.get("EDGE_VERBOSE") or os.environ.get("TF_LOG") else ""


def step_resource(scope: Construct, host: Host, step: Step,
                  depends_on: Sequence[ITerraformDependable],
                  ssh_timeout: int = DEFAULT_SSH_TIMEOUT) -> TerraformData:
    """Upload the step's files and script, then run it. Replaced (re-run) when the script,
    an uploaded file or an uploaded identity value changes; tainted (re-run next apply) when
    it fails. Identity values come from state (the file provisioner's `content`); the trigger
    holds only their digests."""
    provisioners: list = [RemoteExecProvisioner(type="remote-exec", inline=[
        f"mkdir -p -m 0700 {step.stage_dir} {posixpath.dirname(step.remote_path)}"])]
    for i, up in enumerate(step.uploads):
        ref = parse_identity_source(up.source)
        if ref:
            provisioners.append(FileProvisioner(type="file", content=identity_expr(*ref),
                                                destination=staged_path(step, i)))
            continue
        provisioners.append(FileProvisioner(type="file", source=tf_literal(os.path.abspath(up.source)),
                                            destination=staged_path(step, i)))
    provisioners.append(FileProvisioner(type="file", content=tf_literal(full_script(step, host.key)),
                                        destination=step.remote_path))
    provisioners.append(RemoteExecProvisioner(type="remote-exec", inline=[
        "set -e", f"{verbose_prefix()}sh {step.remote_path}"]))
    return TerraformData(scope, logical_id(step.name),
                        input={"host": host.key, "step": step.name},
                        triggers_replace=step_triggers(step),
                        connection=connection_for(scope, host, ssh_timeout,
                                                  script_path_for(step.name)),
                        depends_on=list(depends_on), provisioners=provisioners)


def check_resource(scope: Construct, hosts: Sequence[Host],
                   depends_on: Sequence[ITerraformDependable],
                   timeout: float = CHECK_TIMEOUT, steps: Sequence[dict] = (),
                   name: str = "CheckSSH") -> TerraformData:
    """`CheckSSH`: before a chain, each of its hosts is checked once (reach, authentication,
    host key; `python -m provisioners.ssh check`), so a wrong key or a changed host key
    is reported in seconds with what to do, instead of after Terraform's connection timeout
    as "authentication failed". Re-checked when a host's connection props or pinned key
    change, and whenever a step of the chain will run again (`steps`: the steps' triggers),
    so a host whose key changed stops here, with both fingerprints, before any upload. The
    hosts travel as JSON (paths and names, never key material)."""
    inventory = json.dumps({"hosts": [h.to_dict() for h in hosts]}, sort_keys=True)
    res = TerraformData(scope, name, depends_on=list(depends_on),
                        input={"hosts": tf_literal(inventory)},
                        triggers_replace={"hosts": tf_literal(inventory),
                                          "host_keys": {h.key: pinned_key(h) or "insecure"
                                                        for h in hosts},
                                          "steps": list(steps)})
    res.add_override("provisioner", [{"local-exec": {
        "command": f"{_python()} -m provisioners.ssh check --timeout {timeout:g}",
        "environment": {"EDGE_CHECK": "${self.input.hosts}"}}}])
    return res


def chain_resources(scope: Construct, placed: Sequence[Placed],
                    after: Sequence[ITerraformDependable] = (), *,
                    ssh_timeout: int = DEFAULT_SSH_TIMEOUT) -> list[TerraformData]:
    """One resource per placed step, each on its step's host and depending on the one
    before, after one `CheckSSH` of the chain's own hosts: the one function that turns any
    chain into Terraform. Returns the step resources."""
    made: list[TerraformData] = []
    prev: list[ITerraformDependable] = list(after)
    own: dict[str, Host] = {}
    for p in placed:
        own.setdefault(p.host.key, p.host)
    if own:
        prev = [check_resource(scope, list(own.values()), prev,
                               min(CHECK_TIMEOUT, float(ssh_timeout)),
                               steps=[_checked(p.step) for p in placed])]
    for p in placed:
        res = step_resource(scope, p.host, p.step, prev, ssh_timeout)
        made.append(res)
        prev = [res]
    return made


def _python() -> str:
    """The interpreter that synthesizes the stack, quoted for the local-exec's shell. It is
    part of the provisioner's command, read from the configuration of the run (destroy-time
    provisioners too), never from state: a fresh pipeline runner with its own Python synthesizes
    its own, and no plan shows a change for it."""
    return shlex.quote(tf_literal(sys.executable))


def teardown_provisioner(chain_expr: str) -> dict:
    """A destroy-time local-exec running a teardown chain (`provisioners.ssh.teardown`)
    with the interpreter that synthesized the configuration of the run."""
    return {"local-exec": {"when": "destroy",
                           "command": f"{_python()} -m provisioners.ssh.teardown",
                           "environment": {"EDGE_TEARDOWN": chain_expr}}}


def teardown_resource(scope: Construct, placed: Sequence[Placed],
                      depends_on: Sequence[ITerraformDependable],
                      name: str = "Reset") -> TerraformData:
    """A resource whose destroy runs the teardown chain `placed`. Destroy provisioners may
    only read `self`, so the chain travels in `input` as JSON: scripts, paths and names,
    never key material. Created before the chain it undoes, so destroyed after it."""
    res = TerraformData(scope, name, depends_on=list(depends_on),
                        input={"teardown": tf_literal(teardown.encode(placed))})
    res.add_override("provisioner", [teardown_provisioner("${self.input.teardown}")])
    return res
