"""Where a stack keeps its state: the state holds the cluster's keys, so protect it."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from edge_constructs.terraform.cdk import LocalBackend, PgBackend, TerraformStack


def private_state_files(path: str | os.PathLike) -> None:
    """The local state file `path` and its backup exist and are 0600 (Terraform keeps the
    mode of an existing file; a new one would follow the umask, usually 0644). An empty file
    is an empty state."""
    p = Path(path).expanduser().absolute()
    p.parent.mkdir(parents=True, exist_ok=True)
    for f in (p, p.with_name(p.name + ".backup")):
        fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)


def private_local_backend(stack: TerraformStack, path: str | os.PathLike) -> LocalBackend:
    """A local backend whose state file and its backup are 0600. Every stack that uses the
    edge provider gets the same at synth for a plain `LocalBackend` too (synth_install)."""
    p = Path(path).expanduser().absolute()
    private_state_files(p)
    return LocalBackend(stack, path=str(p))


def pg_backend(stack: TerraformStack, schema_name: str,
               conn_str: Optional[str] = None) -> PgBackend:
    """Terraform's built-in `pg` backend (state and locking in PostgreSQL). Leave `conn_str`
    out to have Terraform read `$PG_CONN_STR` at init, so no password enters the JSON."""
    backend = PgBackend(stack, schema_name=schema_name, conn_str=conn_str or "unset")
    if not conn_str:
        # cdktf requires conn_str; removing it lets Terraform take $PG_CONN_STR.
        backend.add_override("conn_str", None)
    return backend
