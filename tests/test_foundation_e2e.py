"""The foundation: a cdktf app of chained terraform_data + file + remote-exec resources,
synthesized by `python main.py`, applies on 3 simulated hosts with the embedded Terraform
(no terraform on PATH), and through `cdktf deploy`."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from edge_constructs.terraform.binary import embedded_terraform, find_terraform
from simsite import tf

pytestmark = pytest.mark.site
APP = Path(__file__).resolve().parent / "apps" / "chain_app.py"


@pytest.fixture
def no_terraform_on_path(monkeypatch):
    """PATH without any directory that holds a `terraform`, and no TERRAFORM_BINARY_NAME."""
    keep = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and not os.path.exists(os.path.join(d, "terraform"))]
    monkeypatch.setenv("PATH", os.pathsep.join(keep))
    monkeypatch.delenv("TERRAFORM_BINARY_NAME", raising=False)
    assert shutil.which("terraform") is None


def spec_for(site, work: Path) -> Path:
    site.write_inventory(work / "inventory.json")
    spec = json.loads((work / "inventory.json").read_text())
    spec["workdir"] = str(work)
    (work / "spec.json").write_text(json.dumps(spec))
    return work / "spec.json"


def assert_chained(site) -> None:
    for h in site.hosts:
        rc, out, err = site.ssh(h, "cat /root/chained")
        assert rc == 0, err
        assert out == f"hello from {h.name}\n{h.name}\n"


def test_without_terraform_on_path_the_embedded_one_is_used(no_terraform_on_path):
    assert find_terraform() == embedded_terraform()
    run = tf.run([find_terraform(), "version"], Path.cwd())
    assert run.returncode == 0 and "Terraform v1.15" in run.output


def test_python_main_then_embedded_terraform_apply_on_three_hosts(
        no_terraform_on_path, site_factory, tmp_path):
    site = site_factory(3)
    spec = spec_for(site, tmp_path)
    stack = tf.synth(APP, tmp_path / "out", {"EDGE_TEST_SPEC": str(spec)})
    init = tf.terraform(["init", "-input=false"], stack).check()
    assert "terraform.io/builtin/terraform is built in to Terraform" in init.output
    tf.terraform(["apply", "-auto-approve", "-input=false"], stack).check()
    assert_chained(site)
    # The site's hosts are isolated: nothing reached the test machine.
    assert not Path("/root/chained").exists()


def test_cdktf_deploy_with_the_embedded_terraform(no_terraform_on_path, site_factory, tmp_path):
    site = site_factory(3)
    spec = spec_for(site, tmp_path)
    (tmp_path / "cdktf.json").write_text(json.dumps(
        {"language": "python", "app": f"python3 {APP}", "sendCrashReports": "false"}))
    run = tf.cdktf(["deploy", "--auto-approve"], cwd=tmp_path,
                   extra_env={"EDGE_TEST_SPEC": str(spec)}).check()
    assert "Apply complete! Resources: 6 added" in run.output
    assert_chained(site)
