"""What a step is: a script to run on one host, the files it needs there, and where it runs."""
from __future__ import annotations

import enum
import functools
import hashlib
import re
import shlex
from importlib import resources
from dataclasses import dataclass, field
from typing import Mapping, Optional

from provisioners.core.errors import ScriptError
from provisioners.core.paths import STATE_DIR

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
    #: Values in `script` whose change another step brings to a running cluster (SuperEdge's
    #: version and image repository: `edge_update.ensure_edge_components_version`): the
    #: fingerprint reads the script with each of them masked, so their change re-runs that
    #: step alone. The script itself uses them as they are.
    settled: tuple[str, ...] = ()
    #: What the step's replace trigger shows beside the fingerprint, so that a plan names
    #: what changes (e.g. workload -> image); values of the props only, never secrets.
    shown: Optional[Mapping] = field(default=None, compare=False)

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
        script = self.script
        for value in self.settled:
            script = script.replace(value, "\0settled\0")
        h = hashlib.sha256(script.encode())
        for up in self.uploads:
            h.update(f"\0{up.destination}\0{up.mode}\0".encode())
            if parse_identity_source(up.source):
                h.update(up.source.encode())
                continue
            with open(up.source, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()


#: The shell, POSIX sh files shipped with the package, under one naming scheme: a step body is
#: `sh/body/<StepName>.sh` (a variant `<StepName>.<variant>.sh`), a fragment that several steps
#: share is `sh/lib/<snake_name>.sh`. A name's first letter says which.
SH_DIR = "sh"
#: Names of the variables Python hands to a script: upper case, digits and underscores.
_VAR = re.compile(r"^[A-Z][A-Z0-9_]*$")


def sh_quote(value) -> str:
    """THE way a value reaches a script: one shell word, quoted (`shlex.quote`). A list or
    tuple becomes its items, one a line (the script splits them with `split_lines`)."""
    if isinstance(value, (list, tuple)):
        value = "\n".join(str(v) for v in value)
    elif isinstance(value, bool):
        value = "1" if value else ""
    value = str(value)
    if "\0" in value:
        raise ScriptError(f"a NUL character cannot reach a shell script: {value!r}")
    return shlex.quote(value)


@functools.lru_cache(maxsize=None)
def sh_file(name: str) -> str:
    """The text of a step body (`sh/body/<Name>.sh`) or of a fragment (`sh/lib/<name>.sh`)."""
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*(\.[a-z0-9]+)?|[a-z][a-z0-9_]*", name):
        raise ScriptError(f"shell file name {name!r}: a StepName[.variant] or a snake_name")
    kind = "body" if name[0].isupper() else "lib"
    return resources.files("provisioners.steps").joinpath(SH_DIR, kind, f"{name}.sh").read_text()


def assignments(values: dict) -> str:
    """`NAME='value'` lines, one per value, each value through `sh_quote`."""
    lines = []
    for name, value in values.items():
        if not _VAR.match(name):
            raise ScriptError(f"script variable {name!r}: not an upper-case shell name")
        word = sh_quote(value)
        # the value is data: what looks like an expansion (SC2016) or an escape (SC1003) in
        # its single quotes stays literal, as meant
        notes = [code for code, chars in (("SC2016", "$`"), ("SC1003", "\\")) if any(c in word for c in chars)]
        if notes:
            lines.append(f"# shellcheck disable={','.join(notes)} # a literal value")
        lines.append(f"{name}={word}")
    return "\n".join(lines)


def sh_script(*names: str, **values) -> str:
    """A step body: the values as quoted assignments, then the files `sh/<name>.sh`
    unchanged, in order."""
    head = assignments(values)
    return (head + "\n" if head else "") + "".join(sh_file(n) for n in names)


def prelude(name: str, host: Optional[str], result: str) -> str:
    """What every script starts with: its name, the host it reports as (None: the host's own
    hostname) and where it records a failure, then `sh/prelude.sh`."""
    return "set -eu\n" + sh_script("prelude", STEP=name, HOST=host or "", STEP_RESULT=result)


def staged_path(step: Step, index: int) -> str:
    """Where upload number `index` of `step` is copied before the script installs it."""
    return f"{step.stage_dir}/{index}"


def full_script(step: Step, host: Optional[str] = None) -> str:
    """The script as it runs on the host: prelude, staged uploads installed, then the body.
    `host` is the name progress lines carry (left out: $EDGE_NODE_NAME, else the host's
    own hostname)."""
    lines = [prelude(step.name, host, step.result_path).rstrip("\n")]
    for i, up in enumerate(step.uploads):
        words = (staged_path(step, i), up.destination, up.mode)
        lines.append("install_upload " + " ".join(sh_quote(w) for w in words))
    lines.append(step.script.strip("\n"))
    lines.append('report "done ($(( $(date +%s) - _t0 ))s)"')
    return "\n".join(lines) + "\n"


def step(name: str, *, on: On, settled=None):
    """Declare a step function and where it runs. The function returns the script body (or
    `(body, uploads)`, or a dict of `Step` fields: script, uploads, shown), or None when the
    props leave it nothing to do; the decorator makes the named `Step`, and makes none for a
    host whose role `on` does not cover. `settled(ctx)`: the step's `Step.settled` values."""
    def wrap(fn):
        @functools.wraps(fn)
        def make(ctx) -> Optional[Step]:
            if not on.applies_to(ctx.role):
                return None
            out = fn(ctx)
            if out is None:
                return None
            if isinstance(out, dict):
                parts = dict(out)
            else:
                body, uploads = (out, ()) if isinstance(out, str) else out
                parts = {"script": body, "uploads": uploads}
            parts["uploads"] = tuple(parts.get("uploads", ()))
            if settled is not None:
                parts["settled"] = tuple(v for v in settled(ctx) if v)
            return Step(name, on=on, **parts)
        make.step_name = name
        make.on = on
        return make
    return wrap
