"""The demo's quiet output: one line per step and host, Terraform's chatter hidden."""
from __future__ import annotations

import pytest

from simsite.demo import main, quiet

CHATTER = """\
quickstart  module.x.terraform_data.edge_master-h0_EnsureSysctl_1A2B3C4D: Provisioning with 'remote-exec'...
quickstart  module.x.terraform_data.edge_master-h0_EnsureSysctl_1A2B3C4D (remote-exec): Connecting to remote host via SSH...
quickstart  module.x.terraform_data.edge_master-h0_EnsureSysctl_1A2B3C4D (remote-exec):   Host: 198.18.0.10
quickstart  module.x.terraform_data.edge_master-h0_EnsureSysctl_1A2B3C4D (remote-exec):   Private key: true
quickstart  module.x.terraform_data.edge_master-h0_EnsureSysctl_1A2B3C4D (remote-exec): Connected!
quickstart  module.x.terraform_data.edge_master-h0_EnsureSysctl_1A2B3C4D (remote-exec): [h0] EnsureSysctl: wrote /etc/sysctl.d/99-edge_constructs.conf
quickstart  module.x.terraform_data.edge_master-h0_EnsureSysctl_1A2B3C4D: Still creating... [10s elapsed]
quickstart  module.x.terraform_data.edge_master-h0_EnsureSysctl_1A2B3C4D: Creation complete after 1s [id=abc]
"""


def test_quiet_keeps_one_line_per_step_with_its_outcome_and_duration():
    lines = CHATTER.splitlines(keepends=True) + [
        "quickstart  terraform_data.a_EnsureSysctl_1 (remote-exec): [h0] EnsureSysctl: done (3s)\n",
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


def test_fails_when_hosts_is_below_what_the_demo_needs(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--hosts", "1"])
    assert caught.value.code == 2
    assert "--hosts 1: the demo needs at least 2 hosts (a master and a node)" in capsys.readouterr().err
