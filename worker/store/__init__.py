"""What wirewatch remembers: files seen, articles, matches, and each digest's delivery.

`open_store` picks the backend from the config's `state:` value through an explicit
registry; the stages ask only for the roles they need (see roles.py). No SQL and no
database driver is used outside this package.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from worker.errors import StateError
from worker.store.roles import Articles, Deliveries, DigestQueue, FilesSeen, RunRecords, Store
from worker.store.sqlite import open_sqlite

__all__ = [
    "BACKENDS",
    "Articles",
    "Deliveries",
    "DigestQueue",
    "FilesSeen",
    "RunRecords",
    "Store",
    "open_store",
]

# How each kind of `state:` is opened: what follows `KIND://`, and the busy timeout.
Opener = Callable[[str, timedelta], Store]


def _sqlite(location: str, busy_timeout: timedelta) -> Store:
    # sqlite:///var/x.db is relative, sqlite:////srv/x.db absolute, as SQLAlchemy reads them
    return open_sqlite(Path(location.removeprefix("/")), busy_timeout)


BACKENDS: dict[str, Opener] = {"sqlite": _sqlite}


def open_store(state: str, busy_timeout: timedelta = timedelta(seconds=30)) -> Store:
    """The store for a `state:` value: a SQLite file's path, or `KIND://…`."""
    kind, separator, location = state.partition("://")
    if not separator:
        kind, location = "sqlite", "/" + state  # a plain path is a SQLite file
    opener = BACKENDS.get(kind)
    if opener is None:
        known = ", ".join(f"{name}://" for name in BACKENDS)
        raise StateError(
            f"'{kind}://' is not a state wirewatch can use; use a file path or {known}"
        )
    return opener(location, busy_timeout)
