"""The store in one SQLite file: WAL, one writer at a time, safe for a daemon and a
`wirewatch ingest` side by side; one daemon per file, held by a lock file beside it."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

from worker.errors import StateError
from worker.store.sql import Outage, Params, Row, SqlStore, aware

__all__ = ["MIGRATIONS", "SqliteConnector", "daemon_lock", "open_sqlite"]


def _migrations() -> tuple[str, ...]:
    folder = resources.files("worker.store").joinpath("migrations", "sqlite")
    files = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return tuple(folder.joinpath(name).read_text("utf-8") for name in files)


# Each script brings the layout from the version before it to its own; the schema_version
# table says how many have been applied to a state file.
MIGRATIONS = _migrations()


class SqliteConnector:
    """One connection to a SQLite file, shared by the threads of a process."""

    dialect = "sqlite"

    def __init__(self, path: Path, busy_timeout: timedelta) -> None:
        self.path = path
        self._outage = Outage(str(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode with explicit BEGIN IMMEDIATE: a writer takes the lock up
            # front, so two processes never fail half way through a read-then-write.
            self._db = sqlite3.connect(
                path,
                timeout=busy_timeout.total_seconds(),
                isolation_level=None,
                check_same_thread=False,
            )
            self._lock = threading.RLock()
            self._db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode a commit is durable once the log is synced at a checkpoint: a power
            # cut may undo the last commits, never corrupt the file. What is undone is done
            # again (a file read again, a digest sent again with the same id).
            self._db.execute("PRAGMA synchronous=NORMAL")
            # A migration may rebuild a table others refer to; the references are checked
            # once it is done (SQLite's own recipe for changing a table's layout).
            self._migrate()
            self._db.execute("PRAGMA foreign_keys=ON")
        except (OSError, sqlite3.DatabaseError) as error:
            raise StateError(f"{path}: cannot be used as the state file: {error}") from None

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", {})
            row = db.rows("SELECT version FROM schema_version", {})
            current = int(row[0][0]) if row else 0
            if current > len(MIGRATIONS):
                raise StateError(
                    f"the state file is of a newer wirewatch (schema {current}); upgrade wirewatch"
                )
            for script in MIGRATIONS[current:]:
                for statement in _statements(script):
                    db.run(statement, {})
            broken = db.rows("PRAGMA foreign_key_check", {})
            if broken:
                raise StateError(
                    f"the state file's references do not hold after the upgrade: {broken[:3]}"
                )
            db.run("DELETE FROM schema_version", {})
            db.run("INSERT INTO schema_version (version) VALUES (:n)", {"n": len(MIGRATIONS)})

    def rows(self, query: str, params: Params) -> list[Row]:
        """The rows a query gives."""
        with self._lock, self._reaching():
            return self._db.execute(query, _bound(params)).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        """A write transaction, holding the file's write lock from its start."""
        with self._lock, self._reaching():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield _Transaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _reaching(self) -> Iterator[None]:
        """Another process holding the file's lock past the busy timeout: the call waits for
        later (StateUnavailable), and the wait is told once."""
        try:
            yield
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            raise self._outage.failed(error) from None
        self._outage.reached()

    def unreachable(self) -> str | None:
        """Why the state cannot be reached now, if the last call could not reach it."""
        return self._outage.problem()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def run(self, query: str, params: Params) -> int:
        return self._db.execute(query, _bound(params)).rowcount

    def rows(self, query: str, params: Params) -> list[Row]:
        return self._db.execute(query, _bound(params)).fetchall()


@contextmanager
def daemon_lock(path: Path) -> Iterator[None]:
    """Hold the daemon's lock on the state file; StateError if another daemon holds it.

    One daemon per state file: a second would try every due digest at the same moments
    and wait on the first's claims. The other commands use the state file alongside.
    """
    lock = path.with_name(path.name + ".lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        held = lock.open("a")
    except OSError as error:
        raise StateError(f"{lock}: cannot be opened: {error.strerror or error}") from None
    with held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(
                f"{path}: another 'wirewatch run' already uses this state file;"
                " stop it first, or give this config a state file of its own"
            ) from None
        yield  # closing the file releases the lock, as does the process ending


def open_sqlite(path: Path, busy_timeout: timedelta) -> SqlStore:
    """The store in the SQLite file at `path`, created (with its folder) if need be."""
    return SqlStore(SqliteConnector(path, busy_timeout))


def _bound(params: Params) -> dict[str, object]:
    return {name: _value(value) for name, value in aware(params).items()}


def _value(value: object) -> object:
    """Times as UTC text all of one length, so that they also sort and compare as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _statements(script: str) -> Iterator[str]:
    lines = (line for line in script.splitlines() if not line.lstrip().startswith("--"))
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement
