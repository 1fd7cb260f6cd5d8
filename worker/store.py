"""What wirewatch remembers: files seen, articles, matches, and what each channel was sent.

The rest of the code sees only the `Store` protocol; `SqliteStore` is one backend of it.
Statements are plain SQL that PostgreSQL accepts too (`ON CONFLICT`, no `INSERT OR ...`),
so a second backend differs in connection handling and placeholders, not in meaning.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, astuple, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from worker.articles import Article
from worker.match import Hit, Match

__all__ = [
    "ChannelTotals",
    "DigestRecord",
    "FileRecord",
    "SqliteStore",
    "Store",
    "StoredMatch",
    "open_store",
]


@dataclass(frozen=True)
class FileRecord:
    """A file as last ingested: size and change times, and why it failed if it did."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int  # changes on chmod too: a file made readable is read again
    error: str | None

    def up_to_date(self, stat: os.stat_result, retry_failed: bool = False) -> bool:
        """Whether the file was read as it is now (and read well, when retrying failures)."""
        unchanged = (self.size, self.mtime_ns, self.ctime_ns) == (
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
        )
        return unchanged and not (retry_failed and self.error is not None)


@dataclass(frozen=True)
class StoredMatch:
    """A match as stored, with its article: what a digest is made of."""

    id: int
    rule_id: str
    article: Article
    hits: tuple[Hit, ...]
    matched_at: datetime


@dataclass(frozen=True)
class DigestRecord:
    """A digest written down before it is delivered; `document` is exactly what is sent."""

    id: str
    channel: str
    created_at: datetime
    status: str  # pending | sent | dead
    attempts: int
    document: dict[str, Any]
    last_error: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class ChannelTotals:
    """What `status` shows of a channel."""

    pending: int
    sent: int
    dead: int
    last_sent: datetime | None


class Store(Protocol):
    """The narrow interface every backend offers."""

    def files(self) -> dict[str, FileRecord]: ...
    def file(self, path: str) -> FileRecord | None: ...
    def record_file(self, record: FileRecord, at: datetime) -> None: ...
    def add_article(self, article: Article, at: datetime) -> bool: ...
    def add_matches(self, article_id: str, matches: Sequence[Match], at: datetime) -> int: ...
    def articles(self, under: Sequence[str] = ()) -> Iterator[Article]: ...
    def pending(self, channel: str, rule_ids: Iterable[str]) -> list[StoredMatch]: ...
    def create_digest(self, record: DigestRecord, match_ids: Sequence[int]) -> bool: ...
    def unsent_digests(self, channel: str) -> list[DigestRecord]: ...
    def mark_sent(self, digest_id: str, at: datetime) -> None: ...
    def mark_failed(self, digest_id: str, error: str) -> None: ...
    def last_sent(self, channel: str) -> datetime | None: ...
    def last_run(self, channel: str) -> datetime | None: ...
    def record_run(self, channel: str, at: datetime) -> None: ...
    def counts(self) -> dict[str, int]: ...
    def failures(self) -> list[FileRecord]: ...
    def channel_totals(self, channel: str, rule_ids: Iterable[str]) -> ChannelTotals: ...
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, error TEXT, seen_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, date TEXT NOT NULL,
    source TEXT, url TEXT, path TEXT NOT NULL, ingested_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS matches (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles (id),
    rule_id TEXT NOT NULL, hits TEXT NOT NULL, matched_at TEXT NOT NULL,
    UNIQUE (article_id, rule_id));
CREATE TABLE IF NOT EXISTS digests (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, created_at TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL, document TEXT NOT NULL,
    last_error TEXT, sent_at TEXT);
CREATE TABLE IF NOT EXISTS digest_items (
    channel TEXT NOT NULL, match_id INTEGER NOT NULL REFERENCES matches (id),
    digest_id TEXT NOT NULL REFERENCES digests (id), PRIMARY KEY (channel, match_id));
CREATE TABLE IF NOT EXISTS schedule_runs (channel TEXT PRIMARY KEY, last_run TEXT NOT NULL);
"""

_FILE_COLUMNS = "path, size, mtime_ns, ctime_ns, error"
_ARTICLE_COLUMNS = "id, title, body, date, source, url, path"
_PAGE = 500
_MATCH_COLUMNS = """
    m.id, m.rule_id, m.hits, m.matched_at,
    a.id, a.title, a.body, a.date, a.source, a.url, a.path
"""


class SqliteStore:
    """The store in one SQLite file (WAL), safe for a daemon and an `ingest` side by side."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode with explicit BEGIN IMMEDIATE: a writer takes the lock up front,
        # so two processes never fail half way through a read-then-write transaction.
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._write():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def files(self) -> dict[str, FileRecord]:
        """Every file seen, by path."""
        rows = self._read(f"SELECT {_FILE_COLUMNS} FROM files")
        return {row[0]: FileRecord(*row) for row in rows}

    def file(self, path: str) -> FileRecord | None:
        """The record of one file, if it was seen."""
        rows = self._read(f"SELECT {_FILE_COLUMNS} FROM files WHERE path = ?", [path])
        return FileRecord(*rows[0]) if rows else None

    def record_file(self, record: FileRecord, at: datetime) -> None:
        """Remember a file as ingested (or failed) at this size and modification time."""
        with self._write() as db:
            db.execute(
                f"INSERT INTO files ({_FILE_COLUMNS}, seen_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (path) DO UPDATE SET size = excluded.size,"
                " mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns,"
                " error = excluded.error, seen_at = excluded.seen_at",
                [*astuple(record), at.isoformat()],
            )

    def add_article(self, article: Article, at: datetime) -> bool:
        """Store an article; False when an article with the same content is already stored."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO articles (id, title, body, date, source, url, path, ingested_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                [
                    article.id,
                    article.title,
                    article.body,
                    article.date.isoformat(),
                    article.source,
                    article.url,
                    article.path,
                    at.isoformat(),
                ],
            )
            return cursor.rowcount == 1

    def add_matches(self, article_id: str, matches: Sequence[Match], at: datetime) -> int:
        """Store an article's matches; returns how many were new."""
        added = 0
        with self._write() as db:
            for match in matches:
                cursor = db.execute(
                    "INSERT INTO matches (article_id, rule_id, hits, matched_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (article_id, rule_id) DO NOTHING",
                    [article_id, match.rule_id, _hits_json(match.hits), at.isoformat()],
                )
                added += cursor.rowcount
        return added

    def articles(self, under: Sequence[str] = ()) -> Iterator[Article]:
        """Every stored article, or those from these files and folders, a page at a time."""
        after = ""
        while True:
            rows = self._read(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id > ?{_under(under)}"
                f" ORDER BY id LIMIT {_PAGE}",
                [after, *(v for path in under for v in (path, path + os.sep, path + os.sep))],
            )
            yield from (_article(row) for row in rows)
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def pending(self, channel: str, rule_ids: Iterable[str]) -> list[StoredMatch]:
        """Matches of these rules that no digest of `channel` holds yet, oldest first."""
        ids = list(rule_ids)
        if not ids:
            return []
        rows = self._read(
            f"SELECT {_MATCH_COLUMNS} FROM matches m JOIN articles a ON a.id = m.article_id"
            f" WHERE m.rule_id IN ({_marks(ids)}) AND NOT EXISTS (SELECT 1 FROM digest_items d"
            " WHERE d.channel = ? AND d.match_id = m.id) ORDER BY m.id",
            [*ids, channel],
        )
        return [_stored_match(row) for row in rows]

    def create_digest(self, record: DigestRecord, match_ids: Sequence[int]) -> bool:
        """Write a digest and claim its matches for the channel; False if one was taken."""
        with self._write() as db:
            taken = db.execute(
                f"SELECT COUNT(*) FROM digest_items WHERE channel = ?"
                f" AND match_id IN ({_marks(match_ids)})",
                [record.channel, *match_ids],
            ).fetchone()[0]
            if taken:
                return False
            db.execute(
                "INSERT INTO digests (id, channel, created_at, status, attempts, document)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    record.id,
                    record.channel,
                    record.created_at.isoformat(),
                    record.status,
                    record.attempts,
                    json.dumps(record.document),
                ],
            )
            db.executemany(
                "INSERT INTO digest_items (channel, match_id, digest_id) VALUES (?, ?, ?)",
                [(record.channel, match_id, record.id) for match_id in match_ids],
            )
        return True

    def unsent_digests(self, channel: str) -> list[DigestRecord]:
        """Digests of `channel` written down but not yet delivered, oldest first."""
        rows = self._read(
            "SELECT id, channel, created_at, status, attempts, document, last_error, sent_at"
            " FROM digests WHERE channel = ? AND status = 'pending' ORDER BY created_at, id",
            [channel],
        )
        return [_digest_record(row) for row in rows]

    def mark_sent(self, digest_id: str, at: datetime) -> None:
        """The receiver accepted the digest."""
        with self._write() as db:
            db.execute(
                "UPDATE digests SET status = 'sent', sent_at = ?, attempts = attempts + 1"
                " WHERE id = ?",
                [at.isoformat(), digest_id],
            )

    def mark_failed(self, digest_id: str, error: str) -> None:
        """A delivery attempt failed; the digest stays pending for the next try."""
        with self._write() as db:
            db.execute(
                "UPDATE digests SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                [error, digest_id],
            )

    def last_sent(self, channel: str) -> datetime | None:
        """When the channel last delivered a digest."""
        rows = self._read(
            "SELECT MAX(sent_at) FROM digests WHERE channel = ? AND status = 'sent'", [channel]
        )
        return datetime.fromisoformat(rows[0][0]) if rows[0][0] else None

    def last_run(self, channel: str) -> datetime | None:
        """When the channel's schedule last fired."""
        rows = self._read("SELECT last_run FROM schedule_runs WHERE channel = ?", [channel])
        return datetime.fromisoformat(rows[0][0]) if rows else None

    def record_run(self, channel: str, at: datetime) -> None:
        """Remember that the channel's schedule fired at `at`."""
        with self._write() as db:
            db.execute(
                "INSERT INTO schedule_runs (channel, last_run) VALUES (?, ?)"
                " ON CONFLICT (channel) DO UPDATE SET last_run = excluded.last_run",
                [channel, at.isoformat()],
            )

    def counts(self) -> dict[str, int]:
        """Articles ingested, files failed and matches stored."""
        sql = (
            "SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM files"
            " WHERE error IS NOT NULL), (SELECT COUNT(*) FROM matches)"
        )
        ingested, failed, matches = self._read(sql)[0]
        return {"ingested": ingested, "failed": failed, "matches": matches}

    def failures(self) -> list[FileRecord]:
        """Files that could not be read, with the reason."""
        rows = self._read(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE error IS NOT NULL ORDER BY path"
        )
        return [FileRecord(*row) for row in rows]

    def channel_totals(self, channel: str, rule_ids: Iterable[str]) -> ChannelTotals:
        """Pending matches, sent and dead digests, and the last send of one channel."""
        pending = len(self.pending(channel, rule_ids))
        rows = self._read(
            "SELECT status, COUNT(*) FROM digests WHERE channel = ? GROUP BY status", [channel]
        )
        by_status = dict(rows)
        return ChannelTotals(
            pending=pending,
            sent=by_status.get("sent", 0),
            dead=by_status.get("dead", 0),
            last_sent=self.last_sent(channel),
        )

    def close(self) -> None:
        """Close the database; the store cannot be used afterwards."""
        with self._lock:
            self._db.close()


def open_store(state: Path) -> Store:
    """The store for the config's `state` setting."""
    return SqliteStore(state)


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def _under(paths: Sequence[str]) -> str:
    """SQL for articles from one of these files, or from a file inside one of these folders."""
    if not paths:
        return ""
    each = " OR ".join("path = ? OR substr(path, 1, length(?)) = ?" for _ in paths)
    return f" AND ({each})"


def _article(row: Sequence[Any]) -> Article:
    article_id, title, body, day, source, url, path = row
    return Article(
        id=article_id,
        title=title,
        body=body,
        date=date.fromisoformat(day),
        path=path,
        source=source,
        url=url,
    )


def _hits_json(hits: Iterable[Hit]) -> str:
    return json.dumps([asdict(hit) for hit in hits], ensure_ascii=False)


def _stored_match(row: Sequence[Any]) -> StoredMatch:
    match_id, rule_id, hits, matched_at, *article = row
    return StoredMatch(
        id=match_id,
        rule_id=rule_id,
        article=_article(article),
        hits=tuple(Hit(**hit) for hit in json.loads(hits)),
        matched_at=datetime.fromisoformat(matched_at),
    )


def _digest_record(row: Sequence[Any]) -> DigestRecord:
    digest_id, channel, created_at, status, attempts, document, last_error, sent_at = row
    return DigestRecord(
        id=digest_id,
        channel=channel,
        created_at=datetime.fromisoformat(created_at),
        status=status,
        attempts=attempts,
        document=json.loads(document),
        last_error=last_error,
        sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
    )
