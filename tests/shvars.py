"""Evaluate what a step body hands its shell file, with sh itself: the quoted assignments
at the top of the body (`edge_constructs.steps.step.sh_script`)."""
from __future__ import annotations

import subprocess

from edge_constructs.steps.step import sh_file


def head(script: str, first_file: str) -> str:
    """The assignments of a body whose first shell file is `first_file`."""
    return script[:script.index(sh_file(first_file))]


def sh_value(script: str, first_file: str, name: str) -> str:
    """The value sh gives variable `name` in `script` (a body starting with `first_file`)."""
    out = subprocess.run(["sh", "-c", head(script, first_file) + f'printf "%s" "${name}"'],
                         capture_output=True, text=True, check=True)
    return out.stdout


def with_token(script: str, first_file: str, token_file: str, then: str) -> str:
    """Run `then` after the body's assignments and sh/token.sh (reading `token_file`)."""
    prog = (head(script, first_file) + f"TOKEN_FILE='{token_file}'\n"
            "secret() { :; }\nfail() { echo \"$1\" >&2; exit 1; }\n" + sh_file("token") + then)
    return subprocess.run(["sh", "-c", prog], capture_output=True, text=True, check=True).stdout
