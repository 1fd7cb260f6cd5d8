"""Many files ingested together: `wirewatch ingest` and the daemon's start-up scan.

A batch's files are read and matched a few at a time, then stored and recorded in one
transaction, for a second at most (on SQLite a transaction holds the write lock, and any
other process waits that long to write). A kill before the commit leaves every file of
the batch unrecorded, and each is read again; after it, none is. When a statement of
the batch fails, it is undone, and each file may be ingested on its own to tell which.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import repeat
from typing import Protocol, TypeVar

from worker.errors import StateGone, StateUnavailable
from worker.ingest.ingestor import Ingested, Matched
from worker.model import RawArticle
from worker.store import Articles, BatchBrokenError

__all__ = ["FileOutcome", "Found", "Stages", "ingest_alone", "ingest_together"]

# How long one batch holds its transaction open at most (see Articles.batch).
BATCH_SECONDS = 1.0
# How many files are read before they are matched, at most, and how much text.
_READ_TOGETHER, _READ_BYTES = 25, 128_000

FileOutcome = Ingested | Exception | None  # what became of a file: None when it is known
Found = RawArticle | Ingested | None  # a file read; what became of it; None when it is known
_File = TypeVar("_File")  # how the caller names a file to read
_T = TypeVar("_T")


class Stages(Protocol):
    """The two halves of ingesting files, and the store they go into (the pipeline)."""

    @property
    def store(self) -> Articles: ...

    def match_files(self, raws: Sequence[RawArticle]) -> list[Matched]: ...

    def store_files(self, matched: Sequence[Matched]) -> list[Ingested]: ...

    def tally(self, stored: Sequence[tuple[Matched, Ingested]]) -> None: ...


def ingest_together(
    stages: Stages,
    files: Sequence[_File],
    read: Callable[[_File], Found],
    tried: list[_File],
) -> list[tuple[_File, FileOutcome]]:
    """The first of these files (up to the store's `files_per_batch`), each read by `read`
    and noted in `tried`, ingested in one transaction, for at most `BATCH_SECONDS`: what
    became of each. BatchBrokenError when a statement of the batch failed, StateUnavailable
    when the state cannot be reached or is full: then none of it is kept."""
    kept: list[tuple[Matched, Ingested]] = []
    try:
        with stages.store.batch():
            batch = files[: stages.store.files_per_batch]
            done = _ingest_for_a_while(stages, batch, read, tried, kept)
    except (StateUnavailable, StateGone, BatchBrokenError):
        raise
    except Exception as error:  # one file's statement (a batch of one): undone, taken alone
        raise BatchBrokenError(f"{len(tried)} files stored together: {error}") from error
    stages.tally(kept)  # counted once it is kept: a batch undone is counted as it is redone
    return done


def ingest_alone(stages: Stages, file: _File, read: Callable[[_File], Found]) -> FileOutcome:
    """One file ingested on its own: what became of it, or why the store failed for it.
    StateUnavailable when the state cannot be reached or is full (nothing of it is kept)."""
    return _or_why(partial(_ingest_file, stages, file, read))


def _ingest_for_a_while(
    stages: Stages,
    files: Sequence[_File],
    read: Callable[[_File], Found],
    tried: list[_File],
    kept: list[tuple[Matched, Ingested]],
) -> list[tuple[_File, FileOutcome]]:
    """Files read and matched a few at a time, each noted in `tried`, until half of
    `BATCH_SECONDS` has gone (storing them takes far less); then stored together."""
    matched: list[tuple[_File, Matched | FileOutcome]] = []
    ends = time.monotonic() + BATCH_SECONDS / 2
    while len(tried) < len(files) and time.monotonic() < ends:
        matched += _match_files(stages, _read_some(files, read, tried))
    return _store_files(stages, matched, kept)


def _read_some(
    files: Sequence[_File], read: Callable[[_File], Found], tried: list[_File]
) -> list[tuple[_File, RawArticle | FileOutcome]]:
    """The next files not tried, read, each noted in `tried`: `_READ_TOGETHER` of them, or
    fewer once they hold `_READ_BYTES`. Matched together, they run faster than one by one:
    reading, parsing and matching each push the others' data out of the processor's caches."""
    found: list[tuple[_File, RawArticle | FileOutcome]] = []
    size = 0
    for file in files[len(tried) : len(tried) + _READ_TOGETHER]:
        if size >= _READ_BYTES:
            break
        tried.append(file)
        each = _or_why(partial(read, file))
        size += len(each.data) if isinstance(each, RawArticle) else 0
        found.append((file, each))
    return found


def _match_files(
    stages: Stages, found: list[tuple[_File, RawArticle | FileOutcome]]
) -> list[tuple[_File, Matched | FileOutcome]]:
    """The files read, matched: each file's articles, or what became of it."""
    raws = [each for _, each in found if isinstance(each, RawArticle)]
    matched = _or_why(partial(stages.match_files, raws))
    told: Iterator[Matched | Exception]
    told = iter(matched) if isinstance(matched, list) else repeat(matched)
    return [(file, next(told) if isinstance(each, RawArticle) else each) for file, each in found]


def _store_files(
    stages: Stages,
    matched: list[tuple[_File, Matched | FileOutcome]],
    kept: list[tuple[Matched, Ingested]],
) -> list[tuple[_File, FileOutcome]]:
    """The files matched, stored together: what became of each (each stored noted in
    `kept`, with its articles)."""
    stored = [each for _, each in matched if isinstance(each, Matched)]
    outcomes = stages.store_files(stored)
    kept += zip(stored, outcomes, strict=True)
    told = iter(outcomes)
    return [(file, next(told) if isinstance(each, Matched) else each) for file, each in matched]


def _ingest_file(stages: Stages, file: _File, read: Callable[[_File], Found]) -> FileOutcome:
    kept: list[tuple[Matched, Ingested]] = []
    ((_, outcome),) = _store_files(stages, _match_files(stages, [(file, read(file))]), kept)
    stages.tally(kept)
    return outcome


def _or_why(step: Callable[[], _T]) -> _T | Exception:
    """What a step of ingesting a file gave, or why the store failed for it (the state out
    of reach is not the file's fault: raised, and it is tried again)."""
    try:
        return step()
    except (StateUnavailable, StateGone):
        raise
    except Exception as error:
        return error
