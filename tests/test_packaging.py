"""The wheel holds the product and nothing of the harness: the simulated site, its
stand-ins and the tests stay in the repository."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_the_package_and_not_the_simulated_site(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--disable-pip-version-check", "-q",
                            "-w", str(tmp_path), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    [wheel] = tmp_path.glob("edge_constructs-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"edge_constructs", "provisioners"}, tops
    for module in ("provisioners/core/props.py", "provisioners/steps/chains.py",
                   "provisioners/ssh/runner.py", "edge_constructs/terraform/cluster.py",
                   "edge_constructs/credentials/pki.py", "edge_constructs/validation/rules.py"):
        assert module in names, module
    assert not [n for n in names if "standins" in n or "simsite" in n]
    # the step scripts are package data: every shell file of the source tree is in the wheel
    sh_dir = REPO / "provisioners" / "steps" / "sh"
    sh = sorted(p.relative_to(sh_dir).as_posix() for p in sh_dir.rglob("*.sh"))
    assert "lib/prelude.sh" in sh and "body/EnsureJoinNode.sh" in sh
    assert sorted(n.removeprefix("provisioners/steps/sh/") for n in names
                  if n.startswith("provisioners/steps/sh/")) == sh
