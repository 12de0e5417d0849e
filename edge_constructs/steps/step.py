"""What a step is: a script to run on one host, the files it needs there, and where it runs."""
from __future__ import annotations

import enum
import functools
import hashlib
import shlex
from dataclasses import dataclass
from typing import Optional

from edge_constructs.core.paths import STATE_DIR

#: Where step scripts are written on a host before they run (kept for debugging).
STEP_DIR = f"{STATE_DIR}/steps"
#: Uploads land here first (a 0700 directory), then the script installs them with their mode.
STAGE_DIR = f"{STATE_DIR}/stage"

#: The roles a host has in a cluster (`Context.role`).
MASTER0, MASTER, EDGE = "master0", "master", "edge"


class On(enum.Enum):
    """Where a step runs: every step function declares it (`@step(name, on=...)`)."""
    EVERY_HOST = "every host"
    MASTERS = "every master"
    MASTER0 = "master 0"
    JOINING_MASTERS = "every master but master 0"
    EDGE_NODE = "the edge node"

    def applies_to(self, role: str) -> bool:
        """Whether a chain rendered for a host of `role` holds this step."""
        return role in _ROLES[self]


_ROLES = {
    On.EVERY_HOST: {MASTER0, MASTER, EDGE},
    On.MASTERS: {MASTER0, MASTER},
    On.MASTER0: {MASTER0},
    On.JOINING_MASTERS: {MASTER},
    On.EDGE_NODE: {EDGE},
}


#: An upload whose source starts with this is a value of the cluster's identity resource
#: ("identity:<resource name>/<attribute>"): Terraform uploads it from state.
IDENTITY = "identity:"


def identity_source(resource: str, attribute: str) -> str:
    return f"{IDENTITY}{resource}/{attribute}"


def parse_identity_source(source: str) -> tuple[str, str] | None:
    """(resource name, attribute) of an identity source, None for a local path."""
    if not source.startswith(IDENTITY):
        return None
    resource, _, attribute = source[len(IDENTITY):].partition("/")
    return resource, attribute


@dataclass(frozen=True)
class Upload:
    """A local file (absolute path), or a value of the cluster's identity (`identity_source`),
    copied to `destination` on the host with `mode`."""
    source: str
    destination: str
    mode: str = "0600"


@dataclass(frozen=True)
class Step:
    """One idempotent POSIX-sh script for one host. `script` never holds a secret:
    secrets reach the host as `uploads`."""
    name: str
    script: str
    uploads: tuple[Upload, ...] = ()
    on: On = On.EVERY_HOST

    @property
    def _dir_name(self) -> str:
        return self.name

    @property
    def remote_path(self) -> str:
        return f"{STEP_DIR}/{self._dir_name}.sh"

    @property
    def stage_dir(self) -> str:
        return f"{STAGE_DIR}/{self._dir_name}"

    @property
    def result_path(self) -> str:
        """Where the prelude records the failing command and its exit code."""
        return f"{STEP_DIR}/{self._dir_name}.failed"

    def fingerprint(self) -> str:
        """Hash of the script and of every uploaded local file's bytes: a change re-runs the
        step. An identity value counts by name here; its digest (computed by the provider)
        joins the step's replace trigger (`edge_constructs.terraform.resources`)."""
        h = hashlib.sha256(self.script.encode())
        for up in self.uploads:
            h.update(f"\0{up.destination}\0{up.mode}\0".encode())
            if parse_identity_source(up.source):
                h.update(up.source.encode())
                continue
            with open(up.source, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()


# Every step starts with this. `run` executes one command, keeps its output in a log and,
# when it fails, records the command and its exit code in $STEP_RESULT (read by the SSH
# runner), prints one line naming host, step, command and exit code plus the last lines of
# output, and stops the script with that exit code. `say` prints progress in the one voice
# `[host] Step: message` that the runner uses too. `put` writes stdin to a file atomically,
# with its final mode from the start, and only when the content differs (it returns 1 when
# nothing changed, so callers write `put F || true`: a failed write therefore stops the
# script itself, through `fail`, like `run`). `secret VALUE`
# registers a value (a token read from an uploaded file) that `run` masks as *** in
# everything it prints.
PRELUDE = r'''set -eu
STEP={name}
HOST={host}
STEP_RESULT={result}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
_log=$(mktemp /tmp/edge-step.XXXXXX)
_secrets=""
_t0=$(date +%s)
rm -f "$STEP_RESULT"
say() {{ echo "[$HOST] $STEP: $*"; }}
secret() {{ _secrets="$_secrets $1"; }}
masked() {{ if [ -z "$_secrets" ]; then cat; else
  _sed=""; for _s in $_secrets; do _sed="$_sed -e s/$_s/***/g"; done; sed $_sed; fi; }}
fail() {{
  _rc=$1; shift
  {{ echo "$_rc"; echo "$*" | masked; }} > "$STEP_RESULT"
  echo "edge_constructs: step $STEP failed on host $HOST: command '$*' exited $_rc" | masked >&2
  echo "edge_constructs: last lines of output:" >&2
  tail -n 20 "$_log" | sed 's/^/    /' | masked >&2
  # From a subshell (`... | put F`), `exit` alone would end only the subshell: the script
  # stops through its TERM trap, with the recorded exit code.
  kill -s TERM "$_main" 2>/dev/null || true
  exit "$_rc"
}}
run() {{
  rc=0; "$@" >"$_log" 2>&1 || rc=$?
  masked < "$_log"
  if [ "$rc" -ne 0 ]; then fail "$rc" "$@"; fi
}}
put() {{
  _dst=$1; _mode=${{2:-0644}}; _tmp="$_dst.edge-tmp.$$"
  run mkdir -p "$(dirname "$_dst")"
  run sh -c 'umask 077 && : >"$1" && chmod "$2" "$1"' put "$_tmp" "$_mode"
  cat >"$_tmp" 2>"$_log" || fail $? write "$_dst"
  if [ -f "$_dst" ] && cmp -s "$_tmp" "$_dst"; then rm -f "$_tmp"; return 1; fi
  run mv -f "$_tmp" "$_dst"
}}
_main=$$
trap 'rm -f "$_log"' EXIT
trap 'exit "$(head -n 1 "$STEP_RESULT" 2>/dev/null || echo 1)"' TERM
'''


def staged_path(step: Step, index: int) -> str:
    """Where upload number `index` of `step` is copied before the script installs it."""
    return f"{step.stage_dir}/{index}"


def full_script(step: Step, host: Optional[str] = None) -> str:
    """The script as it runs on the host: prelude, staged uploads installed, then the body.
    `host` is the name progress lines carry (left out: $EDGE_NODE_NAME, else the host's
    own hostname)."""
    q = shlex.quote
    lines = [PRELUDE.format(name=q(step.name), host=q(host) if host else '"${EDGE_NODE_NAME:-$(hostname)}"',
                            result=q(step.result_path))]
    for i, up in enumerate(step.uploads):
        src, dst = q(staged_path(step, i)), q(up.destination)
        tmp = q(up.destination + ".edge-tmp")
        lines.append(
            f'mkdir -p "$(dirname {dst})" && install -m {up.mode} {src} {tmp} && '
            f'mv -f {tmp} {dst} && rm -f {src}')
    lines.append(step.script.strip("\n"))
    lines.append('say "done ($(( $(date +%s) - _t0 ))s)"')
    return "\n".join(lines) + "\n"


def step(name: str, *, on: On):
    """Declare a step function and where it runs. The function returns the script body (or
    `(body, uploads)`), or None when the props leave it nothing to do; the decorator makes
    the named `Step`, and makes none for a host whose role `on` does not cover."""
    def wrap(fn):
        @functools.wraps(fn)
        def make(ctx) -> Optional[Step]:
            if not on.applies_to(ctx.role):
                return None
            out = fn(ctx)
            if out is None:
                return None
            body, uploads = (out, ()) if isinstance(out, str) else out
            return Step(name, body, tuple(uploads), on)
        make.step_name = name
        make.on = on
        return make
    return wrap
