"""One seam for the CDK framework: the constructs work unchanged in an app written against
HashiCorp's cdktf and in one written against its maintained fork cdktn, with both installed;
the examples synthesize to the same Terraform JSON under each."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_constructs.terraform import cdk
from edge_constructs.terraform.binary import terraform_env
from simsite.synth import HOST_KEY, new_private_key

REPO = Path(__file__).resolve().parents[1]


def test_the_app_framework_already_imported_is_used():
    assert cdk.choose(environ={}, loaded={"cdktn": object()}) == "cdktn"
    assert cdk.choose(environ={}, loaded={"cdktf": object()}) == "cdktf"


def test_the_environment_forces_a_framework():
    both = {"cdktf": object(), "cdktn": object()}
    assert cdk.choose(environ={cdk.ENV: "cdktn"}, loaded=both) == "cdktn"
    assert cdk.choose(environ={cdk.ENV: "cdktf"}, loaded={"cdktn": object()}) == "cdktf"


def test_fails_when_the_environment_names_another_framework():
    with pytest.raises(ImportError, match=r"EDGE_CONSTRUCTS_CDK='pulumi': must be one of cdktf, cdktn"):
        cdk.choose(environ={cdk.ENV: "pulumi"}, loaded={})


def test_with_nothing_imported_the_installed_default_is_cdktf():
    assert cdk.choose(environ={}, loaded={}) == "cdktf"


def inventory(tmp: Path) -> Path:
    key = new_private_key(tmp / "id_ed25519")
    pkg = tmp / "kube-linux-amd64-v1.22.6.tar.gz"
    pkg.write_bytes(b"a stand-in package for synth only\n")
    hosts = [{"name": n, "address": f"198.51.100.{10 + i}", "port": 22, "user": "root",
              "private_key_file": str(key), "host_key": HOST_KEY}
             for i, n in enumerate(["master-0", "cam-1", "cam-2"])]
    path = tmp / "inventory.json"
    path.write_text(json.dumps({"hosts": hosts, "install_package": {
        "path": str(pkg), "sha256": hashlib.sha256(pkg.read_bytes()).hexdigest()}}))
    return path


def synth_with(framework: str, example: str, tmp: Path, inv: Path) -> dict:
    """Synthesize examples/<example>/main.py as its author wrote it, but with the app's own
    imports taken from `framework`; both frameworks are installed, nothing is forced."""
    src = (REPO / "examples" / example / "main.py").read_text()
    assert "from cdktf import" in src
    app_dir = tmp / f"{example}-{framework}"
    app_dir.mkdir()
    (app_dir / "main.py").write_text(src.replace("from cdktf import", f"from {framework} import"))
    env = {k: v for k, v in terraform_env().items() if k != cdk.ENV}
    env.update(EDGE_INVENTORY=str(inv), EDGE_WORKDIR=str(tmp),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    run = subprocess.run([sys.executable, "main.py"], cwd=app_dir, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    [stack] = list((app_dir / "cdktf.out" / "stacks").iterdir())
    doc = json.loads((stack / "cdk.tf.json").read_text())
    doc.pop("//", None)          # metadata: the framework's name and version
    return doc


@pytest.mark.parametrize("example", ["quickstart", "edge_pool"])
def test_an_example_synthesizes_the_same_json_under_cdktf_and_cdktn(example, tmp_path):
    inv = inventory(tmp_path)
    with_cdktf = synth_with("cdktf", example, tmp_path, inv)
    with_cdktn = synth_with("cdktn", example, tmp_path, inv)
    assert with_cdktf["resource"]["terraform_data"]        # something was made
    assert with_cdktn == with_cdktf


def test_a_construct_in_the_other_frameworks_stack_is_refused_with_what_to_do(tmp_path):
    # cdktn's App and stack, while the constructs were loaded for cdktf
    code = """
import os
os.environ['EDGE_CONSTRUCTS_CDK'] = 'cdktf'
from cdktn import App, TerraformStack
from edge_constructs import EdgeCluster, Host, InstallPackage
app = App(outdir=os.environ['OUT'])
stack = TerraformStack(app, 's')
try:
    EdgeCluster(stack, 'edge', name='x', masters=[Host('198.51.100.10', private_key_file=os.environ['KEY'], insecure_ignore_host_key=True)],
                install_package=InstallPackage(path=os.environ['PKG'], sha256='2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'))
except TypeError as e:
    print('REFUSED', e)
"""
    key = new_private_key(tmp_path / "k")
    pkg = tmp_path / "p.tgz"
    pkg.write_bytes(b"x")
    env = {**terraform_env(), "OUT": str(tmp_path / "out"), "KEY": str(key), "PKG": str(pkg),
           "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert "REFUSED EdgeCluster 'edge': no cdktf stack holds this construct; is the app " \
           "written with cdktn? Set EDGE_CONSTRUCTS_CDK=cdktn" in run.stdout, run.stdout + run.stderr
