"""Drive `python main.py`, `cdktf` and `terraform` the way a user or a pipeline does."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

from edge_constructs.terraform.binary import find_terraform, terraform_env

REPO = Path(__file__).resolve().parents[1]
CDKTF = REPO / "node_modules" / ".bin" / "cdktf"


@dataclass
class Run:
    argv: list[str]
    returncode: int
    output: str

    def check(self) -> "Run":
        if self.returncode != 0:
            raise AssertionError(f"{' '.join(self.argv)} exited {self.returncode}:\n"
                                 + "\n".join(self.output.splitlines()[-60:]))
        return self


def env(**extra: str) -> dict[str, str]:
    e = terraform_env()
    e.setdefault("CI", "true")          # cdktf-cli: no spinner, plain log lines
    e.setdefault("FORCE_COLOR", "0")
    e.setdefault("NO_COLOR", "1")
    # Apps run in subprocesses: make them import this checkout, whatever pip installed.
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    e.update(extra)
    return e


Echo = Union[bool, Callable[[str], Optional[str]]]

#: The umask the commands run under: 077, as the guide says to run Terraform (state, backups
#: and plan files hold the cluster's keys). A test of a file's mode runs its action under
#: `umask(0o022)`, a machine's usual, so that the mode it sees is the product's doing.
UMASK = 0o077


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run the commands (and this process's own file creation) under `mask`, restored after."""
    global UMASK
    saved, old = UMASK, os.umask(mask)
    UMASK = mask
    try:
        yield
    finally:
        UMASK = saved
        os.umask(old)


def run(argv: list[str], cwd: Path, extra_env: dict | None = None, echo: Echo = False,
        timeout: int = 1500) -> Run:
    """Run a command, keeping its combined output. `echo`: True prints every line; a
    function prints what it returns for each line (None hides the line)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env(**(extra_env or {})), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, umask=UMASK)
    lines = []
    assert proc.stdout
    for line in proc.stdout:
        lines.append(line)
        shown = echo(line) if callable(echo) else (line if echo else None)
        if shown:
            sys.stdout.write(shown)
            sys.stdout.flush()
    rc = proc.wait(timeout=timeout)
    return Run(argv, rc, "".join(lines))


def synth(main_py: Path, outdir: Path, extra_env: dict | None = None) -> Path:
    """`python main.py` as a pipeline would run it; returns the stack directory."""
    run([sys.executable, str(main_py)], main_py.parent,
        {"CDKTF_OUTDIR": str(outdir), **(extra_env or {})}).check()
    stacks = [p for p in (outdir / "stacks").iterdir() if p.is_dir()]
    assert len(stacks) == 1, stacks
    return stacks[0]


def terraform(args: list[str], stack_dir: Path, echo: Echo = False,
              extra_env: dict | None = None) -> Run:
    return run([find_terraform(), *args], stack_dir, extra_env, echo=echo)


def outputs(stack_dir: Path) -> dict:
    """Every output of the stack's state, sensitive ones included."""
    out = terraform(["output", "-json"], stack_dir).check().output
    return {k: v["value"] for k, v in json.loads(out[out.index("{"):]).items()}


def cdktf(args: list[str], cwd: Path = REPO, echo: Echo = False,
          extra_env: dict | None = None) -> Run:
    return run([str(CDKTF), *args], cwd, extra_env, echo=echo)


# Plans are judged by `terraform show -json` (tests/plan.py), never by their text.
_DONE = re.compile(r"terraform_data\.([^\s:]+)(?: \([^)]*\))?: Creation complete after (\S+)")


def step_durations(output: str) -> list[tuple[str, str]]:
    """(resource, duration) for each created step, in the order they finished."""
    return [(m.group(1), m.group(2)) for m in _DONE.finditer(output)]
