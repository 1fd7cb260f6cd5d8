"""One file as a raw article: read whole as it is now, or the reason it cannot be.

A file is never deleted or moved; what is wrong with it is said in words a user can act
on, and it is read again once it changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISDIR, S_ISREG

from worker.model import FileRecord, RawArticle

__all__ = ["FEED_ARTICLES", "STILL_WRITTEN", "Read", "Unread", "read_file", "record_of"]

STILL_WRITTEN = "changed while it was read (still being written?); read again when it changes"
# A .jsonl file is a feed of many articles that grows line by line: the size limit is on
# an article's file, so a feed may hold a hundred of them before it is refused.
FEED_ARTICLES = 100


@dataclass(frozen=True)
class Read:
    """A file read whole, and how it was when read."""

    raw: RawArticle
    stat: os.stat_result


@dataclass(frozen=True)
class Unread:
    """A file that could not be read as it is now, and why."""

    stat: os.stat_result
    reason: str


def read_file(
    path: Path, max_bytes: int, seen_at: datetime, stat: os.stat_result | None = None
) -> Read | Unread | None:
    """The file's bytes as a raw article; Unread when it cannot be read whole; None when it
    is gone before it could be read. `stat`: the file's, if the caller just took it."""
    if stat is None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        except OSError as error:  # a link loop, say: lstat still tells when it changes
            return Unread(path.lstat(), _read_error(error))
    reason = _not_a_file(stat) or _too_large(stat.st_size, _limit(path, max_bytes))
    if reason is not None:
        return Unread(stat, reason)
    try:
        data = path.read_bytes()
        after = path.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        return Unread(stat, _read_error(error))
    if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
        # Half an article must not be stored: the writer's next change brings it whole.
        return Unread(stat, STILL_WRITTEN)
    raw = RawArticle(
        uri=str(path),
        data=data,
        format=path.suffix.lower(),
        modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        seen_at=seen_at,
        path=str(path),
    )
    return Read(raw, stat)


def record_of(path: str, stat: os.stat_result, error: str | None) -> FileRecord:
    """What the store keeps of a file: as it was when read, and why it failed if it did."""
    return FileRecord(path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, error)


def _limit(path: Path, max_bytes: int) -> int:
    return max_bytes * (FEED_ARTICLES if path.suffix.lower() == ".jsonl" else 1)


def _read_error(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied; make the file readable by the user running wirewatch"
    return f"cannot be read: {error.strerror or error}"


def _not_a_file(stat: os.stat_result) -> str | None:
    if S_ISDIR(stat.st_mode):
        return "is a folder, not a file"
    if not S_ISREG(stat.st_mode):  # reading a named pipe would wait for ever
        return "not a regular file (a pipe, socket or device); only files are read"
    return None


def _too_large(size: int, limit: int) -> str | None:
    if size <= limit:
        return None
    return (
        f"file is {size / 1e6:.1f} MB, over the {limit / 1e6:g} MB limit; raise"
        " ingest.max_file_mb: it is read again at the next start or by wirewatch ingest"
    )
