"""A consistent copy of a state while the daemon runs: SQLite's online backup into a new
file; a PostgreSQL database is backed up with its own tools, and `backup` says how."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

from worker.errors import StateError

__all__ = ["backup_sqlite", "pg_dump_advice"]


def backup_sqlite(source: Path, target: Path, force: bool, busy_timeout: timedelta) -> None:
    """Copy the state file `source` into `target` as it is at one moment, writers going on
    meanwhile; an existing `target` is replaced only with `force`."""
    if not source.is_file():
        raise StateError(f"{source}: there is no state file here to back up")
    if target.is_dir():
        raise StateError(f"{target}: is a folder; give the path of the file to write")
    if target.exists() and not force:
        raise StateError(f"{target}: exists already; give a new path, or --force to replace it")
    if target.exists() and not target.is_file():  # a folder, a device: never replaced
        raise StateError(f"{target}: not a file; give the path of a file to write")
    if not target.parent.is_dir():  # a mistyped path: no folders made where none were meant
        raise StateError(f"{target.parent}: no such folder; make it first, or give another path")
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.unlink(missing_ok=True)
        _copy(source, partial, busy_timeout)
        _sync(partial)
        if force:
            os.replace(partial, target)
        else:
            os.link(partial, target)  # fails, rather than replace one made meanwhile
    except FileExistsError:
        raise StateError(f"{target}: exists already; give a new path, or --force") from None
    except OSError as error:
        raise StateError(f"{target}: cannot be written: {error.strerror or error}") from None
    finally:
        partial.unlink(missing_ok=True)


def _copy(source: Path, target: Path, busy_timeout: timedelta) -> None:
    """SQLite's online backup, all pages in one step: one read transaction, so one moment."""
    try:
        reader = sqlite3.connect(source, timeout=busy_timeout.total_seconds())
        try:
            writer = sqlite3.connect(target)
            try:
                reader.backup(writer)
            finally:
                writer.close()
        finally:
            reader.close()
    except sqlite3.DatabaseError as error:
        raise StateError(f"{source}: cannot be backed up: {error}") from None


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def pg_dump_advice(url: str, target: Path) -> str:
    """How to back up (and restore) a PostgreSQL state with pg_dump; no password shown."""
    import psycopg  # only for a PostgreSQL state: a SQLite daemon never loads it
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        parts = {}
    user = f"{parts['user']}@" if parts.get("user") else ""
    where = f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}"
    address = f"postgresql://{user}{where}/{parts.get('dbname', '')}"
    return (
        f"{address}: wirewatch backup copies a SQLite state file; back up a PostgreSQL state"
        " with pg_dump, which takes a consistent snapshot while workers run:\n"
        f"  pg_dump --format=custom --file={target} '{address}'\n"
        "and restore it into a new, empty database with:\n"
        f"  pg_restore --no-owner --dbname='postgresql://…/NEW' {target}\n"
        "(the password as in the config's state: address, given by PGPASSWORD or ~/.pgpass)"
    )
