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
from dataclasses import asdict, astuple
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from worker.errors import StateError
from worker.model import (
    Article,
    ChannelTotals,
    DigestRecord,
    FileRecord,
    Hit,
    Match,
    StoredMatch,
)

__all__ = ["SqliteStore", "Store", "open_store"]


class Store(Protocol):
    """The narrow interface every backend offers."""

    def files(self) -> dict[str, FileRecord]: ...
    def file(self, path: str) -> FileRecord | None: ...
    def record_file(self, record: FileRecord, at: datetime) -> None: ...
    def has_article(self, article_id: str) -> bool: ...
    def add_article(self, article: Article, matches: Sequence[Match], at: datetime) -> bool: ...
    def add_matches(self, article_id: str, matches: Sequence[Match], at: datetime) -> int: ...
    def channel_since(self, channel: str, at: datetime) -> datetime: ...
    def select_rules(self, channel: str, rule_ids: Iterable[str]) -> None: ...
    def articles(self, under: Sequence[str] = ()) -> Iterator[Article]: ...
    def pending(self, channel: str, limit: int | None = None) -> list[StoredMatch]: ...
    def create_digest(self, record: DigestRecord, match_ids: Sequence[int]) -> bool: ...
    def unsent_digests(self, channel: str) -> list[DigestRecord]: ...
    def claim_digest(self, digest_id: str, holder: str, at: datetime, until: datetime) -> bool: ...
    def renew_claim(self, digest_id: str, holder: str, until: datetime) -> bool: ...
    def mark_sent(self, digest_id: str, at: datetime) -> None: ...
    def record_failure(
        self, digest_id: str, error: str, at: datetime, retry_at: datetime | None
    ) -> None: ...
    def revive_dead(self, channel: str, at: datetime) -> int: ...
    def last_sent(self, channel: str) -> datetime | None: ...
    def last_digest_at(self, channel: str) -> datetime | None: ...
    def last_run(self, channel: str) -> datetime | None: ...
    def record_run(self, channel: str, at: datetime) -> None: ...
    def counts(self) -> dict[str, int]: ...
    def failures(self) -> list[FileRecord]: ...
    def channel_totals(self, channel: str) -> ChannelTotals: ...
    def channels_with_digests(self) -> list[str]: ...
    def close(self) -> None: ...


# Each entry brings the schema from the version before it to its own version; the
# schema_version table says how many have been applied to a state file.
_MIGRATIONS = (
    """
    CREATE TABLE files (
        path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL, error TEXT, seen_at TEXT NOT NULL);
    CREATE TABLE articles (
        id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, date TEXT NOT NULL,
        source TEXT, url TEXT, path TEXT NOT NULL, ingested_at TEXT NOT NULL);
    CREATE TABLE matches (
        id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles (id),
        rule_id TEXT NOT NULL, hits TEXT NOT NULL, matched_at TEXT NOT NULL,
        UNIQUE (article_id, rule_id));
    CREATE INDEX matches_by_rule ON matches (rule_id, id);
    CREATE TABLE digests (
        id TEXT PRIMARY KEY, channel TEXT NOT NULL, created_at TEXT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL, document TEXT NOT NULL,
        last_error TEXT, sent_at TEXT, next_attempt_at TEXT, first_failure_at TEXT,
        rendered TEXT, claimed_by TEXT, claimed_until TEXT);
    CREATE INDEX digests_by_channel ON digests (channel, status);
    CREATE TABLE digest_items (
        channel TEXT NOT NULL, match_id INTEGER NOT NULL REFERENCES matches (id),
        digest_id TEXT NOT NULL REFERENCES digests (id), PRIMARY KEY (channel, match_id));
    CREATE INDEX digest_items_by_digest ON digest_items (digest_id, match_id);
    CREATE TABLE schedule_runs (channel TEXT PRIMARY KEY, last_run TEXT NOT NULL);
    CREATE TABLE channels (name TEXT PRIMARY KEY, since TEXT NOT NULL);
    CREATE TABLE channel_rules (
        channel TEXT NOT NULL, rule_id TEXT NOT NULL, after_match INTEGER NOT NULL,
        PRIMARY KEY (channel, rule_id));
    """,
)

_FILE_COLUMNS = "path, size, mtime_ns, ctime_ns, error"
_ARTICLE_COLUMNS = "id, title, body, date, source, url, path"
_PAGE = 500
# The ids of a channel's pending matches: each of its rules' matches stored after the
# rule's `after_match` that no digest of the channel holds, read through matches_by_rule.
_PENDING_IDS = """
    SELECT m.id FROM channel_rules r
    JOIN matches m ON m.rule_id = r.rule_id AND m.id > r.after_match
    WHERE r.channel = ? AND NOT EXISTS (
        SELECT 1 FROM digest_items d WHERE d.channel = ? AND d.match_id = m.id)
"""
_MATCH_COLUMNS = """
    m.id, m.rule_id, m.hits, m.matched_at,
    a.id, a.title, a.body, a.date, a.source, a.url, a.path
"""


class SqliteStore:
    """The store in one SQLite file (WAL), safe for a daemon and an `ingest` side by side."""

    def __init__(self, path: Path, busy_timeout: float = 30) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode with explicit BEGIN IMMEDIATE: a writer takes the lock up
            # front, so two processes never fail half way through a read-then-write.
            self._db = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._lock = threading.RLock()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (OSError, sqlite3.DatabaseError) as error:
            raise StateError(f"{path}: cannot be used as the state file: {error}") from None

    def _migrate(self) -> None:
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            current = 0 if row is None else int(row[0])
            if current > len(_MIGRATIONS):
                raise StateError(
                    f"the state file is of a newer wirewatch (schema {current}); upgrade wirewatch"
                )
            for script in _MIGRATIONS[current:]:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute("DELETE FROM schema_version")
            db.execute("INSERT INTO schema_version (version) VALUES (?)", [len(_MIGRATIONS)])

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
                [*astuple(record), _utc(at)],
            )

    def has_article(self, article_id: str) -> bool:
        """Whether an article with this id (this content) is stored."""
        return bool(self._read("SELECT 1 FROM articles WHERE id = ?", [article_id]))

    def add_article(self, article: Article, matches: Sequence[Match], at: datetime) -> bool:
        """Store an article with its matches, together or not at all; False when an article
        with the same content is already stored."""
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
                    _utc(at),
                ],
            )
            if cursor.rowcount != 1:
                return False
            _insert_matches(db, article.id, matches, at)
        return True

    def add_matches(self, article_id: str, matches: Sequence[Match], at: datetime) -> int:
        """Store more matches of a stored article (new rules); returns how many were new."""
        with self._write() as db:
            return _insert_matches(db, article_id, matches, at)

    def channel_since(self, channel: str, at: datetime) -> datetime:
        """When `channel` first appeared (now, `at`, if it is new): its first digest's period
        starts there."""
        with self._write() as db:
            db.execute(
                "INSERT INTO channels (name, since) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                [channel, _utc(at)],
            )
            row = db.execute("SELECT since FROM channels WHERE name = ?", [channel]).fetchone()
        return datetime.fromisoformat(row[0])

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

    def select_rules(self, channel: str, rule_ids: Iterable[str]) -> None:
        """The rules whose matches go to `channel` from now on; a rule it newly selects
        brings the matches stored from now on, not its history."""
        wanted = set(rule_ids)
        with self._write() as db:
            rows = db.execute("SELECT rule_id FROM channel_rules WHERE channel = ?", [channel])
            held = {row[0] for row in rows}
            db.executemany(
                "DELETE FROM channel_rules WHERE channel = ? AND rule_id = ?",
                [(channel, rule_id) for rule_id in held - wanted],
            )
            # "From now on" is "after the newest match stored", not a time: a clock set
            # back after the rule was taken must not hide the matches stored meanwhile.
            newest = db.execute("SELECT COALESCE(MAX(id), 0) FROM matches").fetchone()[0]
            db.executemany(
                "INSERT INTO channel_rules (channel, rule_id, after_match) VALUES (?, ?, ?)",
                [(channel, rule_id, newest) for rule_id in sorted(wanted - held)],
            )

    def pending(self, channel: str, limit: int | None = None) -> list[StoredMatch]:
        """Matches that no digest of `channel` holds yet, of the rules it selects and stored
        since it selected them, oldest first; the first `limit` of them when given."""
        cut = "" if limit is None else " LIMIT ?"
        rows = self._read(
            f"WITH due AS ({_PENDING_IDS} ORDER BY m.id{cut})"
            f" SELECT {_MATCH_COLUMNS} FROM due JOIN matches m ON m.id = due.id"
            " JOIN articles a ON a.id = m.article_id ORDER BY m.id",
            [channel, channel, *([] if limit is None else [limit])],
        )
        return [_stored_match(row) for row in rows]

    def create_digest(self, record: DigestRecord, match_ids: Sequence[int]) -> bool:
        """Write a digest and claim its matches for the channel; False if one was taken."""
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO digests"
                    " (id, channel, created_at, status, attempts, document, rendered)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        record.id,
                        record.channel,
                        _utc(record.created_at),
                        record.status,
                        record.attempts,
                        json.dumps(record.document),
                        None if record.rendered is None else json.dumps(record.rendered),
                    ],
                )
                db.executemany(
                    "INSERT INTO digest_items (channel, match_id, digest_id) VALUES (?, ?, ?)",
                    [(record.channel, match_id, record.id) for match_id in match_ids],
                )
        except sqlite3.IntegrityError:  # another process claimed one of them first
            return False
        return True

    def unsent_digests(self, channel: str) -> list[DigestRecord]:
        """Digests of `channel` written down but not yet delivered, oldest first."""
        rows = self._read(
            f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE channel = ? AND status = 'pending'"
            " ORDER BY created_at, id",
            [channel],
        )
        return [_digest_record(row) for row in rows]

    def claim_digest(self, digest_id: str, holder: str, at: datetime, until: datetime) -> bool:
        """Take the digest to deliver it, until `until`; False unless it is pending, due at
        `at` and claimed by no one (or by one whose claim has run out)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE digests SET claimed_by = ?, claimed_until = ? WHERE id = ?"
                " AND status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
                " AND (claimed_until IS NULL OR claimed_until <= ?)",
                [holder, _utc(until), digest_id, _utc(at), _utc(at)],
            )
            return cursor.rowcount == 1

    def renew_claim(self, digest_id: str, holder: str, until: datetime) -> bool:
        """Keep the holder's claim on a digest still pending until `until`; False if it lost it."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE digests SET claimed_until = ? WHERE id = ? AND claimed_by = ?"
                " AND status = 'pending'",
                [_utc(until), digest_id, holder],
            )
            return cursor.rowcount == 1

    def mark_sent(self, digest_id: str, at: datetime) -> None:
        """The receiver accepted the digest."""
        with self._write() as db:
            db.execute(
                "UPDATE digests SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                " next_attempt_at = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                [_utc(at), digest_id],
            )

    def record_failure(
        self, digest_id: str, error: str, at: datetime, retry_at: datetime | None
    ) -> None:
        """An attempt failed: try again at `retry_at`, or never (the digest is dead)."""
        with self._write() as db:
            db.execute(
                "UPDATE digests SET attempts = attempts + 1, last_error = ?,"
                " first_failure_at = COALESCE(first_failure_at, ?), next_attempt_at = ?,"
                " status = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                [
                    error,
                    _utc(at),
                    None if retry_at is None else _utc(retry_at),
                    "dead" if retry_at is None else "pending",
                    digest_id,
                ],
            )

    def revive_dead(self, channel: str, at: datetime) -> int:
        """Make the dead digests of `channel` pending again, due at `at`; how many."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE digests SET status = 'pending', attempts = 0, first_failure_at = NULL,"
                " next_attempt_at = ? WHERE channel = ? AND status = 'dead'",
                [_utc(at), channel],
            )
            return cursor.rowcount

    def last_sent(self, channel: str) -> datetime | None:
        """When the channel last delivered a digest."""
        rows = self._read(
            "SELECT MAX(sent_at) FROM digests WHERE channel = ? AND status = 'sent'", [channel]
        )
        return datetime.fromisoformat(rows[0][0]) if rows[0][0] else None

    def last_digest_at(self, channel: str) -> datetime | None:
        """When the channel's latest digest was made (sent or not)."""
        rows = self._read("SELECT MAX(created_at) FROM digests WHERE channel = ?", [channel])
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
                [channel, _utc(at)],
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

    def channel_totals(self, channel: str) -> ChannelTotals:
        """Pending matches, digests by state, and the last send and failure of one channel."""
        by_status = dict(
            self._read(
                "SELECT status, COUNT(*) FROM digests WHERE channel = ? GROUP BY status",
                [channel],
            )
        )
        failing = self._read(
            "SELECT last_error, next_attempt_at FROM digests WHERE channel = ?"
            " AND status != 'sent' AND last_error IS NOT NULL ORDER BY created_at DESC LIMIT 1",
            [channel],
        )
        retrying = self._read(
            "SELECT COUNT(*) FROM digests WHERE channel = ? AND status = 'pending'"
            " AND last_error IS NOT NULL",
            [channel],
        )[0][0]
        last_error, next_attempt = failing[0] if failing else (None, None)
        return ChannelTotals(
            pending=self._read(f"SELECT COUNT(*) FROM ({_PENDING_IDS}) due", [channel] * 2)[0][0],
            sent=by_status.get("sent", 0),
            dead=by_status.get("dead", 0),
            retrying=retrying,
            last_sent=self.last_sent(channel),
            last_error=last_error,
            next_attempt_at=_time_or_none(next_attempt),
        )

    def channels_with_digests(self) -> list[str]:
        """Every channel that has digests not delivered (waiting or given up on)."""
        rows = self._read("SELECT DISTINCT channel FROM digests WHERE status != 'sent'")
        return sorted(row[0] for row in rows)

    def close(self) -> None:
        """Close the database; the store cannot be used afterwards."""
        with self._lock:
            self._db.close()


def open_store(state: Path, busy_timeout: timedelta = timedelta(seconds=30)) -> Store:
    """The store for the config's `state` setting."""
    return SqliteStore(state, busy_timeout.total_seconds())


def _insert_matches(
    db: sqlite3.Connection, article_id: str, matches: Sequence[Match], at: datetime
) -> int:
    added = 0
    for match in matches:
        cursor = db.execute(
            "INSERT INTO matches (article_id, rule_id, hits, matched_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (article_id, rule_id) DO NOTHING",
            [article_id, match.rule_id, _hits_json(match.hits), _utc(at)],
        )
        added += cursor.rowcount
    return added


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


_DIGEST_COLUMNS = (
    "id, channel, created_at, status, attempts, document, rendered, last_error, sent_at,"
    " next_attempt_at, first_failure_at, claimed_until"
)


def _digest_record(row: Sequence[Any]) -> DigestRecord:
    digest_id, channel, created_at, status, attempts, document, rendered, last_error, *times = row
    sent_at, next_attempt_at, first_failure_at, claimed_until = (
        _time_or_none(value) for value in times
    )
    return DigestRecord(
        id=digest_id,
        channel=channel,
        created_at=datetime.fromisoformat(created_at),
        status=status,
        attempts=attempts,
        document=json.loads(document),
        last_error=last_error,
        sent_at=sent_at,
        next_attempt_at=next_attempt_at,
        first_failure_at=first_failure_at,
        rendered=None if rendered is None else json.loads(rendered),
        claimed_until=claimed_until,
    )


def _utc(moment: datetime) -> str:
    """Times are stored in UTC, all of one length, so that they also sort as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
