"""One error root: every error class the package defines is an EdgeConstructsError, and what
callers catch as a builtin stays that builtin too."""
from __future__ import annotations

import inspect

from provisioners.core import errors
from provisioners.core.errors import EdgeConstructsError, SSHError, SSHFailure


def test_every_error_is_under_the_one_root():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__ == errors.__name__]
    assert len(classes) >= 12
    assert all(issubclass(c, EdgeConstructsError) for c in classes)
    for name, builtin in (("ValidationError", ValueError), ("InventoryError", ValueError),
                          ("HostKeyError", ValueError), ("ScriptError", ValueError),
                          ("TerraformNotFound", RuntimeError), ("FrameworkNotFound", ImportError),
                          ("FrameworkMismatch", TypeError)):
        assert issubclass(getattr(errors, name), builtin), name


def test_an_ssh_error_kind_is_one_of_the_failures():
    assert SSHError("x").kind is SSHFailure.REACH
    e = SSHError("x", SSHFailure.HOST_KEY)
    assert e.kind == "host key" and f"{e.kind}" == "host key"
    try:
        SSHError("x", "network")
    except ValueError:
        pass
    else:
        raise AssertionError("a free string was taken as a kind")


# --- an app's error, through the real cdktf CLI ---------------------------------------------

BAD_APP = '''\
from cdktf import App, TerraformStack
from edge_constructs import EdgeCluster, Host, InstallPackage
app = App()
stack = TerraformStack(app, "edge")
EdgeCluster(stack, "edge", name="Bad_Name",
            masters=[Host("198.18.0.10", private_key_file="/etc/hostname",
                          host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")],
            install_package=InstallPackage(url="http://198.18.0.1/p.tgz", sha256="0" * 64))
app.synth()
'''
MESSAGE = "name: got 'Bad_Name'; must be lowercase letters"


def _bad_app(tmp_path):
    import json
    import shlex
    import sys
    (tmp_path / "main.py").write_text(BAD_APP)
    (tmp_path / "cdktf.json").write_text(json.dumps({
        "language": "python", "app": f"{shlex.quote(sys.executable)} main.py",
        "projectId": "bad", "sendCrashReports": "false", "terraformProviders": [],
        "terraformModules": [], "context": {}}))
    return tmp_path


def test_a_bad_prop_is_said_once_in_one_line_by_cdktf_synth(tmp_path):
    from simsite import tf
    run = tf.cdktf(["synth"], cwd=_bad_app(tmp_path))
    assert run.returncode != 0, run.output
    assert run.output.count(MESSAGE) == 1, run.output
    assert "Traceback" not in run.output and 'File "' not in run.output, run.output
    assert f"ERROR [edge/edge]: {MESSAGE}" in run.output, run.output


def test_a_bad_prop_ends_python_main_py_with_one_line(tmp_path):
    import subprocess
    import sys
    from simsite import tf
    p = subprocess.run([sys.executable, "main.py"], cwd=_bad_app(tmp_path), env=tf.env(),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 1
    assert p.stderr.startswith(f"edge_constructs: {MESSAGE}") and p.stderr.count("\n") == 1, p.stderr
    # verbose: the whole traceback
    p = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, env=tf.env(EDGE_VERBOSE="1"),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "Traceback" in p.stderr and MESSAGE in p.stderr


def test_other_errors_keep_their_traceback(tmp_path):
    import subprocess
    import sys
    from simsite import tf
    (tmp_path / "main.py").write_text("import edge_constructs\nraise KeyError('x')\n")
    p = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, env=tf.env(),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "Traceback" in p.stderr and "KeyError: 'x'" in p.stderr
