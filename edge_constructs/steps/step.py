"""What a step is: a script to run on one host, and the files it needs there."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

#: Where step scripts are written on a host before they run (kept for debugging).
STEP_DIR = "/var/lib/edge_constructs/steps"


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

    @property
    def remote_path(self) -> str:
        return f"{STEP_DIR}/{self.name}.sh"

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


#: Uploads land here first (a 0700 directory), then the script installs them with their mode.
STAGE_DIR = "/var/lib/edge_constructs/stage"

# Every step script starts with this. `run` executes one command, keeps its output in a
# log and, when it fails, prints one line naming host, step, command and exit code plus the
# last lines of output, then stops the script with that exit code. `say` prints progress in
# one voice. `put` writes stdin to a file atomically, and only when the content differs.
# `secret VALUE` registers a value (a token read from an uploaded file) that `run` masks as
# *** in everything it prints.
PRELUDE = r'''set -eu
STEP={name}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
_log=$(mktemp /tmp/edge-step.XXXXXX)
_secrets=""
say() {{ echo "[$(hostname)] $STEP: $*"; }}
secret() {{ _secrets="$_secrets $1"; }}
masked() {{ if [ -z "$_secrets" ]; then cat; else
  _sed=""; for _s in $_secrets; do _sed="$_sed -e s/$_s/***/g"; done; sed $_sed; fi; }}
run() {{
  rc=0; "$@" >"$_log" 2>&1 || rc=$?
  masked < "$_log"
  if [ "$rc" -ne 0 ]; then
    echo "edge_constructs: step $STEP failed on host $(hostname): command '$*' exited $rc" | masked >&2
    echo "edge_constructs: last lines of output:" >&2
    tail -n 20 "$_log" | sed 's/^/    /' | masked >&2
    rm -f "$_log"
    exit "$rc"
  fi
}}
put() {{
  _dst=$1; _mode=${{2:-0644}}; _tmp="$_dst.edge-tmp.$$"
  mkdir -p "$(dirname "$_dst")"
  cat >"$_tmp"; chmod "$_mode" "$_tmp"
  if [ -f "$_dst" ] && cmp -s "$_tmp" "$_dst"; then rm -f "$_tmp"; return 1; fi
  mv -f "$_tmp" "$_dst"
}}
trap 'rm -f "$_log"' EXIT
'''


def staged_path(step: Step, index: int) -> str:
    """Where upload number `index` of `step` is copied before the script installs it."""
    return f"{STAGE_DIR}/{step.name}/{index}"


def full_script(step: Step) -> str:
    """The script as it runs on the host: prelude, staged uploads installed, then the body."""
    lines = [PRELUDE.format(name=step.name)]
    for i, up in enumerate(step.uploads):
        src = staged_path(step, i)
        lines.append(
            f'mkdir -p "$(dirname {up.destination})" && '
            f'install -m {up.mode} {src} {up.destination}.edge-tmp && '
            f'mv -f {up.destination}.edge-tmp {up.destination} && rm -f {src}')
    lines.append(step.script.strip("\n"))
    lines.append('say done')
    return "\n".join(lines) + "\n"


def step(name: str):
    """Declare a step function: it returns the script body (or `(body, uploads)`), or None
    when it has nothing to do on this host; the decorator makes the named `Step`."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def make(ctx) -> Step | None:
            out = fn(ctx)
            if out is None:
                return None
            body, uploads = (out, ()) if isinstance(out, str) else out
            return Step(name, body, tuple(uploads))
        make.step_name = name
        return make
    return wrap
