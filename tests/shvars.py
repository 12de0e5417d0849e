"""Evaluate what a step body hands its shell file, with sh itself: the quoted assignments
at the top of the body (`provisioners.steps.step.sh_script`)."""
from __future__ import annotations

import subprocess

from provisioners.steps.step import sh_file


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


#: The prelude's functions, for a dry run: `run` prints its arguments, one a line after
#: "run:", instead of running them.
DRY_PRELUDE = r"""
say() { :; }
secret() { :; }
fail() { echo "$1" >&2; exit 1; }
put() { cat > /dev/null; }
run() { echo "run:"; printf '%s\n' "$@"; }
_nl='
'
split_lines() { IFS=$_nl; set -f; }
end_split() { unset IFS; set +f; }
"""


def dry_run(script: str, first_file: str, **overrides: str) -> list[list[str]]:
    """The commands a body hands `run`, each as its argv: the body runs in sh with its
    assignments, then `overrides` (e.g. file paths), then its shell files."""
    top = head(script, first_file)
    extra = "".join(f"{k}='{v}'\n" for k, v in overrides.items())
    out = subprocess.run(["sh", "-c", top + extra + DRY_PRELUDE + script[len(top):]],
                         capture_output=True, text=True, check=True).stdout
    return [c.strip("\n").split("\n") for c in out.split("run:\n")[1:]]


def assigned(script: str, name: str) -> str:
    """The value of the assignment `name=...` in `script` (sh_quote's forms: a bare word, or
    single-quoted pieces with "'" between them), as sh reads it."""
    import re
    m = re.search(rf"^{name}=((?:'[^']*'|\"'\"|[^\s'\"])*)$", script, re.M)
    assert m, f"no assignment of {name}"
    return subprocess.run(["sh", "-c", f"X={m.group(1)}\nprintf '%s' \"$X\""],
                          capture_output=True, text=True, check=True).stdout
