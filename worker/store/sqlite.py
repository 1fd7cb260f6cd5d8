"""The store in one SQLite file: WAL, one writer at a time, safe for a daemon and a
`wirewatch ingest` side by side; one daemon per file, held by a lock file beside it.

The lock file stays when the daemon stops, and says a state was here once the daemon
opened one. A state file gone
from beside it was deleted, and wirewatch refuses to begin anew unless told (`--fresh`):
a new state would read and send everything in the watched folders again.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

from worker.errors import StateError, StateGone
from worker.store.sql import Outage, Params, Row, SqlStore, Told, check_aware

__all__ = ["MIGRATIONS", "SqliteConnector", "daemon_lock", "open_sqlite"]

log = logging.getLogger(__name__)

# The state files whose daemon's lock this process holds: a new one may be made there.
_HELD: set[Path] = set()


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

    def __init__(self, path: Path, busy_timeout: timedelta, told: Told | None = None) -> None:
        self.path = path
        self._outage = Outage(str(path), told)
        self._told = told
        self._gone: str | None = None
        self._watching = threading.Lock()
        if path.absolute() not in _HELD and not path.exists() and _ran_on(path):
            raise StateGone(_missing(path))
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
            self._identity = _identity(path)  # the file opened, to tell if it is replaced
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
            if path.absolute() in _HELD:  # the daemon's: say beside it that a state is here
                _marker(path).write_text(f"wirewatch ran on {path.name}\n", encoding="utf-8")
        except (OSError, sqlite3.DatabaseError) as error:
            raise StateError(f"{path}: cannot be used as the state file: {error}") from None

    def _migrate(self) -> None:
        if self._version() == len(MIGRATIONS):
            return  # nothing written: `status` reads a state on a full disk
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

    def _version(self) -> int | None:
        """The layout's version, if the file has one."""
        known = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        if not self._db.execute(known).fetchall():
            return None
        row = self._db.execute("SELECT version FROM schema_version").fetchone()
        return None if row is None else int(row[0])

    def rows(self, query: str, params: Params) -> list[Row]:
        """The rows a query gives."""
        with self._lock, self._reaching(write=False):
            return self._db.execute(query, params).fetchall()

    @contextmanager
    def at_once(self) -> Iterator[bool]:
        """Whether the connection is free now, held for the block if it is: a thread of this
        process waiting on another's lock keeps it, and a glance must not wait behind it."""
        free = self._lock.acquire(blocking=False)
        try:
            yield free
        finally:
            if free:
                self._lock.release()

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        """A write transaction, holding the file's write lock from its start; none into a
        file that was deleted or replaced (StateGone)."""
        gone = self.lost()
        if gone is not None:
            raise StateGone(gone)
        with self._lock, self._reaching():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield _Transaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _reaching(self, write: bool = True) -> Iterator[None]:
        """Another process holding the file's lock past the busy timeout, or a full disk:
        the call waits for later (StateUnavailable, StateFull), and the wait is told once.
        Only a write says it is over: reads go through while another holds the lock."""
        began = time.monotonic()
        try:
            yield
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL:
                raise self._outage.failed(error, full=True, began=began) from None
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            raise self._outage.failed(error, began=began) from None
        if write:
            self._outage.reached()

    def lost(self) -> str | None:
        """Why the file opened is no longer the state file (deleted or replaced), or None;
        said once, in the log and to `told`."""
        if self._gone is not None or _identity(self.path) == self._identity:
            return self._gone
        with self._watching:
            if self._gone is None:
                self._gone = _deleted(self.path)
                log.error("%s", self._gone)
                if self._told is not None:
                    self._told(self._gone)
        return self._gone

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
        return self._db.execute(query, params).rowcount

    def rows(self, query: str, params: Params) -> list[Row]:
        return self._db.execute(query, params).fetchall()

    def run_many(self, query: str, params: Sequence[Params]) -> None:
        self._db.executemany(query, params)


@contextmanager
def daemon_lock(path: Path, fresh: bool = False) -> Iterator[None]:
    """Hold the daemon's lock on the state file; StateError if another daemon holds it,
    StateGone if the state file is gone from beside the lock (unless to begin anew, `fresh`).

    One daemon per state file: a second would try every due digest at the same moments
    and wait on the first's claims. The other commands use the state file alongside.
    """
    lock = _marker(path)
    ran_before = _ran_on(path)
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
        _may_start(path, ran_before, fresh)
        _HELD.add(path.absolute())
        try:
            yield  # closing the file releases the lock, as does the process ending
        finally:
            _HELD.discard(path.absolute())


def _may_start(path: Path, ran_before: bool, fresh: bool) -> None:
    """Whether the daemon may start on the state file: StateGone if it is gone from beside
    the lock a daemon left, StateError if told to begin anew (`fresh`) where it is there."""
    if fresh and path.exists():
        raise StateError(
            f"{path}: the state file is there: run without --fresh to go on with it"
            " (--fresh begins a new state where the state file is gone)"
        )
    if not fresh and ran_before and not path.exists():
        raise StateGone(_missing(path))


def open_sqlite(path: Path, busy_timeout: timedelta, told: Told | None = None) -> SqlStore:
    """The store in the SQLite file at `path`, created (with its folder) if need be, unless
    it was deleted (StateGone); `told` hears what is wrong with it while it is open."""
    return SqlStore(SqliteConnector(path, busy_timeout, told))


def _marker(path: Path) -> Path:
    """The daemon's lock file, left beside the state file: once it says so, a state was here."""
    return path.with_name(path.name + ".lock")


def _ran_on(path: Path) -> bool:
    """Whether the daemon ran on a state file there: its lock file says so."""
    try:
        return _marker(path).stat().st_size > 0
    except FileNotFoundError:
        return False


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _missing(path: Path) -> str:
    return (
        f"{path}: the state file is gone, but {_marker(path).name} beside it says wirewatch"
        " ran on it; restore it from a backup, or begin a new state with"
        " 'wirewatch run --fresh' (everything in the watched folders is then read and sent"
        " again)"
    )


def _deleted(path: Path) -> str:
    return (
        f"{path}: the state file was deleted or replaced while wirewatch ran; stopping"
        " rather than write into a file that is gone. Restore it from a backup (deleting"
        " the -wal and -shm files beside it, which belong to the old one) and start again,"
        " or begin a new state with 'wirewatch run --fresh'"
    )


@lru_cache(maxsize=64)
def _moment_text(moment: datetime) -> str:
    """An aware time as UTC text all of one length, so that times also sort and compare as
    text. Remembered: the statements that store one article or file all bind the same few
    times (an equal time is the same instant, the same text)."""
    check_aware(moment)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# Times (each one aware) and dates are bound as that text by sqlite3 itself, as it binds
# each value: no statement's parameters are copied to turn them first. (The adapters are
# the process's; the store is all that uses SQLite in it.)
sqlite3.register_adapter(datetime, _moment_text)
sqlite3.register_adapter(date, date.isoformat)


def _statements(script: str) -> Iterator[str]:
    lines = (line for line in script.splitlines() if not line.lstrip().startswith("--"))
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement
