"""A real PostgreSQL server for the tests, started from Debian's binaries on a free loopback
port: `initdb` into a temporary folder and `pg_ctl start`. As root, initdb refuses to run,
so the cluster belongs to the `postgres` user and its commands run through `runuser`.

A server that cannot start fails the tests that need it, saying why (ClusterError, made a
failure by the fixtures): it is never skipped.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.servers import free_port

__all__ = ["Cluster", "ClusterError", "start_cluster"]

_NAMES = itertools.count()


class ClusterError(Exception):
    """The server cannot be made or started; the message says why and what to do."""


def _bin_folder() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise ClusterError(
            "PostgreSQL's server is not installed (no initdb): run"
            " `apt-get update && apt-get install -y postgresql` as root, as `make test` does"
        )
    return Path(initdb).parent


@dataclass
class Cluster:
    """A running server, its folder, and the databases made in it."""

    folder: Path
    port: int
    bin: Path
    as_postgres: list[str]
    databases: list[str] = field(default_factory=list)

    def url(self, database: str = "postgres") -> str:
        """The libpq address of a database of the server (trust auth, over TCP)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, empty database; its address."""
        name = f"ww_{os.getpid()}_{next(_NAMES)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.url(name)

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """A server command (pg_ctl, say) run as the cluster's owner."""
        return subprocess.run(
            [*self.as_postgres, str(self.bin / command[0]), *command[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def stop(self) -> None:
        """Stop the server (fast: connections are cut)."""
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def start(self) -> None:
        """Start the server on its port; ClusterError says why when it cannot."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        done = self.run(
            "pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l",
            str(self.folder / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            raise ClusterError(f"PostgreSQL did not start: {done.stderr.strip()}\n{log}")

    def remove(self) -> None:
        """Stop the server and remove its folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> Cluster:
    """A new server, started; its folder is removed by `Cluster.remove`."""
    bin_folder = _bin_folder()
    # Not under pytest's own temporary folder, which is mode 700: the server's user must
    # be able to reach its own.
    folder = Path(tempfile.mkdtemp(prefix="wirewatch-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(folder, free_port(), bin_folder, as_postgres)
    made = cluster.run(
        "initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres",
        "-E", "UTF8", "--locale=C", "--no-sync",
    )  # fmt: skip
    if made.returncode != 0:
        raise ClusterError(f"initdb failed: {made.stderr.strip() or made.stdout.strip()}")
    cluster.start()
    return cluster
