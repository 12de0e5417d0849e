"""The stand-ins run whatever the location of the Python that made them: a throwaway
virtual environment under /tmp (where each simulated host mounts its own tmpfs) included.

No site may be live in this process here: the site runs in a child process (the venv's
Python), which takes the machine-wide site lock itself.
"""
from __future__ import annotations

import os
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from simsite.fixtures import require_site_prerequisites

pytestmark = pytest.mark.site
REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import shutil, sys, tempfile
from pathlib import Path
from simsite.package import host_tools_dir
from simsite.site import Site
work = Path(tempfile.mkdtemp(prefix="edge-venv-tools-", dir="/var/tmp"))
with Site(n=1, host_tools=host_tools_dir(work)) as site:
    h = site.hosts[0]
    print("shebang", (work / "host-tools" / "modprobe").read_bytes().split(b"\n", 1)[0].decode())
    rc, out, err = site.ssh(h, "modprobe br_netfilter && echo modprobe-ok")
    print("rc", rc, out.strip(), err.strip())
    rc, out, err = site.ssh(h, "touch " + sys.prefix + "/x 2>/dev/null; echo $?")
    print("write", out.strip())
shutil.rmtree(work)
"""


def test_stand_ins_run_when_python_lives_under_tmp():
    require_site_prerequisites()
    # given a virtual environment under /tmp (hosts each mount their own tmpfs there)
    with tempfile.TemporaryDirectory(prefix="edge-venv-", dir="/tmp") as d:
        venv = Path(d) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        # it sees this run's packages through a .pth file, never through a system interpreter's
        # site-packages (a fresh machine's base Python has none of them)
        purelib = subprocess.run([str(venv / "bin" / "python"), "-c",
                                  "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        # (addsitedir: the .pth files there, an editable install's among them, count too)
        Path(purelib, "this-run.pth").write_text(
            "".join(f"import site; site.addsitedir({d!r})\n" for d in site.getsitepackages()))
        # when the site is started from it and a stand-in runs on a host
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        p = subprocess.run([str(venv / "bin" / "python"), "-c", CHILD], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=900)
    # then the stand-in (whose shebang names that Python) runs, and the host cannot write there
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"shebang #!{venv}/bin/python" in p.stdout, p.stdout
    assert "rc 0 modprobe-ok" in p.stdout, p.stdout
    assert "write 1" in p.stdout, p.stdout
