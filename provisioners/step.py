"""What a step is: a script to run on one host, and the files it needs there."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

#: Where step scripts are written on a host before they run (kept for debugging).
STEP_DIR = "/var/lib/edge_constructs/steps"


@dataclass(frozen=True)
class Upload:
    """A local file (absolute path) copied to `destination` on the host with `mode`."""
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
        """Hash of the script and of every uploaded file's bytes: a change re-runs the step."""
        h = hashlib.sha256(self.script.encode())
        for up in self.uploads:
            h.update(f"\0{up.destination}\0{up.mode}\0".encode())
            with open(up.source, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()
