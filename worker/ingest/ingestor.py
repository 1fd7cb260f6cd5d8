"""Raw articles in: read by their format, matched, and stored with their matches. The
per-article error boundary: what cannot be read is said, and never stops the others."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from worker.errors import StateError
from worker.ingest.formats import parse
from worker.match.matcher import Matcher
from worker.model import Article, Match, RawArticle
from worker.store import Articles
from worker.wording import plural, quoted

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
    known: int = 0  # its articles stored before, from this file or another

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
            fields = {"event": "file.failed", "path": raw.uri, "error": _told(error)}
            log.exception("%s: could not be ingested", quoted(raw.uri), extra=fields)
            return Ingested(raw.uri, error=f"could not be ingested ({_told(error)}); see the log")

    def _ingest(self, raw: RawArticle) -> Ingested:
        parsed = parse(raw, raw.modified.astimezone(self._zone).date())
        for warning in parsed.warnings:
            fields = {"event": "file.warning", "path": raw.uri}
            log.warning("%s: %s", quoted(raw.uri), warning, extra=fields)
        one_by_one = len(parsed.articles) == 1
        if raw.identity is not None and one_by_one:
            outcome = self._store_entry(raw, parsed.articles[0])
        else:
            outcome = self._store(raw, parsed.articles, one_by_one)
        if not one_by_one and parsed.articles:
            _summarise(outcome, len(parsed.articles))
        reason = "; ".join(parsed.problems) or None
        if reason is None:
            return outcome  # the file read whole: nothing to add (most files)
        fields = {"event": "file.failed", "path": raw.uri, "error": reason}
        log.warning("%s: %s", quoted(raw.uri), reason, extra=fields)
        return replace(outcome, error=reason)

    def _store(self, raw: RawArticle, articles: Iterable[Article], one_by_one: bool) -> Ingested:
        """Store the new articles with their matches (sent to no channel when the raw
        article says why); each told at INFO when `one_by_one`, else at DEBUG (a feed of
        many articles is told in one line, `_summarise`)."""
        uri, matcher = raw.uri, self._matcher()
        new, known, matched = 0, 0, {}
        for article in articles:
            if self._articles.has_article(article.id):
                log.debug(
                    "%s: same content as article %s, already ingested", quoted(uri), article.id
                )
                known += 1
                continue
            matches = matcher.match(article)
            # The article and its matches are stored together: a crash between the two
            # would leave an article that is never matched again.
            if not self._articles.add_article(article, matches, self._clock(), raw.withheld):
                known += 1
                continue  # another process stored it just now
            new += 1
            if matches:
                matched[article.id] = matches
            _told_stored(uri, article, matches, logging.INFO if one_by_one else logging.DEBUG)
        return Ingested(uri, new, matched, known=known)

    def _store_entry(self, raw: RawArticle, article: Article) -> Ingested:
        """Store an article whose identity its source gave (a feed's entry): new, or a new
        version of one stored, matched again (what it newly matches is pending as usual)."""
        uri = raw.uri
        if not self._articles.has_article(article.id):
            return self._store(raw, [article], one_by_one=True)
        matches = self._matcher().match(article)
        if not self._articles.revise_article(article, matches, self._clock()):
            log.debug("%s: article %s is stored as it reads", quoted(uri), article.id)
            return Ingested(uri, known=1)
        fields = {"event": "article.revised", "path": uri, "article": article.id}
        rules = ", ".join(match.rule_id for match in matches) or "no rule"
        log.info("%s: '%s' edited; matches %s", quoted(uri), article.title, rules, extra=fields)
        return Ingested(uri, known=1, matches={article.id: matches} if matches else {})


def _told_stored(uri: str, article: Article, matches: list[Match], level: int) -> None:
    """The line for one article stored: the rules it matched, or none (at DEBUG)."""
    if not log.isEnabledFor(level if matches else logging.DEBUG):
        return  # not logged: its fields are not made either (one per article)
    fields: dict[str, object] = {"event": "article.stored", "path": uri, "article": article.id}
    if not matches:
        log.debug("%s: '%s' matched no rule", quoted(uri), article.title, extra=fields)
        return
    rules = [match.rule_id for match in matches]
    fields |= {"event": "article.matched", "rule": rules}
    log.log(
        level, "%s: '%s' matched %s", quoted(uri), article.title, ", ".join(rules), extra=fields
    )


def _summarise(outcome: Ingested, articles: int) -> None:
    """One line for a file of many articles: how many were new, matched, and by which rule."""
    by_rule = Counter(m.rule_id for found in outcome.matches.values() for m in found)
    rules = ", ".join(f"{rule} {count}" for rule, count in by_rule.most_common())
    fields = {
        "event": "file.ingested",
        "path": outcome.uri,
        "articles": articles,
        "new": outcome.new_articles,
        "known": outcome.known,
        "matched": len(outcome.matches),
        "rules": dict(by_rule),
    }
    log.info(
        "%s: %s: %d new, %d already known; %d matched%s",
        quoted(outcome.uri),
        plural(articles, "article"),
        outcome.new_articles,
        outcome.known,
        len(outcome.matches),
        f" ({rules})" if rules else "",
        extra=fields,
    )


def _told(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"
