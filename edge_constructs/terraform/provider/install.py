"""Put the provider where `terraform init` finds it with no download and no warning.

Beside a stack's configuration, in Terraform's implied local mirror layout:

    terraform.d/plugins/<hostname>/<namespace>/edge/<version>/<os>_<arch>/terraform-provider-edge_v<version>

a launcher that runs this package's interpreter, and a `.terraform.lock.hcl` that already
holds the package's `h1:` hash (without it, init warns "Incomplete lock file information").
The launcher names the interpreter and this package's location, so both are written again at
every synth.
"""
from __future__ import annotations

import base64
import hashlib
import os
import platform
import re
import shlex
import sys
from pathlib import Path

from edge_constructs.terraform.provider import SOURCE, TYPE, VERSION, HOSTNAME, NAMESPACE

LOCK_FILE = ".terraform.lock.hcl"
#: Where this package lies: the launcher puts it first on the provider's sys.path, so the
#: provider is the very code that synthesized the stack.
PACKAGE_ROOT = Path(__file__).resolve().parents[3]


def os_arch() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "armv7l": "arm", "i686": "386", "i386": "386"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def launcher_text(python: str | None = None, root: Path | None = None) -> str:
    code = ("import sys; sys.path.insert(0, %r); "
            "from edge_constructs.terraform.provider.server import main; main()"
            % str(root or PACKAGE_ROOT))
    return ("#!/bin/sh\n"
            "# The edge Terraform provider of edge_constructs, run by the Python that synthesized\n"
            "# this stack. Written by the synth; written again by the next one.\n"
            f"exec {shlex.quote(python or sys.executable)} -I -c {shlex.quote(code)} \"$@\"\n")


def package_dir(stack_dir: Path) -> Path:
    return (Path(stack_dir) / "terraform.d" / "plugins" / HOSTNAME / NAMESPACE / TYPE / VERSION
            / os_arch())


def h1_hash(directory: Path) -> str:
    """Terraform's "h1:" package hash of an unpacked provider directory (Go's dirhash
    Hash1: sha256 over the sorted lines "<sha256 hex>  <relative path>\\n")."""
    lines = []
    files = sorted(p.relative_to(directory).as_posix()
                   for p in Path(directory).rglob("*") if p.is_file())
    for rel in files:
        digest = hashlib.sha256((Path(directory) / rel).read_bytes()).hexdigest()
        lines.append(f"{digest}  {rel}\n")
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


def _write_if_changed(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        tmp.chmod(mode)
        tmp.replace(path)
    elif (path.stat().st_mode & 0o777) != mode:
        path.chmod(mode)


_BLOCK = re.compile(r'provider "%s" \{.*?\n\}\n?' % re.escape(SOURCE), re.S)


def lock_block(h1: str) -> str:
    return (f'provider "{SOURCE}" {{\n'
            f'  version     = "{VERSION}"\n'
            f'  constraints = "{VERSION}"\n'
            f'  hashes = [\n'
            f'    "{h1}",\n'
            f'  ]\n'
            f'}}\n')


def install_into(stack_dir: Path, python: str | None = None) -> str:
    """Write the launcher and the lock entry into `stack_dir`; returns the h1 hash. Other
    providers' entries in an existing lock file are kept."""
    stack_dir = Path(stack_dir)
    pkg = package_dir(stack_dir)
    # Only this version's directory: an older one left beside it would be offered too.
    _write_if_changed(pkg / f"terraform-provider-{TYPE}_v{VERSION}", launcher_text(python), 0o755)
    h1 = h1_hash(pkg)
    lock = stack_dir / LOCK_FILE
    old = lock.read_text() if lock.exists() else ""
    rest = _BLOCK.sub("", old)
    header = ("# This file is maintained automatically by \"terraform init\".\n"
              "# Manual edits may be lost in future updates.\n")
    if not rest.strip():
        text = header + "\n" + lock_block(h1)
    else:
        text = rest.rstrip("\n") + "\n\n" + lock_block(h1)
    _write_if_changed(lock, text, 0o644)
    return h1


def required_providers() -> dict:
    """The `terraform.required_providers` entry of a stack that uses the provider."""
    return {TYPE: {"source": SOURCE, "version": VERSION}}


if __name__ == "__main__":  # python -m edge_constructs.terraform.provider.install <stack dir>
    for d in sys.argv[1:] or [os.getcwd()]:
        print(install_into(Path(d)))
