"""Turn one file into stored, matched articles; a file that cannot be read is recorded, not lost."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from zoneinfo import ZoneInfo

from worker.ingest.formats import parse_file
from worker.match.matcher import Matcher
from worker.model import Article, FileRecord, Match
from worker.store import Store

__all__ = ["Ingested", "Ingestor"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Ingested:
    """What became of one file."""

    path: str
    new_articles: int = 0
    matches: dict[str, list[Match]] = field(default_factory=dict)
    error: str | None = None
    unchanged: bool = False


_STILL_WRITTEN = "changed while it was read (still being written?); read again when it changes"


_FEED_ARTICLES = 100


class Ingestor:
    """Reads files into the store and matches their new articles (the per-file error boundary)."""

    def __init__(
        self,
        store: Store,
        matcher: Callable[[], Matcher],
        max_bytes: int,
        clock: Clock = lambda: datetime.now(UTC),
        zone: ZoneInfo = _UTC,
    ) -> None:
        self._store = store
        self._matcher = matcher
        self._max_bytes = max_bytes
        self._clock = clock
        self._zone = zone  # an article without a date has its file's, in this zone

    def ingest(self, path: Path, retry_failed: bool = False) -> Ingested:
        """Ingest `path` unless it is unchanged since it was last seen (or last failed)."""
        key = str(path)
        try:
            return self._ingest(path, key, retry_failed)
        except Exception as error:  # one bad file must never stop the others
            log.exception("%s: could not be ingested", key)
            return self._fail_unexpectedly(path, key, error)

    def _ingest(self, path: Path, key: str, retry_failed: bool) -> Ingested:
        reason: str | None = None
        try:
            stat = path.stat()
        except FileNotFoundError:
            log.debug("%s: gone before it could be read", key)
            return Ingested(key, unchanged=True)
        except OSError as error:  # a link loop, say: lstat still tells when it changes
            stat, reason = path.lstat(), _read_error(error)
        known = self._store.file(key)
        if known is not None and known.up_to_date(stat, retry_failed):
            return Ingested(key, unchanged=True)
        if reason is None:
            reason = _not_a_file(stat) or _too_large(stat.st_size, self._limit(path))
        if reason is not None:
            return self._fail(key, stat, reason)
        try:
            data = path.read_bytes()
            after = path.stat()
        except FileNotFoundError:
            return Ingested(key, unchanged=True)
        except OSError as error:
            return self._fail(key, stat, _read_error(error))
        if (after.st_size, after.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            # Half an article must not be stored: the writer's next change brings it whole.
            return self._fail(key, stat, _STILL_WRITTEN)
        return self._store_file(key, stat, data)

    def _limit(self, path: Path) -> int:
        # A feed (.jsonl) holds many articles and grows line by line: the limit is on an
        # article's file, so a feed may hold a hundred of them before it is refused.
        return self._max_bytes * (_FEED_ARTICLES if path.suffix.lower() == ".jsonl" else 1)

    def _store_file(self, key: str, stat: os.stat_result, data: bytes) -> Ingested:
        modified = datetime.fromtimestamp(stat.st_mtime, self._zone).date()
        parsed = parse_file(key, data, modified)
        for warning in parsed.warnings:
            log.warning("%s: %s", key, warning)
        outcome = self._store_articles(key, parsed.articles)
        reason = "; ".join(parsed.problems) or None
        if reason:
            log.warning("%s: %s", key, reason)
        self._store.record_file(_record(key, stat, reason), self._clock())
        return replace(outcome, error=reason)

    def _store_articles(self, key: str, articles: Iterable[Article]) -> Ingested:
        matcher = self._matcher()
        new, matched = 0, {}
        for article in articles:
            if self._store.has_article(article.id):
                log.debug("%s: same content as article %s, already ingested", key, article.id)
                continue
            matches = matcher.match(article)
            # The article and its matches are stored together: a crash between the two
            # would leave an article that is never matched again.
            if not self._store.add_article(article, matches, self._clock()):
                continue  # another process stored it just now
            new += 1
            if matches:
                matched[article.id] = matches
                rules = ", ".join(match.rule_id for match in matches)
                log.info("%s: '%s' matched %s", key, article.title, rules)
            else:
                log.info("%s: '%s' matched no rule", key, article.title)
        return Ingested(key, new, matched)

    def _fail(self, key: str, stat: os.stat_result, reason: str) -> Ingested:
        """Record why the file failed: logged now, and again only once the file changes."""
        log.warning("%s: %s", key, reason)
        self._store.record_file(_record(key, stat, reason), self._clock())
        return Ingested(key, error=reason)

    def _fail_unexpectedly(self, path: Path, key: str, error: Exception) -> Ingested:
        reason = f"could not be ingested ({type(error).__name__}: {error}); see the log"
        try:
            self._store.record_file(_record(key, path.lstat(), reason), self._clock())
        except Exception:  # the store itself may be what failed; the log has it
            log.debug("%s: the failure could not be recorded", key, exc_info=True)
        return Ingested(key, error=reason)


def _record(key: str, stat: os.stat_result, error: str | None) -> FileRecord:
    return FileRecord(key, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, error)


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
