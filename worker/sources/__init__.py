"""Where articles come from: a `Source` hands out raw articles (bytes, where they came
from, when), and is told what became of each. The watched folders are one (folder.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from worker.errors import StateUnavailable
from worker.model import RawArticle

__all__ = ["Source"]


class Source(Protocol):
    """Raw articles as they arrive (what is there at a start is taken through the folders'
    `backlog` and the feeds' `scan`, see Pipeline)."""

    def watch(self) -> AbstractContextManager[Iterator[RawArticle | None]]:
        """Watch while the block lasts: the iterator gives what arrives, and None when
        nothing did for a moment."""
        ...

    def put_back(self, raw: RawArticle, error: StateUnavailable | None = None) -> None:
        """A raw article handed out could not be taken now (the state cannot be reached, or
        is full, as `error` says): hand it out again later."""
        ...

    def done(self, raw: RawArticle, problem: str | None) -> None:
        """What became of a raw article handed out: ingested, and why a part of it could
        not be read, if so. Until then it is handed out again by the next start."""
        ...
