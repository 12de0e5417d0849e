"""The demo's quiet output: one line per step and host, Terraform's own lines hidden, and
any line of no known kind shown and counted (so the tests that run the demo fail on it)."""
from __future__ import annotations

import pytest

from simsite.demo import DeployOutput, main, quiet, quiet_filter

R = "quickstart  module.x.terraform_data.edge_master-h0_EnsureSysctl_1A2B3C4D"
CHATTER = f"""\
{R}: Creating...
{R}: Provisioning with 'remote-exec'...
{R} (remote-exec): Connecting to remote host via SSH...
{R} (remote-exec):   Host: 198.18.0.10
{R} (remote-exec):   Private key: true
{R} (remote-exec): Connected!
{R}: Still creating... [10s elapsed]
{R}: Creation complete after 1s [id=abc]
"""


def test_quiet_keeps_one_line_per_step_with_its_outcome_and_duration():
    lines = CHATTER.splitlines(keepends=True) + [
        "quickstart  terraform_data.a_EnsureSysctl_1 (remote-exec): [h0] EnsureSysctl: done (3s)\n",
        "quickstart  terraform_data.a_CheckSSH_1 (local-exec): Executing: [\"/bin/sh\" \"-c\" \"python -m x\"]\n",
        "quickstart  terraform_data.a_CheckSSH_1 (local-exec): [h0] CheckSSH: ok: reach, authentication, host key (0.1s)\n",
        "quickstart  Apply complete! Resources: 35 added, 0 changed, 0 destroyed.\n"]
    shown = [q for q in map(quiet, lines) if q]
    assert shown == ["    [h0] EnsureSysctl: done (3s)\n",
                     "    [h0] CheckSSH: ok: reach, authentication, host key (0.1s)\n",
                     "quickstart  Apply complete! Resources: 35 added, 0 changed, 0 destroyed.\n"]


def test_quiet_keeps_failures_and_errors():
    failed = ("quickstart  terraform_data.a (remote-exec): edge_constructs: step EnsureSysctl "
              "failed on host h0: command 'sysctl -p' exited 1\n")
    assert quiet(failed) == failed.strip() + "\n"
    assert quiet("│ Error: remote-exec provisioner error\n") == "│ Error: remote-exec provisioner error\n"


def test_a_line_of_shell_in_a_steps_output_is_unknown_and_shown():
    # what the demo printed once: a script line (here as a step's stray output)
    out = DeployOutput()
    out.section = "apply"
    line = (f"{R} (remote-exec): if grep -qs '^# edge_constructs:' /etc/containerd/config.toml; then\n")
    assert out.kind(line) == "unknown" and out.unknown == [line.rstrip("\n")]
    f = quiet_filter()
    f.output.section = "apply"
    assert f(line) is not None and f.output.unknown


def test_the_plan_is_terraforms_own_even_where_it_names_edge_constructs():
    # a plan line that holds "edge_constructs:" (a script in an attribute) is no error line:
    # the demo used to show it
    out = DeployOutput()
    lines = ["quickstart  Terraform will perform the following actions:\n",
             "              + input = {\n",
             "                  + teardown = <<-EOT\n",
             "                        if grep -qs '^# edge_constructs:' /etc/containerd/config.toml; then\n",
             "      Plan: 3 to add, 0 to change, 0 to destroy.\n",
             "      Changes to Outputs:\n",
             "        + edge_nodes = (known after apply)\n",
             f"{R}: Creating...\n"]
    assert [out.kind(x) for x in lines] == ["status"] * len(lines)
    assert out.section == "apply" and not out.unknown


def test_the_reset_scripts_rendered_by_name_are_the_chains_own():
    # state keeps a reset step by reference (no script body in a plan); the script the
    # package renders by name must be the one the chain renders for any cluster
    from provisioners.steps import resets
    from provisioners.steps.cluster import reset_master
    from provisioners.steps.node import reset_node
    from tests.test_steps_render import ctx
    from provisioners.steps.context import EDGE, MASTER, MASTER0
    from provisioners.core.props import Registry
    contexts = [ctx(role) for role in (MASTER0, MASTER, EDGE)] + [
        ctx(EDGE, kubernetes_version="1.22.6", pod_cidr="10.250.0.0/16"),
        ctx(MASTER0, container_runtime="docker", registry=Registry(mirrors=("https://m.example",)))]
    for c in contexts:
        for fn in (reset_master, reset_node):
            ctx_ = c
            step = fn(ctx_)
            if step is None:
                continue
            assert resets.resolve(step.name, resets.reference(step)).script == step.script
            assert "\n" not in resets.reference(step)


def test_hosts_is_the_free_hosts_of_a_kept_site(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--hosts", "3"])
    assert caught.value.code == 2
    assert "--hosts 3: only with --keep (the hosts left free for your own app)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--keep", "--hosts", "-1"])
    assert "a number of free hosts, 0 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "the hosts left free for your own app (default 3" in " ".join(capsys.readouterr().out.split())


# --- what a step prints (sh/lib/prelude.sh), run here with sh ------------------------------

def _step(tmp_path, body: str, verbose: bool = False):
    import os
    import subprocess
    from provisioners.steps.step import prelude
    script = tmp_path / "X.sh"
    script.write_text(prelude("X", "h9", str(tmp_path / "X.failed")) + body
                      + '\nreport "done ($(( $(date +%s) - _t0 ))s)"\n')
    env = dict(os.environ, EDGE_VERBOSE="1") if verbose else {
        k: v for k, v in os.environ.items() if k != "EDGE_VERBOSE"}
    p = subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env, timeout=60)
    return p, (tmp_path / "X.log").read_text()


BODY = 'say "wrote /etc/x"\nrun echo "a line of output"\necho stray\n'


def test_a_step_prints_one_line_and_logs_the_rest(tmp_path):
    p, log = _step(tmp_path, BODY)
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout == "[h9] X: done (0s)\n" or p.stdout.startswith("[h9] X: done ("), p.stdout
    assert p.stdout.count("\n") == 1
    assert log.splitlines() == ["[h9] X: wrote /etc/x", "a line of output", "stray",
                                p.stdout.strip()]


def test_a_verbose_step_prints_everything_and_logs_it_too(tmp_path):
    p, log = _step(tmp_path, BODY, verbose=True)
    assert p.returncode == 0
    assert p.stdout.splitlines()[:3] == ["[h9] X: wrote /etc/x", "a line of output", "stray"]
    assert "[h9] X: wrote /etc/x" in log and "a line of output" in log


def test_a_failing_step_reports_on_stderr_with_the_end_of_its_log(tmp_path):
    p, log = _step(tmp_path, 'say "about to fail"\nrun sh -c "echo why; exit 4"\n')
    assert p.returncode == 4 and p.stdout == ""
    assert p.stderr.startswith("edge_constructs: step X failed on host h9: command "
                               "'sh -c echo why; exit 4' exited 4\n"), p.stderr
    assert "    [h9] X: about to fail\n" in p.stderr and "    why\n" in p.stderr
    # a bare command that fails (set -e) is reported too
    p, _ = _step(tmp_path, 'echo "context"\nfalse\n')
    assert p.returncode == 1 and p.stdout == ""
    assert "edge_constructs: step X failed on host h9 (exit 1)" in p.stderr and "    context" in p.stderr


def test_the_stack_name_alone_is_an_empty_line_of_terraforms():
    out = DeployOutput()
    assert out.kind("edge  Initializing the backend...\n") == "status"
    out.section = "apply"
    assert out.kind("edge\n") == "status" and out.kind("edges\n") == "unknown"


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_a_step_that_removes_its_own_log_still_succeeds(tmp_path, verbose):
    # a reset removes the state directory, the step's log with it
    import os
    import subprocess
    from provisioners.steps.step import prelude
    script = tmp_path / "X.sh"
    (tmp_path / "steps").mkdir()
    script.write_text(prelude("X", "h9", str(tmp_path / "steps" / "X.failed"))
                      + 'say "removing"\nrun rm -rf "$(dirname "$STEP_LOG")"\nsay "removed"\n'
                      + 'report "done (0s)"\n')
    env = {k: v for k, v in os.environ.items() if k != "EDGE_VERBOSE"}
    if verbose:
        env["EDGE_VERBOSE"] = "1"
    p = subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.endswith("[h9] X: done (0s)\n"), p.stdout
