"""A throwaway PostgreSQL cluster for the DuckLake tests, started as a user's test setup would:
Debian's ``initdb`` and ``pg_ctl`` on a free port, in a temporary directory, stopped afterwards.

PostgreSQL refuses to run as root, so under root (CI runs ``.ci/run`` as root) the cluster's
directory belongs to the ``postgres`` user the Debian package creates and the commands run as it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def binaries() -> Path | None:
    """Debian's PostgreSQL server programs (``apt-get install postgresql``; ``make install`` does it as root)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@dataclass
class Cluster:
    directory: Path
    port: int
    bin: Path

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``argv`` as the cluster's owner."""
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, check=check, timeout=60, cwd=self.directory
        )

    def create_database(self, name: str) -> str:
        self.run(
            str(self.bin / "psql"),
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            f'CREATE DATABASE "{name}"',
        )
        return self.dsn(name)

    def query(self, dbname: str, sql: str) -> str:
        """One value, as psql prints it unaligned."""
        return self.run(
            str(self.bin / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            dbname,
            "-Atc",
            sql,
        ).stdout.strip()

    def start(self) -> None:
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.directory / "data"),
            "-w",
            "-l",
            str(self.directory / "postgres.log"),
            "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def stop_server(self) -> None:
        """Stop the server (``start`` starts it again, with its databases)."""
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop", check=False)

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        self.stop_server()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_cluster() -> Cluster:
    """A new cluster in a new temporary directory (directly under /tmp: pytest's own temporary
    directories are private to root, and the server runs as ``postgres`` then)."""
    bin_dir = binaries()
    assert bin_dir is not None, "PostgreSQL is not installed"
    directory = Path(tempfile.mkdtemp(prefix="annotrace-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = Cluster(directory, _free_port(), bin_dir)
    cluster.run(str(bin_dir / "initdb"), "-D", str(directory / "data"), "-A", "trust", "-U", "postgres", "-N")
    cluster.start()
    return cluster


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
