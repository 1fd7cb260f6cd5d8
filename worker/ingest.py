"""Turn one file into stored, matched articles; a file that cannot be read is recorded, not lost."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from worker.articles import Article, parse_file
from worker.match import Match, Matcher
from worker.store import FileRecord, Store

__all__ = ["Ingested", "Ingestor"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Ingested:
    """What became of one file."""

    path: str
    new_articles: int = 0
    matches: dict[str, list[Match]] = field(default_factory=dict)
    error: str | None = None
    unchanged: bool = False


class Ingestor:
    """Reads files into the store and matches their new articles (the per-file error boundary)."""

    def __init__(
        self,
        store: Store,
        matcher: Callable[[], Matcher],
        max_bytes: int,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._matcher = matcher
        self._max_bytes = max_bytes
        self._clock = clock

    def ingest(self, path: Path) -> Ingested:
        """Ingest `path` unless it is unchanged since it was last seen."""
        key = str(path)
        try:
            return self._ingest(path, key)
        except Exception as error:  # one bad file must never stop the others
            log.exception("%s: could not be ingested: %s", key, error)
            return Ingested(key, error=str(error))

    def _ingest(self, path: Path, key: str) -> Ingested:
        try:
            stat = path.stat()
        except FileNotFoundError:
            log.debug("%s: gone before it could be read", key)
            return Ingested(key, unchanged=True)
        known = self._store.file(key)
        if known is not None and known.unchanged(stat.st_size, stat.st_mtime_ns):
            return Ingested(key, unchanged=True)
        record = FileRecord(key, stat.st_size, stat.st_mtime_ns, None)
        if stat.st_size > self._max_bytes:
            return self._fail(replace(record, error=_too_large(stat.st_size, self._max_bytes)))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return Ingested(key, unchanged=True)
        except OSError as error:
            return self._fail(replace(record, error=_read_error(error)))
        modified = datetime.fromtimestamp(stat.st_mtime, UTC).date()
        parsed = parse_file(key, data, modified)
        for warning in parsed.warnings:
            log.warning("%s: %s", key, warning)
        outcome = self._store_articles(key, parsed.articles)
        reason = "; ".join(parsed.problems) or None
        if reason:
            log.warning("%s: %s", key, reason)
        self._store.record_file(replace(record, error=reason), self._clock())
        return replace(outcome, error=reason)

    def _store_articles(self, key: str, articles: Iterable[Article]) -> Ingested:
        matcher = self._matcher()
        new, matched = 0, {}
        for article in articles:
            now = self._clock()
            if not self._store.add_article(article, now):
                log.info("%s: same content as article %s, already ingested", key, article.id)
                continue
            new += 1
            matches = matcher.match(article)
            self._store.add_matches(article.id, matches, now)
            if matches:
                matched[article.id] = matches
                rules = ", ".join(match.rule_id for match in matches)
                log.info("%s: '%s' matched %s", key, article.title, rules)
            else:
                log.info("%s: '%s' matched no rule", key, article.title)
        return Ingested(key, new, matched)

    def _fail(self, record: FileRecord) -> Ingested:
        log.warning("%s: %s", record.path, record.error)
        self._store.record_file(record, self._clock())
        return Ingested(record.path, error=record.error)


def _read_error(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied; make the file readable by the user running wirewatch"
    if isinstance(error, IsADirectoryError):
        return "is a folder, not a file"
    return f"cannot be read: {error.strerror or error}"


def _too_large(size: int, limit: int) -> str:
    return (
        f"file is {size / 1e6:.1f} MB, over the {limit / 1e6:g} MB limit;"
        " raise ingest.max_file_mb in the config to take it"
    )
