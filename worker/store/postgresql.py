"""The store in a PostgreSQL database, which any number of workers share (psycopg 3, a
connection pool). The first worker to start upgrades the layout under an advisory lock;
the others wait for it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from importlib import resources

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from worker.errors import StateError, StateUnavailable
from worker.store.sql import Outage, Params, Row, SqlStore, Told, aware

__all__ = ["MIGRATIONS", "PostgresConnector", "open_postgresql", "shown"]

# Advisory locks of wirewatch: (7, 0) is the upgrade of the layout.
_UPGRADE = "SELECT pg_advisory_lock(7, 0)"
_UPGRADED = "SELECT pg_advisory_unlock(7, 0)"
_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _migrations() -> tuple[str, ...]:
    folder = resources.files("worker.store").joinpath("migrations", "postgresql")
    files = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return tuple(folder.joinpath(name).read_text("utf-8") for name in files)


MIGRATIONS = _migrations()


def shown(url: str) -> str:
    """A database's address without its password, to show in messages and logs."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://…"
    where = f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}"
    return f"postgresql://{where}/{parts.get('dbname', '')}"


@cache
def _pyformat(query: str) -> str:
    """A statement of queries.sql (`:name`) in psycopg's parameter style (`%(name)s`)."""
    return _PARAMETER.sub(r"%(\1)s", query.replace("%", "%%"))


class PostgresConnector:
    """A pool of connections to one database."""

    dialect = "postgresql"

    def __init__(self, url: str, busy_timeout: timedelta, told: Told | None = None) -> None:
        self.shown = shown(url)
        self._timeout = busy_timeout.total_seconds()
        # A write waits this long for another's lock, as SQLite's busy timeout. Times come
        # back in UTC whatever the database's time zone: one in a zone of summer time
        # would make a schedule's arithmetic (an hour on from a run) wall-clock arithmetic.
        options = f"-c lock_timeout={int(self._timeout * 1000)} -c TimeZone=UTC"
        # One connection first: a wrong address or password is said at once, not retried.
        self._outage = Outage(self.shown, told)
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10, options=options) as db:
                self._migrate(db)
        except psycopg.OperationalError as error:  # down, refusing, or the address is wrong
            raise StateUnavailable(f"{self.shown}: cannot be reached: {error}") from None
        except psycopg.Error as error:
            raise StateError(f"{self.shown}: cannot be used as the state: {error}") from None
        settings = {"autocommit": True, "options": options}
        self._pool = ConnectionPool(
            url, min_size=1, max_size=8, kwargs=settings, open=True, name="wirewatch"
        )

    def _migrate(self, db: psycopg.Connection[Row]) -> None:
        """Bring the layout up to date; the others wait while the first worker does."""
        db.execute(_UPGRADE)
        try:
            with db.transaction():
                self._upgrade(db)
        finally:
            db.execute(_UPGRADED)

    def _upgrade(self, db: psycopg.Connection[Row]) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
        row = db.execute("SELECT version FROM schema_version").fetchone()
        current = 0 if row is None else int(row[0])
        if current > len(MIGRATIONS):
            raise StateError(
                f"{self.shown}: the database is of a newer wirewatch (schema {current});"
                " upgrade wirewatch"
            )
        for script in MIGRATIONS[current:]:
            db.execute(script)
        db.execute("DELETE FROM schema_version")
        db.execute("INSERT INTO schema_version (version) VALUES (%s)", [len(MIGRATIONS)])

    def rows(self, query: str, params: Params) -> list[Row]:
        """The rows a query gives."""
        with self._reaching(write=False), self._pool.connection(timeout=self._timeout) as db:
            return db.execute(_pyformat(query), aware(params)).fetchall()

    @contextmanager
    def at_once(self) -> Iterator[bool]:
        """Always free: each call takes a connection of the pool of its own."""
        yield True

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        """A write transaction on one connection of the pool."""
        with (
            self._reaching(),
            self._pool.connection(timeout=self._timeout) as db,
            db.transaction(),
        ):
            yield _Transaction(db)

    @contextmanager
    def _reaching(self, write: bool = True) -> Iterator[None]:
        """The server down, restarting, or a lock held past the busy timeout: the call
        waits for later (StateUnavailable), and the outage is told once. Only a write says
        it is over: reads go through while another holds a lock."""
        began = time.monotonic()
        try:
            yield
        except psycopg.OperationalError as error:  # PoolTimeout is one too
            raise self._outage.failed(error, began=began) from None
        if write:
            self._outage.reached()

    def lost(self) -> str | None:
        """A database is not deleted under a running wirewatch unnoticed: never lost."""
        return None

    def unreachable(self) -> str | None:
        """Why the state cannot be reached now, if the last call could not reach it."""
        return self._outage.problem()

    def close(self) -> None:
        """Close every connection."""
        self._pool.close()


class _Transaction:
    def __init__(self, db: psycopg.Connection[Row]) -> None:
        self._db = db

    def run(self, query: str, params: Mapping[str, object]) -> int:
        return self._db.execute(_pyformat(query), aware(params)).rowcount

    def rows(self, query: str, params: Mapping[str, object]) -> list[Row]:
        return self._db.execute(_pyformat(query), aware(params)).fetchall()

    def run_many(self, query: str, params: Sequence[Mapping[str, object]]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(_pyformat(query), [aware(each) for each in params])


def open_postgresql(url: str, busy_timeout: timedelta, told: Told | None = None) -> SqlStore:
    """The store in the PostgreSQL database at `url` (a libpq address); `told` hears what
    is wrong with it while it cannot be reached."""
    return SqlStore(PostgresConnector(url, busy_timeout, told))
