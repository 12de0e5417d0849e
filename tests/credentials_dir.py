"""A credentials directory as the earlier release wrote it (the import's input): the files
of `identity_table.FILES`, 0600 in a 0700 directory, plus the `tunnel-token` that release
wrote and the import ignores. The namespace holds each file's path by attribute name."""
from __future__ import annotations

import datetime as dt
import types
from pathlib import Path

from provisioners.core.identity_table import FILES
from provisioners.core.props import DEFAULT_VIRTUAL_ADDRESS
from edge_constructs.credentials.identity import new_identity


def write_credentials_dir(directory: Path, *, endpoint: str, cluster_name: str,
                          virtual_address: str = DEFAULT_VIRTUAL_ADDRESS,
                          ca_cert_file: str | None = None,
                          ca_key_file: str | None = None,
                          values: dict | None = None) -> types.SimpleNamespace:
    """`values`: an identity already made for `cluster_name` and `endpoint` (else a new one)."""
    values = values or new_identity(
        cluster_name=cluster_name, endpoint=endpoint, virtual_address=virtual_address,
        leaf_validity=dt.timedelta(days=365), ca_cert_file=ca_cert_file, ca_key_file=ca_key_file)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = {}
    for name, fname in FILES.items():
        f = directory / fname
        f.touch(mode=0o600)
        text = values[name]
        f.write_text(text + "\n" if name == "bootstrap_token" else text)
        paths[name] = f
    (directory / "tunnel-token").write_text("a" * 32 + "\n")
    return types.SimpleNamespace(directory=directory, values=values,
                                 ca_cert_hash=values["ca_cert_hash"], **paths)
