"""A throwaway PostgreSQL for state-backend tests: its own data directory, a unix socket only
(no TCP port), trust auth for the local socket, stopped (and its files removed) on exit."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def pg_bin(tool: str) -> str:
    """`tool` (initdb, pg_ctl, psql) from PATH, else from Debian's /usr/lib/postgresql/<ver>/bin."""
    found = shutil.which(tool)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not candidates:
        raise FileNotFoundError(f"{tool} not found: install PostgreSQL (scripts/bootstrap does: "
                                "apt-get install postgresql)")
    return candidates[-1]


class Postgres:
    """`with Postgres() as pg: pg.conn_str` — a server on a unix socket in a private directory."""

    def __init__(self, user: str = "postgres"):
        self.user = user
        self.root: Path | None = None
        self.pid: int | None = None

    @property
    def socket_dir(self) -> Path:
        assert self.root
        return self.root / "sock"

    @property
    def conn_str(self) -> str:
        """A lib/pq connection string Terraform's `pg` backend accepts (PG_CONN_STR)."""
        return f"postgres://{self.user}@/postgres?host={self.socket_dir}&sslmode=disable"

    def _as_user(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)

    def start(self) -> "Postgres":
        pw = pwd.getpwnam(self.user)
        self.root = Path(tempfile.mkdtemp(prefix="edge-pg-"))
        data = self.root / "data"
        self.socket_dir.mkdir()
        os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chown(self.socket_dir, pw.pw_uid, pw.pw_gid)
        run = self._as_user([pg_bin("initdb"), "-D", str(data), "-U", self.user,
                             "--auth=trust", "--no-sync"], cwd="/")
        assert run.returncode == 0, run.stdout + run.stderr
        run = self._as_user([pg_bin("pg_ctl"), "-D", str(data), "-l", str(self.root / "log"),
                             "-w", "-o", f"-c listen_addresses='' -c unix_socket_directories="
                             f"{self.socket_dir} -c fsync=off", "start"], cwd="/")
        assert run.returncode == 0, run.stdout + run.stderr + self.log()
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        return self

    def log(self) -> str:
        try:
            return (self.root / "log").read_text() if self.root else ""
        except OSError:
            return ""

    def psql(self, sql: str) -> str:
        run = self._as_user([pg_bin("psql"), "-h", str(self.socket_dir), "-U", self.user,
                             "-d", "postgres", "-At", "-c", sql], cwd="/")
        assert run.returncode == 0, run.stderr
        return run.stdout

    def stop(self) -> None:
        if self.root is None:
            return
        data = self.root / "data"
        if self.pid is not None:
            # pg_ctl ends exactly the server this object started (the postmaster of `data`).
            self._as_user([pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], cwd="/")
            self.pid = None
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> "Postgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
