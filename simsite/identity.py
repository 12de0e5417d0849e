"""A cluster's identity as files, for running chains through the SSH runner without
Terraform (tests, benchmarks): the values the provider keeps in state, written 0600 in a
0700 directory, named as the step functions read them on `ctx.creds`."""
from __future__ import annotations

import datetime as _dt
import json
import types
from pathlib import Path
from typing import Mapping

from provisioners.core.props import DEFAULT_VIRTUAL_ADDRESS
from edge_constructs.credentials.identity import UPLOADED, new_identity


def identity_files(directory: Path, values: Mapping[str, str]) -> types.SimpleNamespace:
    """`values` (an identity's attributes) as files; the namespace holds each file's path
    under its attribute name, and the values themselves as `.values`."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = {}
    for name in UPLOADED:
        f = directory / name
        f.touch(mode=0o600)
        f.write_text(values[name])
        paths[name] = str(f)
    paths["ca_cert_hash_file"] = paths["ca_cert_hash"]
    return types.SimpleNamespace(values=dict(values), **paths)


def new_identity_files(directory: Path, *, cluster_name: str, endpoint: str,
                       virtual_address: str = DEFAULT_VIRTUAL_ADDRESS) -> types.SimpleNamespace:
    """The identity kept in `directory`: made (as the provider would make it) and written
    the first time, read back after, so one directory is one cluster's identity."""
    saved = directory / "values.json"
    if saved.exists():
        values = json.loads(saved.read_text())
    else:
        values = new_identity(cluster_name=cluster_name, endpoint=endpoint,
                              virtual_address=virtual_address,
                              leaf_validity=_dt.timedelta(days=365))
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        saved.touch(mode=0o600)
        saved.write_text(json.dumps(values))
    return identity_files(directory, values)
