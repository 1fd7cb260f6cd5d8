"""Match stored articles again, against the rules as they are now; only new matches are kept.

A match already stored (and so perhaps already sent) is never stored, or sent, twice:
the store keeps one match per article and rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from worker.match.matcher import Matcher
from worker.model import Article
from worker.store import Articles
from worker.wording import quoted

__all__ = ["Rematched", "rematch"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Rematched:
    """What a rematch did: articles matched again, and the matches among them that are new."""

    articles: int = 0
    new_matches: int = 0


def rematch(
    store: Articles,
    matcher: Matcher,
    under: Sequence[str] = (),
    clock: Clock = lambda: datetime.now(UTC),
    progress: Callable[[Iterable[Article]], Iterable[Article]] = lambda articles: articles,
    since: datetime | None = None,
) -> Rematched:
    """Match the stored articles (all, or those from files under `under`, or those
    ingested `since`) again."""
    articles = new = 0
    for article in progress(store.articles(under, since)):
        articles += 1
        matches = matcher.match(article)
        added = store.add_matches(article.id, matches, clock())
        new += added
        if added:
            rules = [match.rule_id for match in matches]
            fields = {"event": "article.rematched", "path": article.path, "article": article.id}
            log.info(
                "%s: '%s' matched again: %d new of %s",
                quoted(article.path),
                article.title,
                added,
                ", ".join(rules),
                extra=fields | {"rule": rules},
            )
    return Rematched(articles, new)
