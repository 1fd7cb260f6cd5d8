"""The store's operations, written once against a small connector that any SQL backend
offers: read rows, and run statements in one write transaction.

Statements come from queries.sql by name. A backend binds the times given here (aware
datetimes) as it stores them, and gives them back as datetimes or ISO 8601 text.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from itertools import compress
from typing import Any, Protocol

from isal import isal_zlib

from worker.errors import StateFull, StateUnavailable
from worker.model import (
    Article,
    ChannelTotals,
    Delivery,
    Digest,
    FeedRecord,
    FileClaim,
    FileRecord,
    Hit,
    Match,
    MatchRecord,
    Mute,
    MutedMatch,
    NewArticle,
    Pruned,
    Rendered,
    StoredMatch,
    StoryShown,
    WorkerRecord,
)

__all__ = [
    "QUERIES",
    "TABLES",
    "BatchBrokenError",
    "Connector",
    "Outage",
    "SqlStore",
    "Told",
    "Transaction",
    "aware",
    "check_aware",
    "load_queries",
    "queries",
]

log = logging.getLogger(__name__)

Row = tuple[Any, ...]
Params = Mapping[str, object]

_PAGE = 500
# Before every article: `articles()` with no `since`.
_EVER = datetime(1, 1, 1, tzinfo=UTC)

# What `copy-state` copies, table by table in an order the references allow, with the
# columns that name a row (for reading it a page at a time). Workers are not copied.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "seen_articles": (("id", "seen_at"), ("id",)),
    "articles": (
        (
            "id", "title", "body", "date", "source", "url", "path", "author", "language",
            "site", "ingested_at",
        ),
        ("id",),
    ),
    "matches": (("id", "article_id", "rule_id", "hits", "matched_at"), ("id",)),
    "digests": (
        (
            "id", "channel", "created_at", "status", "attempts", "document", "last_error",
            "sent_at", "next_attempt_at", "first_failure_at", "rendered", "claimed_by",
            "claimed_until",
        ),
        ("id",),
    ),
    "digest_items": (("channel", "match_id", "digest_id"), ("channel", "match_id")),
    "channels": (("name", "since"), ("name",)),
    "channel_rules": (("channel", "rule_id"), ("channel", "rule_id")),
    "pending": (("channel", "match_id", "rule_id"), ("channel", "match_id")),
    "withheld": (("channel", "match_id", "reason", "at"), ("channel", "match_id")),
    "folders_scanned": (("path", "at"), ("path",)),
    "schedule_runs": (("channel", "last_run"), ("channel",)),
    "files": (("path", "size", "mtime_ns", "ctime_ns", "error", "seen_at"), ("path",)),
    "file_claims": (
        ("key", "size", "mtime_ns", "holder", "claimed_until", "done_at", "failed"),
        ("key",),
    ),
    "slots": (
        ("channel", "slot_at", "holder", "claimed_until", "done_at"),
        ("channel", "slot_at"),
    ),
    "story_signatures": (
        ("channel", "article_id", "signature", "story_id", "first_sent"),
        ("channel", "article_id"),
    ),
    "mutes": (
        ("id", "target", "until", "afterwards", "reason", "created_by", "created_at",
         "ended_at"),
        ("id",),
    ),
    "muted_matches": (
        ("channel", "match_id", "mute_id", "afterwards", "muted_at", "released_at"),
        ("channel", "match_id"),
    ),
    "throttle_holds": (("channel", "since"), ("channel",)),
    "feeds": (
        (
            "url", "etag", "last_modified", "next_poll", "last_success", "last_error",
            "error_since", "failures", "gone", "holder", "claimed_until",
        ),
        ("url",),
    ),
    "feed_entries": (
        ("feed", "entry", "article_id", "fingerprint", "seen_at"), ("feed", "entry"),
    ),
}  # fmt: skip
_NO_LIMIT = 2**62  # LIMIT takes a number on every backend
# The columns kept packed (`pack`): text before version 10 of the layout, still read.
_PACKED = {"articles": ("body",), "digests": ("document", "rendered")}
# ISA-L's deflate at its level 1 writes what zlib reads, a little smaller than zlib's own
# level 1 on news text and in under a third of its time.
_PACK_LEVEL = 1
_UNPACKED = b"\x00"  # the first byte of a PostgreSQL value moved to bytes unpacked


class Transaction(Protocol):
    """Statements run in one write transaction, committed together or not at all."""

    def run(self, query: str, params: Params) -> int:
        """Run a statement; how many rows it changed."""
        ...

    def rows(self, query: str, params: Params) -> list[Row]:
        """The rows a query gives, inside the transaction."""
        ...

    def run_many(self, query: str, params: Sequence[Params]) -> None:
        """Run a statement once with each of `params`, in order."""
        ...


class Connector(Protocol):
    """What a backend offers: reads and write transactions."""

    dialect: str  # which queries.DIALECT.sql overrides apply, if any

    def rows(self, query: str, params: Params) -> list[Row]:
        """The rows a query gives."""
        ...

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        ...

    def at_once(self) -> AbstractContextManager[bool]:
        """Whether the state can be read now without waiting for another thread's call."""
        ...

    def unreachable(self) -> str | None:
        """Why the state cannot be reached now, if the last call could not reach it."""
        ...

    def lost(self) -> str | None:
        """Why the state opened is no longer there (its file deleted or replaced), or None."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


def aware(params: Params) -> dict[str, object]:
    """The parameters of a statement, every time among them aware: the seam takes no other."""
    for value in params.values():
        if isinstance(value, datetime):
            check_aware(value)
    return dict(params)


def check_aware(moment: datetime) -> None:
    """ValueError for a time without a time zone: the seam takes none."""
    if moment.tzinfo is None:
        raise ValueError(f"a time without a time zone reached the store: {moment}")


def load_queries(text: str) -> dict[str, str]:
    """Statements by name from text of `-- name --` headings, each followed by one line
    saying what it does and then the statement."""
    queries: dict[str, str] = {}
    name: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("-- ") and stripped.endswith(" --") and len(stripped) > 6:
            name = stripped[3:-3].strip()
            queries[name] = ""
        elif name is not None and not stripped.startswith("--"):
            queries[name] += line + "\n"
    return {name: sql.strip().rstrip(";") for name, sql in queries.items()}


def _text(name: str) -> str:
    return resources.files("worker.store").joinpath(name).read_text("utf-8")


QUERIES = load_queries(_text("queries.sql"))


def queries(dialect: str) -> dict[str, str]:
    """The statements a backend runs: queries.sql, and those queries.DIALECT.sql overrides."""
    overrides = resources.files("worker.store").joinpath(f"queries.{dialect}.sql")
    if not overrides.is_file():
        return QUERIES
    return {**QUERIES, **load_queries(overrides.read_text("utf-8"))}


Told = Callable[[str | None], None]  # what is wrong with the state now, or None when fine


def _untold(problem: str | None) -> None:
    """Nobody listens (a command that ends soon)."""


class Outage:
    """Says once that the state cannot be reached (or its storage is full), and once that
    it can again, however many calls fail in between (one line per outage, not per call);
    `told` hears the same, for the daemon's health."""

    def __init__(self, shown: str, told: Told | None = None) -> None:
        self._shown = shown
        self._told = told or _untold
        self._since: float | None = None
        self._error = ""  # why it cannot be reached, while it cannot
        self._full = False
        self._lock = threading.Lock()

    def failed(
        self, error: Exception, full: bool = False, began: float | None = None
    ) -> StateUnavailable:
        """The state cannot be reached, or (`full`) has no room: the error to raise (logged
        if the outage is new, or now of the other kind). `began` is when the call that
        failed began (time.monotonic()): an outage is as old as the first wait for it."""
        told = " ".join(str(error).split()) or type(error).__name__
        with self._lock:
            news = self._since is None or self._full != full
            self._error = told
            if self._since is None:
                self._since = time.monotonic() if began is None else began
            self._full = full
        if full:
            if news:
                log.error(
                    "%s: storage full (%s); free some space: what waits is taken as soon as"
                    " there is room",
                    self._shown,
                    told,
                )
                self._told(f"storage full: {self._shown} ({told})")
            return StateFull(f"{self._shown}: storage full now: {error}")
        if news:
            log.warning(
                "%s cannot be reached: %s; what waits for it is tried again until it is back",
                self._shown,
                told,
            )
            self._told(f"{self._shown} cannot be reached: {told}")
        return StateUnavailable(f"{self._shown} cannot be reached now: {error}")

    def reached(self) -> None:
        """A write went through: the outage, if there was one, is over."""
        if self._since is None:
            return
        with self._lock:
            since, self._since = self._since, None
        if since is not None:
            log.info("%s is back after %.0f s", self._shown, time.monotonic() - since)
            self._told(None)

    def problem(self) -> str | None:
        """What `/healthz` says while the state cannot be reached; None when it can."""
        with self._lock:
            if self._since is None:
                return None
            down = time.monotonic() - self._since
            if self._full:
                return f"storage full: {self._shown} ({self._error}) for {down:.0f} s"
            return f"{self._shown} cannot be reached (for {down:.0f} s): {self._error}"


class BatchBrokenError(Exception):
    """A statement of a batch failed: the batch is undone, and may be done one by one."""


class _Joined:
    """A batch's transaction, which says whether a statement of it failed."""

    def __init__(self, db: Transaction) -> None:
        self._db = db
        self.broken = False

    def run(self, query: str, params: Params) -> int:
        try:
            return self._db.run(query, params)
        except BaseException:
            self.broken = True
            raise

    def rows(self, query: str, params: Params) -> list[Row]:
        try:
            return self._db.rows(query, params)
        except BaseException:
            self.broken = True
            raise

    def run_many(self, query: str, params: Sequence[Params]) -> None:
        try:
            self._db.run_many(query, params)
        except BaseException:
            self.broken = True
            raise


class _TakenError(Exception):
    """A match a digest would hold is no longer pending: the transaction is undone."""


class _CountedError(Exception):
    """A dry run of a prune: counted, and the transaction undone."""

    def __init__(self, pruned: Pruned) -> None:
        super().__init__()
        self.pruned = pruned


# Files `wirewatch ingest` reads in one transaction. Each file's record commits with its
# articles and matches, so that a kill -9 (or a power cut undoing the last commits, SQLite's
# WAL being synced at checkpoints) before a commit leaves every file of the batch
# unrecorded, and the next `ingest` reads them again; after it, none is read again.
_FILES_PER_BATCH = 100


class SqlStore:
    """Every role of the store over one connector."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector
        self._q = queries(connector.dialect)
        self._batch = threading.local()  # the transaction of this thread's batch, if any

    def _rows(self, name: str, **params: object) -> list[Row]:
        return self._read(self._q[name], params)

    def _read(self, query: str, params: Params) -> list[Row]:
        joined: _Joined | None = getattr(self._batch, "open", None)
        if joined is not None:  # what the batch wrote so far is read back
            return joined.rows(query, params)
        return self._db.rows(query, params)

    def _write(self) -> AbstractContextManager[Transaction]:
        """The transaction of this thread's batch, or one of its own."""
        joined: _Joined | None = getattr(self._batch, "open", None)
        return nullcontext(joined) if joined is not None else self._db.transaction()

    @property
    def files_per_batch(self) -> int:
        """100 files to a batch; one where storing a file's matches takes locks held to the
        commit (PostgreSQL's locks on their rules): taken file after file in any order,
        they could deadlock with a worker taking up rules for a channel."""
        return 1 if self._q["hold_rule"] else _FILES_PER_BATCH

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Files read and recorded, articles and matches stored (the writes of `FilesSeen`,
        `FeedsSeen` and `Articles`) in the block, by this thread, commit in one transaction,
        all or none. BatchBrokenError when a statement of it failed: none of it is kept.

        Safe against a kill only where each article stored in the block comes with the
        record of where it was read (its file, its feed entry) in the same block: a batch
        undone is read again from its source, and a batch kept is not."""
        if getattr(self._batch, "open", None) is not None:
            raise RuntimeError("a batch is open already")
        with self._db.transaction() as db:
            joined = self._batch.open = _Joined(db)
            try:
                yield
            finally:
                self._batch.open = None
            if joined.broken:  # PostgreSQL keeps no statement after a failed one
                raise BatchBrokenError("a statement of the batch failed; nothing of it is kept")

    def _one(self, name: str, **params: object) -> Any:
        rows = self._rows(name, **params)
        return rows[0][0] if rows else None

    # --- files seen ---------------------------------------------------------------------

    def file(self, path: str) -> FileRecord | None:
        """The record of one file, if it was seen."""
        rows = self._rows("file", path=path)
        return FileRecord(*rows[0]) if rows else None

    def files(self) -> dict[str, FileRecord]:
        """Every file seen, by path."""
        return {row[0]: FileRecord(*row) for row in self._rows("files")}

    def record_file(self, record: FileRecord, at: datetime) -> None:
        """Remember a file as ingested (or failed) at this size and modification time."""
        with self._write() as db:
            db.run(self._q["record_file"], {**_columns(record), "at": at})

    def failures(self) -> list[FileRecord]:
        """Files that could not be read, with the reason."""
        return [FileRecord(*row) for row in self._rows("failures")]

    def claim_file(self, claim: FileClaim, at: datetime, until: datetime) -> bool:
        """Take a file to read it, until `until`; False when another worker has it, or it
        was read as it is (or failed so, unless `claim.retry_failed`)."""
        params = {**_columns(claim), "retry_failed": int(claim.retry_failed)}
        with self._write() as db:
            return db.run(self._q["claim_file"], {**params, "at": at, "until": until}) == 1

    def finish_file(self, claim: FileClaim, record: FileRecord, at: datetime) -> None:
        """The file is read as `record` says (or failed, with the reason): it is recorded,
        and no worker takes it again until it changes."""
        self.finish_files([(claim, record)], at)

    def finish_files(self, files: Sequence[tuple[FileClaim, FileRecord]], at: datetime) -> None:
        """`finish_file` for each of these files, in two statements for them all."""
        records = [{**_columns(record), "at": at} for _, record in files]
        done = [
            {
                "key": claim.key,
                "holder": claim.holder,
                "failed": int(record.error is not None),
                "at": at,
            }
            for claim, record in files
        ]
        with self._write() as db:
            db.run_many(self._q["record_file"], records)
            db.run_many(self._q["finish_file"], done)

    # --- feeds ---------------------------------------------------------------------------

    def feed(self, url: str) -> FeedRecord | None:
        """The record of one feed, if it was polled."""
        rows = self._rows("feed", url=url)
        return _feed(rows[0]) if rows else None

    def feeds(self) -> list[FeedRecord]:
        """Every feed polled, by url."""
        return [_feed(row) for row in self._rows("feeds")]

    def claim_feed(self, url: str, holder: str, at: datetime, until: datetime) -> bool:
        """Take a feed that is due at `at` (and not gone) to poll it, until `until`; False
        when it is not due, or another worker polls it."""
        with self._db.transaction() as db:
            db.run(self._q["add_feed"], {"url": url})
            claim = {"url": url, "holder": holder, "at": at, "until": until}
            return db.run(self._q["claim_feed"], claim) == 1

    def finish_feed(self, record: FeedRecord, holder: str) -> None:
        """The feed was polled as `record` says: recorded, and the holder's claim let go."""
        row = {**_columns(record), "gone": int(record.gone), "holder": holder}
        with self._db.transaction() as db:
            db.run(self._q["finish_feed"], row)

    def keep_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """What the feed's publisher gave to ask next time whether it changed."""
        row = {"url": url, "etag": etag, "last_modified": last_modified}
        with self._db.transaction() as db:
            db.run(self._q["feed_validators"], row)

    def feed_entries(self, url: str) -> dict[str, str]:
        """The fingerprint of each entry of the feed seen, by the entry's key."""
        return {entry: fingerprint for entry, fingerprint in self._rows("feed_entries", feed=url)}

    def record_entry(
        self, url: str, entry: str, article_id: str, fingerprint: str, at: datetime
    ) -> None:
        """An entry of the feed was ingested as it reads now (its fingerprint)."""
        row = {"feed": url, "entry": entry, "article_id": article_id, "fingerprint": fingerprint}
        with self._write() as db:
            db.run(self._q["record_entry"], {**row, "at": at})

    # --- watched folders -----------------------------------------------------------------

    def first_scan_done(self, folder: str) -> bool:
        """Whether the watched folder's first scan is done (on this state)."""
        return bool(self._rows("first_scan_done", path=folder))

    def record_first_scan(self, folder: str, at: datetime) -> None:
        """The watched folder's first scan is done: what it holds from now on is new."""
        with self._db.transaction() as db:
            db.run(self._q["record_first_scan"], {"path": folder, "at": at})

    # --- articles and matches -----------------------------------------------------------

    def has_article(self, article_id: str) -> bool:
        """Whether an article with this id (this content) was ever stored, pruned or not."""
        return bool(self.known_articles([article_id]))

    def known_articles(self, article_ids: Sequence[str]) -> set[str]:
        """Those of these articles (their ids) ever stored, pruned since or not: a statement
        for many of them."""
        known: set[str] = set()
        for first in range(0, len(article_ids), _PAGE):
            some = article_ids[first : first + _PAGE]
            named = ", ".join(f":id{n}" for n in range(len(some)))
            query = self._q["known_articles"].replace("{ids}", named)
            rows = self._read(query, {f"id{n}": article_id for n, article_id in enumerate(some)})
            known.update(article_id for (article_id,) in rows)
        return known

    def add_article(
        self,
        article: Article,
        matches: Sequence[Match],
        at: datetime,
        withheld: str | None = None,
    ) -> bool:
        """Store an article with its matches, together or not at all; False when an article
        with the same content is already stored. With `withheld` (the reason), its matches
        are pending for no channel: recorded as never to be sent."""
        return self.add_articles([NewArticle(article, list(matches), withheld)], at)[0]

    def add_articles(self, articles: Sequence[NewArticle], at: datetime) -> list[bool]:
        """`add_article` for each of these articles, in order, in a few statements for them
        all; for each, False when an article with the same content is already stored."""
        with self._write() as db:
            # Its identity first: one pruned since it was stored is not stored again.
            added = [
                db.run(self._q["add_seen"], {"id": new.article.id, "at": at}) == 1
                for new in articles
            ]
            stored = list(compress(articles, added))
            if stored:
                db.run_many(
                    self._q["add_article"], [_article_row(new.article, at) for new in stored]
                )
                _add_new_matches(db, self._q, stored, at)
        return added

    def add_matches(self, article_id: str, matches: Sequence[Match], at: datetime) -> int:
        """Store more matches of a stored article (new rules); how many were new."""
        with self._write() as db:
            return _add_matches(db, self._q, article_id, matches, at)

    def revise_article(self, article: Article, matches: Sequence[Match], at: datetime) -> bool:
        """Store a new version of a stored article (an edited feed entry) with its matches:
        a rule newly matched is pending as usual, one matched before keeps its place (sent
        or not) with the new hits; False when it is not stored (pruned) or unchanged."""
        with self._write() as db:
            stored = db.rows(self._q["article_as_stored"], {"id": article.id})
            if not stored or _reads_as(article, *stored[0]):
                return False
            db.run(self._q["revise_article"], _article_row(article))
            for match in matches:
                hits = {"article_id": article.id, "rule_id": match.rule_id}
                db.run(self._q["revise_hits"], {**hits, "hits": _hits_json(match.hits)})
            _add_matches(db, self._q, article.id, matches, at)
        return True

    def articles(
        self, under: Sequence[str] = (), since: datetime | None = None
    ) -> Iterator[Article]:
        """Every stored article, or those from these files and folders, or ingested since;
        a page at a time."""
        where, params = _under(under)
        query = self._q["articles"].replace("{under}", where)
        params["since"] = since if since is not None else _EVER
        after = ""
        while True:
            rows = self._db.rows(query, {**params, "after": after, "page": _PAGE})
            yield from (_article(row) for row in rows)
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def counts(self) -> dict[str, int]:
        """Articles ingested, files failed and matches stored."""
        ingested, failed, matches = self._rows("counts")[0]
        return {"ingested": ingested, "failed": failed, "matches": matches}

    # --- what each channel has pending ----------------------------------------------------

    def channel_since(self, channel: str, at: datetime) -> datetime:
        """When `channel` first appeared (now, `at`, if it is new): its first digest's period
        starts there."""
        with self._db.transaction() as db:
            db.run(self._q["add_channel"], {"channel": channel, "at": at})
            (since,) = db.rows(self._q["channel_since"], {"channel": channel})[0]
        return _moment(since)

    def select_rules(self, channel: str, rule_ids: Iterable[str]) -> None:
        """The rules whose matches go to `channel` from now on; a rule it newly selects
        brings the matches stored from now on, not its history, and one it drops takes its
        pending matches with it."""
        wanted = set(rule_ids)
        with self._db.transaction() as db:
            held = {row[0] for row in db.rows(self._q["channel_rules"], {"channel": channel})}
            for rule_id in sorted(held - wanted):
                step = {"channel": channel, "rule_id": rule_id}
                db.run(self._q["drop_rule"], step)
                db.run(self._q["drop_pending_of_rule"], step)
            for rule_id in sorted(wanted - held):
                db.rows(self._q["lock_rule"], {"rule_id": rule_id})
                db.run(self._q["take_rule"], {"channel": channel, "rule_id": rule_id})

    def pending(self, channel: str, limit: int | None = None) -> list[StoredMatch]:
        """Matches that no digest of `channel` holds yet, of the rules it selects and stored
        since it selected them, oldest first; the first `limit` of them when given."""
        rows = self._rows("pending", channel=channel, limit=_NO_LIMIT if limit is None else limit)
        return [_stored_match(row) for row in rows]

    def pending_newest(self, channel: str, rule_id: str, limit: int) -> list[StoredMatch]:
        """The newest `limit` matches of one rule pending for `channel` (by article date)."""
        rows = self._rows("pending_newest", channel=channel, rule_id=rule_id, limit=limit)
        return [_stored_match(row) for row in rows]

    def pending_through(self, channel: str) -> int | None:
        """The id of the newest match pending for `channel`, or None when none is."""
        through: int | None = self._one("pending_through", channel=channel)
        return through

    def pending_records(self, channel: str, through: int) -> Iterator[MatchRecord]:
        """Every match pending for `channel` up to the id `through`, oldest first, without
        its article's text; a page at a time."""
        query, after = self._q["pending_records"], 0
        while True:
            params = {"channel": channel, "through": through, "after": after, "page": _PAGE}
            rows = self._db.rows(query, params)
            yield from (_match_record(row) for row in rows)
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def create_digest(
        self,
        delivery: Delivery,
        match_ids: Sequence[int],
        through: int | None = None,
        more: int = 0,
        shown: Sequence[StoryShown] = (),
    ) -> bool:
        """Write a digest and take its matches from what is pending for the channel, all or
        none: those it lists (`match_ids`), and with `through` the `more` others pending up
        to that id; and what its stories showed. False when one was taken by another
        process (or the backlog is not `more` long any more), or the digest exists."""
        try:
            with self._db.transaction() as db:
                if db.run(self._q["add_digest"], _digest_row(delivery)) != 1:
                    return False
                for match_id in match_ids:
                    item = {"channel": delivery.channel, "match_id": match_id}
                    if db.run(self._q["take_pending"], item) != 1:
                        raise _TakenError
                    db.run(self._q["add_digest_item"], {**item, "digest_id": delivery.id})
                db.run(self._q["end_throttle_hold"], {"channel": delivery.channel})
                if through is not None:
                    _take_backlog(db, self._q, delivery, through, more)
                _add_shown(db, self._q, delivery.channel, shown)
        except _TakenError:
            return False
        return True

    def stored_matches(
        self,
        rule_id: str | None = None,
        since: datetime | None = None,
        digest_id: str | None = None,
    ) -> Iterator[MatchRecord]:
        """Stored matches, oldest first: all, or of one rule, matched since, held by a
        digest; a page at a time."""
        name = "stored_matches" if digest_id is None else "digest_matches"
        params: dict[str, object] = {
            "any_rule": int(rule_id is None),
            "rule_id": rule_id or "",
            "since": since if since is not None else _EVER,
            "digest_id": digest_id or "",
            "page": _PAGE,
        }
        after = 0
        while True:
            rows = self._db.rows(self._q[name], {**params, "after": after})
            yield from (_match_record(row) for row in rows)
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def last_digest_at(self, channel: str) -> datetime | None:
        """When the channel's latest digest was made (sent or not)."""
        return _moment_or_none(self._one("last_digest_at", channel=channel))

    def stories_shown(self, channel: str, since: datetime) -> list[StoryShown]:
        """The articles the channel's digests showed in stories first shown since `since`."""
        return [
            _story_shown(row) for row in self._rows("stories_shown", channel=channel, since=since)
        ]

    def add_stories_shown(self, channel: str, shown: Sequence[StoryShown]) -> None:
        """Remember what a digest of `channel` showed; an article shown before keeps its story."""
        with self._db.transaction() as db:
            _add_shown(db, self._q, channel, shown)

    # --- mutes and throttles ------------------------------------------------------------

    def add_mute(self, mute: Mute, at: datetime) -> int:
        """Write a mute down (its `id` is not used); the id it is given."""
        row = {**_mute_row(mute), "at": at}
        with self._db.transaction() as db:
            return int(db.rows(self._q["add_mute"], row)[0][0])

    def end_mutes(self, target: str, at: datetime) -> int:
        """Unmute a target (`rule:ID`...) or one mute by its id, at `at`; how many ended."""
        mute_id = int(target) if target.isdigit() else -1
        with self._db.transaction() as db:
            return db.run(self._q["end_mutes"], {"target": target, "id": mute_id, "at": at})

    def active_mutes(self, at: datetime) -> list[Mute]:
        """The mutes on at `at`, those ending soonest first."""
        return [_mute(row) for row in self._rows("active_mutes", at=at)]

    def mutes_ending_after(self, since: datetime) -> list[Mute]:
        """The mutes that end (or ended) after `since`: those that may cover a match
        stored since then."""
        return [_mute(row) for row in self._rows("mutes_ending_after", since=since)]

    def leave_out(self, channel: str, muted: Sequence[tuple[int, Mute]], at: datetime) -> None:
        """These matches (id, and the mute that keeps each out) are not pending for the
        channel any more: dropped, or held until their mute ends."""
        with self._db.transaction() as db:
            for match_id, mute in muted:
                item = {"channel": channel, "match_id": match_id}
                db.run(self._q["take_pending"], item)
                kept = {"mute_id": mute.id, "afterwards": mute.afterwards, "at": at}
                db.run(self._q["record_muted"], {**item, **kept})

    def release_held(self, channel: str, at: datetime) -> int:
        """The matches held for the channel by mutes ended at `at` are pending again; how
        many."""
        with self._db.transaction() as db:
            released = db.run(self._q["release_held"], {"channel": channel, "at": at})
            db.run(self._q["mark_released"], {"channel": channel, "at": at})
        return released

    def listed_matches(
        self, since: datetime, rule: str | None = None, muted: bool = False, limit: int = 1000
    ) -> list[StoredMatch]:
        """Stored matches since `since`, of one rule, or only those a mute kept out; the
        oldest `limit` of them."""
        query = self._q["listed_matches"]
        query = query.replace("{rule}", "" if rule is None else "AND m.rule_id = :rule")
        kept_out = "AND EXISTS (SELECT 1 FROM muted_matches h WHERE h.match_id = m.id)"
        query = query.replace("{muted}", kept_out if muted else "")
        params: dict[str, object] = {"since": since, "limit": limit}
        if rule is not None:
            params["rule"] = rule
        return [_stored_match(row) for row in self._db.rows(query, params)]

    def muted_between(self, first: int, last: int) -> list[MutedMatch]:
        """What mutes kept out, of the matches with ids from `first` to `last`."""
        return [
            MutedMatch(channel, match_id, _mute(mute), _moment_or_none(released))
            for channel, match_id, released, *mute in self._rows(
                "muted_between", first=first, last=last
            )
        ]

    def digests_made_since(self, channel: str, since: datetime) -> int:
        """How many digests the channel made after `since`."""
        return int(self._one("digests_made_since", channel=channel, since=since))

    def hold_for_throttle(self, channel: str, at: datetime) -> None:
        """The channel's throttle holds its matches back, from `at` unless it did already;
        the channel's next digest ends the hold."""
        with self._db.transaction() as db:
            db.run(self._q["hold_for_throttle"], {"channel": channel, "at": at})

    def throttle_held_since(self, channel: str) -> datetime | None:
        """Since when the channel's throttle has held its matches back, if it has."""
        return _moment_or_none(self._one("throttle_held_since", channel=channel))

    # --- deliveries ----------------------------------------------------------------------

    def unsent_digests(self, channel: str) -> list[Delivery]:
        """Digests of `channel` written down but not yet delivered, oldest first. One that
        cannot be read back (written by another version, say) is made dead, with the
        reason, rather than hold back the channel's others."""
        unsent = []
        for row in self._rows("unsent_digests", channel=channel):
            try:
                unsent.append(_delivery(row))
            except (ValueError, TypeError) as error:
                reason = f"the stored digest cannot be read: {str(error)[:200]}"
                self.record_failure(row[0], reason, datetime.now(UTC), None)
        return unsent

    def claim_digest(self, digest_id: str, holder: str, at: datetime, until: datetime) -> bool:
        """Take the digest to deliver it, until `until`; False unless it is pending, due at
        `at` and claimed by no one (or by one whose claim has run out)."""
        claim = {"id": digest_id, "holder": holder, "at": at, "until": until}
        with self._db.transaction() as db:
            return db.run(self._q["claim_digest"], claim) == 1

    def renew_claim(self, digest_id: str, holder: str, until: datetime) -> bool:
        """Keep the holder's claim on a digest still pending until `until`; False if it lost it."""
        with self._db.transaction() as db:
            renewal = {"id": digest_id, "holder": holder, "until": until}
            return db.run(self._q["renew_claim"], renewal) == 1

    def mark_sent(self, digest_id: str, at: datetime) -> None:
        """The receiver accepted the digest."""
        with self._db.transaction() as db:
            db.run(self._q["mark_sent"], {"id": digest_id, "at": at})

    def record_failure(
        self, digest_id: str, error: str, at: datetime, retry_at: datetime | None
    ) -> None:
        """An attempt failed: try again at `retry_at`, or never (the digest is dead)."""
        status = "dead" if retry_at is None else "pending"
        failure = {"id": digest_id, "error": error, "at": at, "retry_at": retry_at}
        with self._db.transaction() as db:
            db.run(self._q["record_failure"], {**failure, "status": status})

    def revive_dead(self, channel: str, at: datetime) -> int:
        """Make the dead digests of `channel` pending again, due at `at`; how many."""
        with self._db.transaction() as db:
            return db.run(self._q["revive_dead"], {"channel": channel, "at": at})

    def channel_totals_at_once(self, channels: Iterable[str]) -> dict[str, ChannelTotals] | None:
        """The totals of `channels`, or None when reading them would wait behind another
        thread's call (a write waiting on another process's lock): a scrape does not wait."""
        with self._db.at_once() as free:
            return {name: self.channel_totals(name) for name in channels} if free else None

    def channel_totals(self, channel: str) -> ChannelTotals:
        """Pending matches, digests by state, and the last send and failure of one channel."""
        by_status: dict[str, int] = dict(self._rows("digests_by_status", channel=channel))
        failing = self._rows("last_failure", channel=channel)
        last_error, next_attempt = failing[0] if failing else (None, None)
        return ChannelTotals(
            pending=self._one("pending_count", channel=channel),
            sent=by_status.get("sent", 0),
            dead=by_status.get("dead", 0),
            retrying=self._one("retrying", channel=channel),
            last_sent=_moment_or_none(self._one("last_sent", channel=channel)),
            last_error=last_error,
            next_attempt_at=_moment_or_none(next_attempt),
        )

    def channels_with_digests(self) -> list[str]:
        """Every channel that has digests not delivered (waiting or given up on)."""
        return [row[0] for row in self._rows("channels_with_digests")]

    # --- schedule runs -------------------------------------------------------------------

    def last_run(self, channel: str) -> datetime | None:
        """When the channel's schedule last fired."""
        return _moment_or_none(self._one("last_run", channel=channel))

    def record_run(self, channel: str, at: datetime) -> None:
        """Remember that the channel's schedule fired at `at`."""
        with self._db.transaction() as db:
            db.run(self._q["record_run"], {"channel": channel, "at": at})

    def claim_slot(
        self, channel: str, slot_at: datetime, holder: str, at: datetime, until: datetime
    ) -> bool:
        """Take a slot of the channel's schedule to build its digest, until `until`; False
        when another worker has it, or it is done."""
        slot = {"channel": channel, "slot_at": slot_at, "holder": holder}
        with self._db.transaction() as db:
            return db.run(self._q["claim_slot"], {**slot, "at": at, "until": until}) == 1

    def finish_slot(self, channel: str, slot_at: datetime, at: datetime) -> None:
        """The slot's digests are built: no worker builds them again."""
        with self._db.transaction() as db:
            db.run(self._q["finish_slot"], {"channel": channel, "slot_at": slot_at, "at": at})

    # --- workers ------------------------------------------------------------------------

    def beat(self, worker: str, host: str, pid: int, at: datetime) -> None:
        """The worker is alive at `at` (the first beat says it started)."""
        with self._db.transaction() as db:
            db.run(self._q["beat"], {"id": worker, "host": host, "pid": pid, "at": at})

    def stop_worker(self, worker: str, at: datetime) -> None:
        """The worker stopped cleanly."""
        with self._db.transaction() as db:
            db.run(self._q["stop_worker"], {"id": worker, "at": at})

    def workers(self, at: datetime) -> list[WorkerRecord]:
        """The workers that have not stopped cleanly, with what each holds at `at`."""
        return [
            WorkerRecord(wid, host, pid, _moment(started), _moment(seen), *held)
            for wid, host, pid, started, seen, *held in self._rows("workers", at=at)
        ]

    # --- retention ----------------------------------------------------------------------

    def prune(
        self,
        articles_before: datetime | None,
        digests_before: datetime | None,
        dry_run: bool = False,
    ) -> Pruned:
        """Remove sent digests and articles (with their matches) older than these times,
        but nothing the outbox still owes; what was removed, or with `dry_run` would be."""
        try:
            with self._db.transaction() as db:
                pruned = _prune(db, self._q, articles_before, digests_before)
                if dry_run:
                    raise _CountedError(pruned)
        except _CountedError as counted:
            return counted.pruned
        return pruned

    # --- copying a whole state ----------------------------------------------------------

    def is_empty(self) -> bool:
        """Whether the state holds nothing yet: no article, file, digest or channel."""
        return not self._one("is_empty")

    def table_pages(self, table: str) -> Iterator[list[Row]]:
        """Every row of one of `TABLES`, a page at a time, in the order of its key."""
        columns, key = TABLES[table]
        query = (
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(key)}"
            " LIMIT :page OFFSET :offset"
        )
        packed = [columns.index(column) for column in _PACKED.get(table, ())]
        offset = 0
        while rows := self._db.rows(query, {"page": _PAGE, "offset": offset}):
            yield [_with_packed(row, packed) for row in rows] if packed else rows
            offset += len(rows)

    def add_rows(self, table: str, rows: Sequence[Row]) -> None:
        """Rows of one of `TABLES`, as another state had them, in one transaction."""
        columns, _ = TABLES[table]
        marks = ", ".join(f":{column}" for column in columns)
        query = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        with self._db.transaction() as db:
            for row in rows:
                db.run(query, dict(zip(columns, row, strict=True)))

    def copied(self) -> None:
        """Rows were copied in with their ids: make new ids follow them."""
        with self._db.transaction() as db:
            db.rows(self._q["copied"], {})

    # --- the store itself ----------------------------------------------------------------

    def unreachable(self) -> str | None:
        """Why the state cannot be reached now (a database down), if it cannot."""
        return self._db.unreachable()

    def lost(self) -> str | None:
        """Why the state opened is no longer there (its file deleted or replaced), or None."""
        return self._db.lost()

    def close(self) -> None:
        """Close the store; it cannot be used afterwards."""
        self._db.close()


def _add_matches(
    db: Transaction, q: Mapping[str, str], article_id: str, matches: Sequence[Match], at: datetime
) -> int:
    """Store the new ones of these matches, each pending for the channels taking its rule."""
    _hold_rules(db, q, matches)
    added = 0
    for match in matches:
        row = {"article_id": article_id, "rule_id": match.rule_id, "at": at}
        if db.run(q["add_match"], {**row, "hits": _hits_json(match.hits)}) == 1:
            # Only a match new to the store: one stored before may have been sent already.
            db.run(q["add_pending"], {"article_id": article_id, "rule_id": match.rule_id})
            added += 1
    return added


def _hold_rules(db: Transaction, q: Mapping[str, str], matches: Sequence[Match]) -> None:
    """No channel takes the rules of these matches while they are stored (where the backend
    needs telling: `hold_rule` is empty on SQLite)."""
    if not q["hold_rule"]:
        return
    for rule_id in sorted({match.rule_id for match in matches}):  # in order: no deadlock
        db.rows(q["hold_rule"], {"rule_id": rule_id})


def _add_new_matches(
    db: Transaction, q: Mapping[str, str], stored: Sequence[NewArticle], at: datetime
) -> None:
    """Store the matches of articles stored just now (none of their matches is stored
    yet), each pending for the channels taking its rule, or withheld: in one statement each,
    not one per match."""
    matched = [new for new in stored if new.matches]
    if not matched:
        return
    _hold_rules(db, q, [match for new in matched for match in new.matches])
    rows = [
        {"article_id": new.article.id, "rule_id": m.rule_id, "hits": _hits_json(m.hits), "at": at}
        for new in matched
        for m in new.matches
    ]
    # In order: their ids follow the articles' order, then the matcher's.
    db.run_many(q["add_match"], rows)
    db.run_many(q["add_pending_of_article"], [{"article_id": new.article.id} for new in matched])
    held = [new for new in matched if new.withheld is not None]
    if held:
        db.run_many(
            q["withhold_pending"],
            [{"article_id": new.article.id, "reason": new.withheld, "at": at} for new in held],
        )
        db.run_many(q["drop_pending_of_article"], [{"article_id": new.article.id} for new in held])


def _take_backlog(
    db: Transaction, q: Mapping[str, str], delivery: Delivery, through: int, more: int
) -> None:
    """The digest holds every match pending for its channel up to `through`: exactly the
    `more` it counted (its listed ones are taken already), or none."""
    backlog = {"channel": delivery.channel, "through": through}
    if db.run(q["add_backlog_items"], {**backlog, "digest_id": delivery.id}) != more:
        raise _TakenError
    db.run(q["take_backlog"], backlog)


def _add_shown(
    db: Transaction, q: Mapping[str, str], channel: str, shown: Sequence[StoryShown]
) -> None:
    """Remember what a digest of `channel` showed; an article shown before keeps its story."""
    for row in shown:
        db.run(
            q["add_story_shown"],
            {
                "channel": channel,
                "article_id": row.article_id,
                "signature": row.signature,
                "story_id": row.story.id,
                "first_sent": row.first_sent,
            },
        )


def _prune(
    db: Transaction,
    q: Mapping[str, str],
    articles_before: datetime | None,
    digests_before: datetime | None,
) -> Pruned:
    """Sent digests first, then articles: an article's match held by a digest just removed
    is owed to no one."""
    digests = 0
    if digests_before is not None:
        db.run(q["prune_digest_items"], {"digests_before": digests_before})
        digests = db.run(q["prune_digests"], {"digests_before": digests_before})
    if articles_before is None:
        return Pruned(digests=digests)
    before = {"articles_before": articles_before}
    db.run(q["prune_match_items"], before)
    db.run(q["prune_withheld"], before)
    matches = db.run(q["prune_matches"], before)
    db.run(q["prune_muted"], {})
    articles = db.run(q["prune_articles"], before)
    db.run(q["prune_stories"], {})
    (owed,) = db.rows(q["owed_articles"], before)[0]
    return Pruned(articles, matches, digests, owed)


def _with_packed(row: Row, packed: Sequence[int]) -> Row:
    """A row to copy, its packed columns packed whatever the state it comes from kept."""
    values = list(row)
    for at in packed:
        values[at] = _packed(values[at])
    return tuple(values)


def _under(paths: Sequence[str]) -> tuple[str, dict[str, object]]:
    """SQL for articles from one of these files, or from a file inside one of these folders."""
    if not paths:
        return "", {}
    each = " OR ".join(
        f"path = :path{n} OR substr(path, 1, length(CAST(:folder{n} AS TEXT))) = :folder{n}"
        for n in range(len(paths))
    )
    params: dict[str, object] = {}
    for n, path in enumerate(paths):
        params |= {f"path{n}": path, f"folder{n}": path.rstrip(os.sep) + os.sep}
    return f"AND ({each})", params


def _article(row: Sequence[Any]) -> Article:
    article_id, title, body, day, source, url, path, author, language, site = row
    return Article(
        id=article_id,
        title=title,
        body=unpack(body),
        date=day if isinstance(day, date) else date.fromisoformat(day),
        path=path,
        source=source,
        url=url,
        author=author,
        language=language,
        site=site,
    )


def _columns(record: object) -> dict[str, object]:
    """A record's fields as the columns of its row: dataclasses.asdict would copy each
    value deeply, for nothing (the fields are plain values)."""
    return dict(vars(record))


def _article_row(article: Article, at: datetime | None = None) -> dict[str, object]:
    """An article's columns, its body packed; with `at`, when it is stored."""
    row = _columns(article)
    row["body"] = pack(article.body)
    if at is not None:
        row["at"] = at
    return row


def _reads_as(
    article: Article, title: str, body: object, day: object, url: str | None, author: str | None
) -> bool:
    """Whether a stored article (these columns of it) reads as `article` does."""
    stored_day = day if isinstance(day, date) else date.fromisoformat(str(day))
    return (title, unpack(body), stored_day, url or "", author or "") == (
        article.title,
        article.body,
        article.date,
        article.url or "",
        article.author or "",
    )


def pack(text: str) -> bytes:
    """Text as the state keeps a long one (an article's body, a digest's document and
    rendered forms): UTF-8, zlib-compressed. A 3 KB article takes about half."""
    return isal_zlib.compress(text.encode("utf-8"), _PACK_LEVEL)


def unpack(value: object) -> str:
    """Text kept packed (`pack`), or as it was kept before packing: text, or (on PostgreSQL,
    moved to bytes by the upgrade) a zero byte and the UTF-8 text. A zlib stream never
    begins with a zero byte."""
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"not text, nor packed text: {type(value).__name__}")
    data = bytes(value)
    if data[:1] == _UNPACKED:
        return data[1:].decode("utf-8")
    try:
        return zlib.decompress(data).decode("utf-8")
    except zlib.error:  # plain text written as bytes by an older wirewatch still running
        return data.decode("utf-8", "replace")


def _packed(value: object) -> bytes | None:
    """A packed column's value as every backend keeps it from now on: packed bytes."""
    if value is None:
        return None
    return pack(unpack(value))


def _feed(row: Sequence[Any]) -> FeedRecord:
    url, etag, modified, next_poll, success, error, since, failures, gone = row
    return FeedRecord(
        url=url,
        etag=etag,
        last_modified=modified,
        next_poll=_moment_or_none(next_poll),
        last_success=_moment_or_none(success),
        last_error=error,
        error_since=_moment_or_none(since),
        failures=failures,
        gone=bool(gone),
    )


# As json.dumps(..., ensure_ascii=False) writes, without making an encoder at each call.
_JSON = json.JSONEncoder(ensure_ascii=False)


# A term, field or participant as JSON text: the same few, over and over.
_text_json = lru_cache(maxsize=4096)(_JSON.encode)


def _hits_json(hits: Iterable[Hit]) -> str:
    """Hits as the JSON text `_JSON` makes of a list of their fields, written out: each match
    of each article has some, and this takes less than half the time of the encoder."""
    return (
        "["
        + ", ".join(
            f'{{"term": {_text_json(h.term)}, "field": {_text_json(h.field)}, "start": {h.start}, '
            f'"end": {h.end}, "participant": {_text_json(h.participant)}}}'
            for h in hits
        )
        + "]"
    )


def _story_shown(row: Sequence[Any]) -> StoryShown:
    article_id, signature, first_sent, *story = row
    return StoryShown(article_id, signature, _article(story), _moment(first_sent))


def _stored_match(row: Sequence[Any]) -> StoredMatch:
    match_id, rule_id, hits, matched_at, *article = row
    return StoredMatch(
        id=match_id,
        rule_id=rule_id,
        article=_article(article),
        hits=tuple(Hit(**hit) for hit in json.loads(hits)),
        matched_at=_moment(matched_at),
    )


def _mute_row(mute: Mute) -> dict[str, object]:
    return {
        "target": mute.target,
        "until": mute.until,
        "afterwards": mute.afterwards,
        "reason": mute.reason,
        "created_by": mute.created_by,
    }


def _mute(row: Sequence[Any]) -> Mute:
    mute_id, target, until, afterwards, reason, created_by, created_at, ended_at = row
    return Mute(
        id=int(mute_id),
        target=target,
        until=_moment(until),
        afterwards=afterwards,
        reason=reason,
        created_by=created_by,
        created_at=_moment_or_none(created_at),
        ended_at=_moment_or_none(ended_at),
    )


def _match_record(row: Sequence[Any]) -> MatchRecord:
    match_id, rule_id, hits, matched_at, article_id, title, day, source, url, path = row
    found = dict.fromkeys(hit["participant"] for hit in json.loads(hits) if hit["participant"])
    return MatchRecord(
        id=match_id,
        rule_id=rule_id,
        article_id=article_id,
        title=title,
        date=day if isinstance(day, date) else date.fromisoformat(day),
        source=source,
        url=url,
        path=path,
        participants=tuple(found),
        matched_at=_moment(matched_at),
    )


def _digest_row(delivery: Delivery) -> dict[str, object]:
    rendered = delivery.rendered
    return {
        "id": delivery.id,
        "channel": delivery.channel,
        "created_at": delivery.created_at,
        "document": pack(json.dumps(delivery.digest.document())),
        "rendered": None if rendered is None else pack(json.dumps(asdict(rendered))),
    }


def _delivery(row: Sequence[Any]) -> Delivery:
    _id, _channel, _created, status, attempts, document, rendered, last_error, *times = row
    sent_at, next_attempt_at, first_failure_at, claimed_until = map(_moment_or_none, times)
    return Delivery(
        digest=Digest.from_document(json.loads(unpack(document))),
        rendered=None if rendered is None else Rendered(**json.loads(unpack(rendered))),
        status=status,
        attempts=attempts,
        last_error=last_error,
        sent_at=sent_at,
        next_attempt_at=next_attempt_at,
        first_failure_at=first_failure_at,
        claimed_until=claimed_until,
    )


def _moment(value: object) -> datetime:
    """A stored time as an aware datetime in UTC, whether the backend gave one or ISO 8601
    text."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _moment_or_none(value: object) -> datetime | None:
    return None if value is None else _moment(value)
