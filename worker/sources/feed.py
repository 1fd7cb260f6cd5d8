"""Feeds as a source of raw articles: each feed polled when due, each entry new once.

A feed is due every `every` (give or take a tenth, so that many feeds do not all go at
once), later after failures (twice as long each time, and never before a Retry-After),
never again once its publisher said 410 Gone. Whether it is due, and who polls it now,
lives in the store: any worker polls it, one at a time. Each entry is handed out as a raw
article (format `.entry`) whose identity is its feed and its key (id, else link, else
content); an entry seen before is handed out again only when it was edited.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from worker.errors import StateError, StateUnavailable, StoppingError
from worker.health import Health
from worker.model import FeedRecord, RawArticle
from worker.notify.retry_after import retry_after_seconds
from worker.settings.config import Feed
from worker.sources.entries import Entry, FeedDocument, NotAFeedError, read_feed
from worker.sources.fetch import Fetched, Fetcher, FetchError, RefusedError, origin
from worker.store import FeedsSeen

__all__ = ["ENTRY_FORMAT", "FeedSource", "entry_identity"]

log = logging.getLogger(__name__)

ENTRY_FORMAT = ".entry"
_TICK = 0.5  # how often the poller looks for a feed that is due
_JITTER = 0.1  # polls come every `every`, give or take this share of it
_LONGEST_BACKOFF = timedelta(hours=6)
_POLLERS = 4  # feeds polled at once
_PAGE_TYPES = ("html", "xml", "text/plain")
# A feed is in trouble (`feed:NAME` in /healthz, and told to the `alerts:` channels) once
# this many polls in a row have failed, or it is gone: one timeout is no trouble.
_TROUBLE_AFTER = 3

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class _Handed:
    """An entry handed out as a raw article and not yet done."""

    feed: str  # its feed's url
    key: str
    fingerprint: str


@dataclass(frozen=True)
class _Answer:
    """What a feed's publisher answered to this poll."""

    record: FeedRecord  # the feed as it stands after the poll
    entries: tuple[RawArticle, ...] = ()
    etag: str | None = None  # to keep once the entries are in
    last_modified: str | None = None


def entry_identity(feed_url: str, key: str) -> str:
    """The id of the article an entry of a feed is: its feed and its key, whatever it says."""
    return hashlib.sha256(f"{feed_url}\n{key}".encode()).hexdigest()[:16]


class FeedSource:
    """The feeds of `sources:`, polled when due; their new and edited entries handed out."""

    def __init__(
        self,
        feeds: Iterable[Feed],
        store: FeedsSeen,
        fetcher: Fetcher,
        clock: Clock,
        holder: str,
        spread: Callable[[], float],
        health: Health | None = None,
    ) -> None:
        self._feeds = {feed.url: feed for feed in feeds}
        self._health = health
        self._watched = False  # a watch has ended: a poll it left running tells nothing
        self._store = store
        self._fetcher = fetcher
        self._clock = clock
        self._holder = holder
        self._spread = spread
        self._handed: dict[str, _Handed] = {}  # by article id
        self._waiting: dict[str, tuple[int, str | None, str | None]] = {}  # validators by feed
        self._lock = threading.Lock()
        self._arrived: queue.Queue[RawArticle] = queue.Queue()
        self._due: dict[str, float] = {}  # when each feed is looked at again (monotonic)
        self._now_polled: set[str] = set()  # the feeds this worker polls now

    def owns(self, raw: RawArticle) -> bool:
        """Whether this source handed out `raw`."""
        return raw.format == ENTRY_FORMAT

    def scan(self, retry_failed: bool = False) -> Iterator[RawArticle | None]:
        """Poll every feed that is due, now; their new and edited entries, None between."""
        with ThreadPoolExecutor(max_workers=_POLLERS) as pool:
            for raws in pool.map(self.poll, self._feeds.values()):
                yield from raws
                yield None

    @contextmanager
    def watch(self) -> Iterator[Iterator[RawArticle | None]]:
        """Poll each feed when due while the block lasts, in threads of its own."""
        stop = threading.Event()
        poller = threading.Thread(target=self._polling, args=(stop,), name="feeds", daemon=True)
        self._watched = False
        self._tell_health_stored()
        poller.start()
        try:
            yield self._arrivals(stop)
        finally:
            stop.set()
            poller.join()
            self._watched = True  # its troubles stand until the next watch tells them anew

    def ready(self) -> Iterator[RawArticle]:
        """The entries polled since last asked, without waiting."""
        while True:
            try:
                yield self._arrived.get_nowait()
            except queue.Empty:
                return

    def _arrivals(self, stop: threading.Event) -> Iterator[RawArticle | None]:
        while not stop.is_set():
            try:
                yield self._arrived.get(timeout=_TICK)
            except queue.Empty:
                yield None

    def _polling(self, stop: threading.Event) -> None:
        """Start a poll of each feed that is due, a few at once. Each in a daemon thread: a
        stop never waits for a slow publisher (a poll cut short is polled again)."""
        while not stop.wait(_TICK):
            for feed in self._feeds.values():
                if len(self._now_polled) >= _POLLERS:
                    break
                if feed.url in self._now_polled or time.monotonic() < self._due.get(feed.url, 0):
                    continue
                name = f"feed {feed.title}"
                poller = threading.Thread(target=self._poll_into_queue, args=(feed,), name=name)
                poller.daemon = True
                poller.start()

    def _poll_into_queue(self, feed: Feed) -> None:
        for raw in self.poll(feed):
            self._arrived.put(raw)

    def put_back(self, raw: RawArticle, error: StateUnavailable | None = None) -> None:
        """An entry the state could not take now: handed out again a little later."""
        later = threading.Timer(_TICK * 4, self._arrived.put, args=(raw,))
        later.daemon = True
        later.start()

    def done(self, raw: RawArticle, problem: str | None) -> None:
        """The entry was ingested: it is not handed out again unless it is edited."""
        handed = self._handed.get(raw.identity or "")
        if handed is None:
            return
        self._store.record_entry(
            handed.feed, handed.key, raw.identity or "", handed.fingerprint, self._clock()
        )
        with self._lock:
            self._handed.pop(raw.identity or "", None)
            left, etag, modified = self._waiting.get(handed.feed, (0, None, None))
            if left > 1:
                self._waiting[handed.feed] = (left - 1, etag, modified)
                return
            self._waiting.pop(handed.feed, None)
        self._store.keep_validators(handed.feed, etag, modified)

    # --- one poll -------------------------------------------------------------------------

    def poll(self, feed: Feed) -> list[RawArticle]:
        """Poll the feed if it is due and no other worker (nor this one) polls it: its new
        and edited entries, oldest first. Never raises for what the feed or its server does."""
        with self._lock:
            if feed.url in self._now_polled:
                return []
            self._now_polled.add(feed.url)
        try:
            return self._poll(feed)
        finally:
            with self._lock:
                self._now_polled.discard(feed.url)

    def _poll(self, feed: Feed) -> list[RawArticle]:
        now = self._clock()
        try:
            if not self._store.claim_feed(feed.url, self._holder, now, now + _claim(feed)):
                self._next_look(feed)
                return []
            before = self._store.feed(feed.url) or FeedRecord(feed.url)
            answer = self._answer(feed, before, now)
            self._store.finish_feed(answer.record, self._holder)
        except StateError:  # said once by the store; the feed is looked at again soon
            self._due[feed.url] = time.monotonic() + _TICK * 4
            return []
        except StoppingError:  # a poll the stop left running: polled again at the next start
            return []
        _tell_change(feed, before, answer.record)
        self._hand_out(feed, answer)
        self._next_look(feed, answer.record)
        return list(answer.entries)

    def _next_look(self, feed: Feed, record: FeedRecord | None = None) -> None:
        """When to look at the feed again; and its trouble, as this poll or another
        worker's left it."""
        record = record or self._store.feed(feed.url)
        self._health_of(feed, record)
        if record is None or record.next_poll is None:
            self._due[feed.url] = time.monotonic() + _TICK
            return
        wait = (record.next_poll - self._clock()).total_seconds()
        self._due[feed.url] = time.monotonic() + max(wait, _TICK)

    def _hand_out(self, feed: Feed, answer: _Answer) -> None:
        with self._lock:
            if not answer.entries:
                if answer.etag or answer.last_modified:
                    self._store.keep_validators(feed.url, answer.etag, answer.last_modified)
                return
            self._waiting[feed.url] = (len(answer.entries), answer.etag, answer.last_modified)

    def _answer(self, feed: Feed, before: FeedRecord, now: datetime) -> _Answer:
        """Fetch and read the feed: the record after the poll, with its new entries."""
        asked = dict(feed.headers)
        if before.etag:
            asked["If-None-Match"] = before.etag
        if before.last_modified:
            asked["If-Modified-Since"] = before.last_modified
        try:
            fetched = self._get(feed, feed.url, asked)
        except FetchError as error:
            return _Answer(self._failed(feed, before, now, str(error), error.retry_after))
        try:
            return self._read(feed, before, fetched, now)
        except StateError:
            raise
        except Exception as error:  # a fault of ours, or of a library: never the daemon's end
            fields = {"event": "feed.failed", "feed": feed.url}
            log.exception("feed %s: could not be read", feed.title, extra=fields)
            told = f"could not be read ({type(error).__name__}: {error}); see the log"
            return _Answer(self._failed(feed, before, now, told))

    def _get(self, feed: Feed, url: str, headers: dict[str, str]) -> Fetched:
        return self._fetcher.get(
            url,
            headers,
            int(feed.max_mb * 1_000_000),
            feed.timeout.total_seconds(),
            trusted=origin(feed.url),
            allow_private=feed.allow_private,
        )

    def _read(self, feed: Feed, before: FeedRecord, fetched: Fetched, now: datetime) -> _Answer:
        status = fetched.status
        if status == 304:
            return _Answer(self._succeeded(feed, before, now, None))
        if status == 410:
            gone = replace(self._failed(feed, before, now, "gone (410)"), gone=True)
            return _Answer(gone)
        if status != 200:
            wait = (
                retry_after_seconds(fetched.headers.get("retry-after"), now)
                if status in (429, 503)
                else None
            )
            return _Answer(self._failed(feed, before, now, _status_text(status), wait))
        try:
            document = read_feed(fetched.body, fetched.headers.get("content-type", ""))
        except NotAFeedError as error:
            return _Answer(self._failed(feed, before, now, str(error)))
        record = self._succeeded(feed, before, now, document.problem)
        etag, modified = fetched.headers.get("etag"), fetched.headers.get("last-modified")
        return _Answer(record, tuple(self._new_entries(feed, document, now)), etag, modified)

    def _new_entries(
        self, feed: Feed, document: FeedDocument, now: datetime
    ) -> Iterator[RawArticle]:
        """The entries not seen as they read now, oldest first (feeds list the newest first)."""
        seen = self._store.feed_entries(feed.url)
        taken: set[str] = set()
        for entry in reversed(document.entries):
            if entry.key in taken or seen.get(entry.key) == entry.fingerprint:
                continue
            taken.add(entry.key)
            identity = entry_identity(feed.url, entry.key)
            with self._lock:
                self._handed[identity] = _Handed(feed.url, entry.key, entry.fingerprint)
            yield self._raw(feed, entry, identity, now)

    def _raw(self, feed: Feed, entry: Entry, identity: str, now: datetime) -> RawArticle:
        page = self._page(feed, entry) if feed.fetch == "full" else None
        said = {
            "title": entry.title,
            "summary": entry.summary,
            "url": entry.link,
            "date": (entry.published or now).isoformat(),
            "author": entry.author,
            "source": feed.title,
            "page": None if page is None else base64.b64encode(page).decode("ascii"),
        }
        return RawArticle(
            uri=entry.link or f"{feed.url}#{entry.key}",
            data=json.dumps(said, ensure_ascii=False).encode("utf-8"),
            format=ENTRY_FORMAT,
            modified=entry.published or now,
            seen_at=now,
            identity=identity,
        )

    def _page(self, feed: Feed, entry: Entry) -> bytes | None:
        """The page an entry links to, or None (its summary is read instead): refused when
        it leads to an internal address, unless the feed allows it."""
        if entry.link is None:
            return None
        told = {"event": "feed.page", "feed": feed.url, "entry": entry.link}
        try:
            fetched = self._get(feed, entry.link, {})
        except RefusedError as error:
            told["event"] = "feed.refused"
            log.warning("feed %s: entry '%s': %s", feed.title, entry.title, error, extra=told)
            return None
        except FetchError as error:
            told["error"] = str(error)
            log.info(
                "feed %s: entry '%s': page not fetched (%s); its summary is read",
                feed.title,
                entry.title,
                error,
                extra=told,
            )
            return None
        kind = fetched.headers.get("content-type", "text/html").lower()
        if fetched.status != 200 or not any(page in kind for page in _PAGE_TYPES):
            log.info(
                "feed %s: entry '%s': page not read (%s); its summary is read",
                feed.title,
                entry.title,
                _status_text(fetched.status) if fetched.status != 200 else kind,
                extra=told,
            )
            return None
        return fetched.body

    # --- how a poll went ------------------------------------------------------------------

    def _tell_health_stored(self) -> None:
        """Each feed's trouble as the state has it, before this process polls it (a feed
        failing before a restart or an edit is in trouble still); a feed an edit left out
        of the config is in trouble no more."""
        if self._health is None:
            return
        parts = {f"feed:{feed.title}" for feed in self._feeds.values()}
        for trouble in self._health.troubles():
            if trouble.part.startswith("feed:") and trouble.part not in parts:
                self._health.report(trouble.part, None)
        for feed in self._feeds.values():
            try:
                record = self._store.feed(feed.url)
            except StateError:  # said once by the store; the next poll tells it
                return
            if record is not None:
                self._health_of(feed, record)

    def _health_of(self, feed: Feed, record: FeedRecord | None) -> None:
        if self._health is not None and not self._watched:
            self._health.report(f"feed:{feed.title}", None if record is None else _trouble(record))

    def _succeeded(
        self, feed: Feed, before: FeedRecord, now: datetime, problem: str | None
    ) -> FeedRecord:
        since = before.error_since if problem is not None and before.last_error else None
        return replace(
            before,
            next_poll=now + self._jittered(feed.every),
            last_success=now,
            last_error=problem,
            error_since=since or (now if problem is not None else None),
            failures=0,
        )

    def _failed(
        self,
        feed: Feed,
        before: FeedRecord,
        now: datetime,
        error: str,
        wait: float | None = None,
    ) -> FeedRecord:
        failures = before.failures + 1
        backoff = min(feed.every * 2 ** min(failures - 1, 10), max(feed.every, _LONGEST_BACKOFF))
        if wait is not None:
            backoff = max(backoff, timedelta(seconds=wait))
        return replace(
            before,
            next_poll=now + self._jittered(backoff),
            last_error=error,
            error_since=before.error_since or now,
            failures=failures,
        )

    def _jittered(self, wait: timedelta) -> timedelta:
        return wait * (1 + _JITTER * (2 * self._spread() - 1))


def _trouble(record: FeedRecord) -> str | None:
    """What is wrong with a feed, for /healthz and the alerts: gone, or failing poll after poll."""
    if record.gone:
        return "gone (410): no longer polled; remove it from sources: or fix its url"
    if record.failures < _TROUBLE_AFTER or record.error_since is None:
        return None
    since = record.error_since.isoformat(timespec="seconds")
    return f"failing since {since}: {record.last_error}"


def _claim(feed: Feed) -> timedelta:
    """How long a worker holds a feed it polls: long enough for its pages, and no longer
    than it would wait before the next poll anyway."""
    return max(feed.every, 4 * feed.timeout)


def _status_text(status: int) -> str:
    known = {404: "not found (404)", 401: "needs a login (401)", 403: "forbidden (403)"}
    return known.get(status, f"the server answered {status}")


def _tell_change(feed: Feed, before: FeedRecord, after: FeedRecord) -> None:
    """One line per change of a feed's state: failing (and why), gone, or back."""
    fields: dict[str, object] = {"event": "feed.state", "feed": feed.url}
    if after.gone and not before.gone:
        told = "feed %s: gone (410): no longer polled; remove it from sources: or fix its url"
        log.warning(told, feed.title, extra=fields | {"error": "gone"})
    elif after.last_error is not None and after.last_error != before.last_error:
        next_try = after.next_poll.isoformat(timespec="seconds") if after.next_poll else "soon"
        fields |= {"error": after.last_error, "next_try": next_try}
        log.warning(
            "feed %s: %s; next try %s", feed.title, after.last_error, next_try, extra=fields
        )
    elif after.last_error is None and before.last_error is not None:
        log.info("feed %s: read again (was: %s)", feed.title, before.last_error, extra=fields)
