"""What wirewatch remembers: files seen, articles, matches, and each digest's delivery.

`open_store` picks the backend from the config's `state:` value through an explicit
registry; the stages ask only for the roles they need (see roles.py). No SQL and no
database driver is used outside this package.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from worker.errors import StateError
from worker.health import Health
from worker.store import sqlite
from worker.store.backup import backup_sqlite, pg_dump_advice
from worker.store.roles import (
    Articles,
    Deliveries,
    DigestQueue,
    FeedsSeen,
    FilesSeen,
    Mutes,
    Pruning,
    RunRecords,
    Store,
    Workers,
)
from worker.store.sql import BatchBrokenError, Told
from worker.store.sqlite import open_sqlite

__all__ = [
    "BACKENDS",
    "Articles",
    "Backend",
    "BatchBrokenError",
    "Deliveries",
    "DigestQueue",
    "FeedsSeen",
    "FilesSeen",
    "Mutes",
    "Pruning",
    "RunRecords",
    "Store",
    "Workers",
    "backup_state",
    "daemon_lock",
    "open_store",
    "shown_state",
    "state_exists",
    "state_problem",
    "storage_full",
]


@dataclass(frozen=True)
class Backend:
    """How one kind of `state:` is used, given what follows `KIND://`."""

    # With the busy timeout, and who hears what is wrong with the state while it is open.
    open: Callable[[str, timedelta, Told | None], Store]
    # The right to run the daemon on the state, taken before anything is read or upgraded;
    # with `fresh`, to begin a new state where the last one is gone.
    daemon_lock: Callable[[str, bool], AbstractContextManager[None]]
    # A consistent copy into a file (PATH, --force, the busy timeout), or why it is not made.
    backup: Callable[[str, Path, bool, timedelta], None]
    # Where the state's storage is full, what to say, or None: `status` asks in a process
    # of its own, which may not be able to write there.
    full: Callable[[str], str | None] = lambda location: None
    # Whether a state is there to read, without making one: a read-only command (the
    # backtest of `match --stored`) must not create a state file where there was none.
    exists: Callable[[str], bool] = lambda location: True


def _sqlite_file(location: str) -> Path:
    # sqlite:///var/x.db is relative, sqlite:////srv/x.db absolute, as SQLAlchemy reads them
    return Path(location.removeprefix("/"))


# psycopg and its pool are imported for a PostgreSQL state only: a SQLite daemon, the most
# common, never carries them.
def _postgresql(location: str, busy_timeout: timedelta, told: Told | None) -> Store:
    from worker.store.postgresql import open_postgresql

    return open_postgresql(f"postgresql://{location}", busy_timeout, told)


def _pg_dump(location: str, target: Path, _force: bool, _busy: timedelta) -> None:
    raise StateError(pg_dump_advice(f"postgresql://{location}", target))


# Any number of workers share a database: there is no daemon's lock to take.
_POSTGRESQL = Backend(
    open=_postgresql, daemon_lock=lambda location, fresh: nullcontext(), backup=_pg_dump
)

# Less room than this beside a SQLite file: a few pages, and its log would not take them.
_ROOM = 64 << 10


def _sqlite_full(location: str) -> str | None:
    path = _sqlite_file(location)
    try:
        disk = os.statvfs(path.absolute().parent)
    except OSError:
        return None
    free = disk.f_bavail * disk.f_frsize
    if free >= _ROOM:
        return None
    return f"storage full: {free // 1024} KB free where {path} is; free some space"


BACKENDS: dict[str, Backend] = {
    "sqlite": Backend(
        open=lambda location, busy, told: open_sqlite(_sqlite_file(location), busy, told),
        daemon_lock=lambda location, fresh: sqlite.daemon_lock(_sqlite_file(location), fresh),
        backup=lambda location, target, force, busy: backup_sqlite(
            _sqlite_file(location), target, force, busy
        ),
        full=_sqlite_full,
        exists=lambda location: _sqlite_file(location).is_file(),
    ),
    "postgresql": _POSTGRESQL,
    "postgres": _POSTGRESQL,  # libpq reads both
}


def open_store(
    state: str, busy_timeout: timedelta = timedelta(seconds=30), health: Health | None = None
) -> Store:
    """The store for a `state:` value: a SQLite file's path, or `KIND://…`; `health` hears
    what is wrong with it (part `store`) while it is open."""
    problem = state_problem(state)
    if problem is not None:
        raise StateError(problem)
    kind, location = _parts(state)
    told = None if health is None else partial(health.report, "store")
    return BACKENDS[kind].open(location, busy_timeout, told)


def daemon_lock(state: str, fresh: bool = False) -> AbstractContextManager[None]:
    """Hold the right to run the daemon on this state; StateError when another holds it,
    StateGone when the state is gone since the last run (unless to begin anew, `fresh`)."""
    problem = state_problem(state)
    if problem is not None:
        raise StateError(problem)
    kind, location = _parts(state)
    return BACKENDS[kind].daemon_lock(location, fresh)


def state_exists(state: str) -> bool:
    """Whether a state is there to be read (a database is taken to be: it is asked when
    opened)."""
    kind, location = _parts(state)
    return kind in BACKENDS and BACKENDS[kind].exists(location)


def storage_full(state: str) -> str | None:
    """What to say when the state's storage is full, or None."""
    kind, location = _parts(state)
    return BACKENDS[kind].full(location) if kind in BACKENDS else None


def backup_state(
    state: str, target: Path, force: bool = False, busy_timeout: timedelta = timedelta(seconds=30)
) -> None:
    """A consistent copy of the state in the file `target`, while others use the state;
    StateError says why none was made (for a database: how to make one)."""
    problem = state_problem(state)
    if problem is not None:
        raise StateError(problem)
    kind, location = _parts(state)
    BACKENDS[kind].backup(location, target, force, busy_timeout)


def shown_state(state: str) -> str:
    """A `state:` value to show: a SQLite file's path, a database's address without its
    password."""
    kind, location = _parts(state)
    if kind == "sqlite":
        return str(_sqlite_file(location))
    if kind not in ("postgresql", "postgres"):
        return state
    from worker.store.postgresql import shown

    return shown(state)


def state_problem(state: str) -> str | None:
    """Why a `state:` value names no state wirewatch can use, or None: `check` says it."""
    kind, _ = _parts(state)
    if kind in BACKENDS:
        return None
    known = ", ".join(f"{name}://" for name in BACKENDS)
    return f"'{kind}://' is not a state wirewatch can use; use a file path or {known}"


def _parts(state: str) -> tuple[str, str]:
    kind, separator, location = state.partition("://")
    return (kind, location) if separator else ("sqlite", "/" + state)  # a path: a SQLite file
