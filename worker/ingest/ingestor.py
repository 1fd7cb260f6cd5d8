"""Raw articles in: read by their format, matched, and stored with their matches. The
per-article error boundary: what cannot be read is said, and never stops the others."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache, partial
from itertools import islice
from typing import TypeVar
from zoneinfo import ZoneInfo

from worker.errors import StateError
from worker.ingest.formats import Parsed, parse
from worker.match.matcher import Matcher
from worker.model import Article, Match, NewArticle, RawArticle
from worker.store import Articles
from worker.wording import plural, quoted

__all__ = ["Ingested", "Ingestor", "Matched"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_UTC = ZoneInfo("UTC")
_Done = TypeVar("_Done")


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


@dataclass(frozen=True)
class Matched:
    """A raw article read and its new articles matched, not stored yet: the first half of
    ingesting it. Or what became of it already (it failed, or it was an edit stored)."""

    raw: RawArticle
    parsed: Parsed = field(default_factory=Parsed)
    new: list[NewArticle] = field(default_factory=list)  # to store, in the order read
    known: list[str] = field(default_factory=list)  # the ids of its articles stored before
    done: Ingested | None = None


class Ingestor:
    """Reads raw articles into the store and matches the new ones.

    In two halves, so that many raw articles are all read and matched first, then stored
    together in a few statements: `match_all`, then `store`. Each kind of work done for many
    articles in a row runs faster than taking turns article by article, where each pushes
    the others' data out of the processor's caches."""

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
        return self.store([self.match(raw)])[0]

    def match(self, raw: RawArticle) -> Matched:
        """The articles in `raw`, read, and the new ones matched (an edited feed entry is
        stored at once); or why it failed."""
        return self.match_all([raw])[0]

    def match_all(self, raws: Sequence[RawArticle]) -> list[Matched]:
        """`match` of each raw article: all of them read first, then all matched."""
        parsed = [self._guarded(raw, partial(self._read, raw)) for raw in raws]
        ids = [a.id for each in parsed if isinstance(each, Parsed) for a in each.articles]
        stored = cache(partial(self._articles.known_articles, ids))  # one look-up for all
        return [
            each
            if isinstance(each, Matched)
            else self._guarded(raw, partial(self._match, raw, each, stored))
            for raw, each in zip(raws, parsed, strict=True)
        ]

    def _guarded(self, raw: RawArticle, step: Callable[[], _Done]) -> _Done | Matched:
        """What the step gave, or why it failed: one bad file must never stop the others."""
        try:
            return step()
        except StateError:  # not the file's fault: it waits and is read again, or all stop
            raise
        except Exception as error:
            return Matched(raw, done=_failed(raw, error))

    def store(self, matched: Sequence[Matched]) -> list[Ingested]:
        """Store the new articles of each with their matches, together: what became of each.
        For one, what fails is said as its failure; for several, raised (in a batch, all
        is undone: each may then be stored on its own, to tell which one fails)."""
        if len(matched) == 1 and matched[0].done is None:
            try:
                return self._store(matched)
            except StateError:
                raise
            except Exception as error:
                if len(matched[0].new) < 2:
                    return [_failed(matched[0].raw, error)]
                return [self._store_each(matched[0])]
        return self._store(matched)

    def _store_each(self, matched: Matched) -> Ingested:
        """A file of several articles that could not be stored together: each stored on its
        own, so one the store refuses costs only itself; its failure is the file's."""
        kept: list[NewArticle] = []
        added: list[bool] = []
        refused: list[str] = []
        for each in matched.new:
            try:
                added += self._articles.add_articles([each], self._clock())
            except StateError:
                raise
            except Exception as error:
                fields = {"event": "file.failed", "path": matched.raw.uri, "error": _told(error)}
                told = "%s: article %s could not be stored"
                log.exception(told, quoted(matched.raw.uri), each.article.id, extra=fields)
                refused.append(each.article.id)
                continue
            kept.append(each)
        outcome = self._stored(replace(matched, new=kept), added)
        if not refused:
            return outcome
        ids = ", ".join(refused)
        why = f"{plural(len(refused), 'article')} could not be stored ({ids}); see the log"
        return replace(outcome, error="; ".join(filter(None, [outcome.error, why])))

    def _read(self, raw: RawArticle) -> Parsed:
        return parse(raw, raw.modified.astimezone(self._zone).date())

    def _match(
        self, raw: RawArticle, parsed: Parsed, stored_before: Callable[[], set[str]]
    ) -> Matched:
        """The new articles of `raw` matched; `stored_before`: the ids of those stored."""
        stored = stored_before()
        if raw.identity is not None and len(parsed.articles) == 1:
            article = parsed.articles[0]
            if article.id in stored:
                _told_read(raw.uri, parsed.warnings, ())
                return Matched(raw, done=self._finished(parsed, self._revise(raw, article)))
        matcher, new, known = self._matcher(), dict[str, NewArticle](), []
        for article in parsed.articles:
            if article.id in new or article.id in stored:
                known.append(article.id)
                continue
            new[article.id] = NewArticle(article, matcher.match(article), raw.withheld)
        return Matched(raw, parsed, list(new.values()), known)

    def _store(self, matched: Sequence[Matched]) -> list[Ingested]:
        new = [article for each in matched if each.done is None for article in each.new]
        added = iter(self._articles.add_articles(new, self._clock()) if new else ())
        return [
            each.done if each.done is not None else self._stored(each, islice(added, len(each.new)))
            for each in matched
        ]

    def _stored(self, matched: Matched, added: Iterable[bool]) -> Ingested:
        """What became of one raw article's articles, told: its new ones and their matches
        (each told at INFO when it is the file's one article, else at DEBUG: a feed of many
        articles is told in one line, `_summarise`)."""
        uri, parsed = matched.raw.uri, matched.parsed
        _told_read(uri, parsed.warnings, matched.known)
        level = logging.INFO if len(parsed.articles) == 1 else logging.DEBUG
        new, known, found = 0, len(matched.known), {}
        for each, stored in zip(matched.new, added, strict=True):
            if not stored:  # stored just now, from another file or by another process
                log.debug("%s: article %s is stored already", quoted(uri), each.article.id)
                known += 1
                continue
            new += 1
            if each.matches:
                found[each.article.id] = each.matches
            _told_stored(uri, each.article, each.matches, level)
        return self._finished(parsed, Ingested(uri, new, found, known=known))

    def _finished(self, parsed: Parsed, outcome: Ingested) -> Ingested:
        """The outcome, with why a part of the raw article could not be read, told."""
        if len(parsed.articles) > 1:
            _summarise(outcome, len(parsed.articles))
        reason = "; ".join(parsed.problems) or None
        if reason is None:
            return outcome  # the file read whole: nothing to add (most files)
        fields = {"event": "file.failed", "path": outcome.uri, "error": reason}
        log.warning("%s: %s", quoted(outcome.uri), reason, extra=fields)
        return replace(outcome, error=reason)

    def _revise(self, raw: RawArticle, article: Article) -> Ingested:
        """A new version of an article whose identity its source gave (a feed's entry),
        stored and matched again (what it newly matches is pending as usual)."""
        uri = raw.uri
        matches = self._matcher().match(article)
        if not self._articles.revise_article(article, matches, self._clock()):
            log.debug("%s: article %s is stored as it reads", quoted(uri), article.id)
            return Ingested(uri, known=1)
        fields = {"event": "article.revised", "path": uri, "article": article.id}
        rules = ", ".join(match.rule_id for match in matches) or "no rule"
        log.info("%s: '%s' edited; matches %s", quoted(uri), article.title, rules, extra=fields)
        return Ingested(uri, known=1, matches={article.id: matches} if matches else {})


def _told_read(uri: str, warnings: Iterable[str], known: Iterable[str]) -> None:
    """What reading the raw article found: its warnings, and the articles stored before."""
    for warning in warnings:
        log.warning("%s: %s", quoted(uri), warning, extra={"event": "file.warning", "path": uri})
    for article_id in known:
        log.debug("%s: same content as article %s, already ingested", quoted(uri), article_id)


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


def _failed(raw: RawArticle, error: Exception) -> Ingested:
    """Why the raw article could not be ingested, told."""
    fields = {"event": "file.failed", "path": raw.uri, "error": _told(error)}
    log.exception("%s: could not be ingested", quoted(raw.uri), extra=fields)
    return Ingested(raw.uri, error=f"could not be ingested ({_told(error)}); see the log")


def _told(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"
