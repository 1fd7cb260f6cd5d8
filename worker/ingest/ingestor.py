"""Raw articles in: read by their format, matched, and stored with their matches. The
per-article error boundary: what cannot be read is said, and never stops the others."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from worker.errors import StateError
from worker.ingest.formats import parse
from worker.match.matcher import Matcher
from worker.model import Article, Match, RawArticle
from worker.store import Articles

__all__ = ["Ingested", "Ingestor"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Ingested:
    """What became of one raw article (a file, say): its new articles and their matches."""

    uri: str
    new_articles: int = 0
    matches: dict[str, list[Match]] = field(default_factory=dict)  # by article id
    error: str | None = None  # why it, or part of it, could not be read

    def rule_ids(self) -> set[str]:
        """The rules its new articles matched."""
        return {match.rule_id for found in self.matches.values() for match in found}


class Ingestor:
    """Reads raw articles into the store and matches the new ones."""

    def __init__(
        self,
        articles: Articles,
        matcher: Callable[[], Matcher],
        clock: Clock = lambda: datetime.now(UTC),
        zone: ZoneInfo = _UTC,
    ) -> None:
        self._articles = articles
        self._matcher = matcher
        self._clock = clock
        self._zone = zone  # an article without a date has its file's, in this zone

    def ingest(self, raw: RawArticle) -> Ingested:
        """Read, match and store the articles in `raw`; an article stored before is skipped."""
        try:
            return self._ingest(raw)
        except StateError:  # not the file's fault: it waits and is read again, or all stop
            raise
        except Exception as error:  # one bad file must never stop the others
            log.exception("%s: could not be ingested", raw.uri)
            return Ingested(raw.uri, error=f"could not be ingested ({_told(error)}); see the log")

    def _ingest(self, raw: RawArticle) -> Ingested:
        parsed = parse(raw, raw.modified.astimezone(self._zone).date())
        for warning in parsed.warnings:
            log.warning("%s: %s", raw.uri, warning)
        outcome = self._store(raw.uri, parsed.articles)
        reason = "; ".join(parsed.problems) or None
        if reason:
            log.warning("%s: %s", raw.uri, reason)
        return replace(outcome, error=reason)

    def _store(self, uri: str, articles: Iterable[Article]) -> Ingested:
        matcher = self._matcher()
        new, matched = 0, {}
        for article in articles:
            if self._articles.has_article(article.id):
                log.debug("%s: same content as article %s, already ingested", uri, article.id)
                continue
            matches = matcher.match(article)
            # The article and its matches are stored together: a crash between the two
            # would leave an article that is never matched again.
            if not self._articles.add_article(article, matches, self._clock()):
                continue  # another process stored it just now
            new += 1
            if matches:
                matched[article.id] = matches
                rules = ", ".join(match.rule_id for match in matches)
                log.info("%s: '%s' matched %s", uri, article.title, rules)
            else:
                log.info("%s: '%s' matched no rule", uri, article.title)
        return Ingested(uri, new, matched)


def _told(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"
