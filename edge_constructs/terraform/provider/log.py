"""Where the provider writes what it did on a node: Terraform shows a provider's output only
under TF_LOG, so each edge node's run goes to `edge-logs/<node>.log` in the stack directory
(the working directory Terraform gives the provider), and errors point at it."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

#: Overrides the directory (default: ./edge-logs).
LOG_DIR_ENV = "EDGE_LOG_DIR"


class NodeLog:
    def __init__(self, path: Path, fo):
        self.path, self._fo = path, fo

    def line(self, text: str) -> None:
        self._fo.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        self._fo.flush()


@contextlib.contextmanager
def node_log(name: str):
    """Append to the node's log (0600, in a 0700 directory)."""
    d = Path(os.environ.get(LOG_DIR_ENV) or "edge-logs").resolve()
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = d / f"{name}.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fo:
        yield NodeLog(path, fo)
