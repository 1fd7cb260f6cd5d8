"""A whole state copied into another, empty one: SQLite into PostgreSQL when an install
outgrows one host, and back. History, outbox and dead letters go with it."""

from __future__ import annotations

from collections.abc import Callable

from worker.errors import StateError
from worker.store.roles import Copying
from worker.store.sql import TABLES

__all__ = ["copy_state"]


def copy_state(
    source: Copying, target: Copying, told: Callable[[str, int], None] = lambda t, n: None
) -> dict[str, int]:
    """Copy every table of `source` into `target`, which must be empty; rows by table.
    `told(table, rows)` hears of each table once it is copied."""
    if not target.is_empty():
        raise StateError("the state to copy into is not empty; give a new, empty one")
    copied: dict[str, int] = {}
    for table in TABLES:
        copied[table] = 0
        for page in source.table_pages(table):
            target.add_rows(table, page)
            copied[table] += len(page)
        told(table, copied[table])
    target.copied()
    return copied
