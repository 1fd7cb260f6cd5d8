"""What wirewatch remembers: files seen, articles, matches, and each digest's delivery.

`open_store` picks the backend from the config's `state:` value through an explicit
registry; the stages ask only for the roles they need (see roles.py). No SQL and no
database driver is used outside this package.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from worker.errors import StateError
from worker.store import sqlite
from worker.store.backup import backup_sqlite, pg_dump_advice
from worker.store.postgresql import open_postgresql, shown
from worker.store.roles import (
    Articles,
    Deliveries,
    DigestQueue,
    FilesSeen,
    Pruning,
    RunRecords,
    Store,
    Workers,
)
from worker.store.sqlite import open_sqlite

__all__ = [
    "BACKENDS",
    "Articles",
    "Backend",
    "Deliveries",
    "DigestQueue",
    "FilesSeen",
    "Pruning",
    "RunRecords",
    "Store",
    "Workers",
    "backup_state",
    "daemon_lock",
    "open_store",
    "shown_state",
    "state_problem",
]


@dataclass(frozen=True)
class Backend:
    """How one kind of `state:` is used, given what follows `KIND://`."""

    open: Callable[[str, timedelta], Store]  # with the busy timeout
    # The right to run the daemon on the state, taken before anything is read or upgraded.
    daemon_lock: Callable[[str], AbstractContextManager[None]]
    # A consistent copy into a file (PATH, --force, the busy timeout), or why it is not made.
    backup: Callable[[str, Path, bool, timedelta], None]


def _sqlite_file(location: str) -> Path:
    # sqlite:///var/x.db is relative, sqlite:////srv/x.db absolute, as SQLAlchemy reads them
    return Path(location.removeprefix("/"))


def _postgresql(location: str, busy_timeout: timedelta) -> Store:
    return open_postgresql(f"postgresql://{location}", busy_timeout)


def _pg_dump(location: str, target: Path, _force: bool, _busy: timedelta) -> None:
    raise StateError(pg_dump_advice(f"postgresql://{location}", target))


# Any number of workers share a database: there is no daemon's lock to take.
_POSTGRESQL = Backend(open=_postgresql, daemon_lock=lambda location: nullcontext(), backup=_pg_dump)

BACKENDS: dict[str, Backend] = {
    "sqlite": Backend(
        open=lambda location, busy: open_sqlite(_sqlite_file(location), busy),
        daemon_lock=lambda location: sqlite.daemon_lock(_sqlite_file(location)),
        backup=lambda location, target, force, busy: backup_sqlite(
            _sqlite_file(location), target, force, busy
        ),
    ),
    "postgresql": _POSTGRESQL,
    "postgres": _POSTGRESQL,  # libpq reads both
}


def open_store(state: str, busy_timeout: timedelta = timedelta(seconds=30)) -> Store:
    """The store for a `state:` value: a SQLite file's path, or `KIND://…`."""
    problem = state_problem(state)
    if problem is not None:
        raise StateError(problem)
    kind, location = _parts(state)
    return BACKENDS[kind].open(location, busy_timeout)


def daemon_lock(state: str) -> AbstractContextManager[None]:
    """Hold the right to run the daemon on this state; StateError when another holds it."""
    problem = state_problem(state)
    if problem is not None:
        raise StateError(problem)
    kind, location = _parts(state)
    return BACKENDS[kind].daemon_lock(location)


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
    """A `state:` value to show: a database's address without its password."""
    kind, _ = _parts(state)
    return shown(state) if kind in ("postgresql", "postgres") else state


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
