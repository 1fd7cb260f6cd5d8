"""Who of the participants an article names, found as rules find them: what a digest shows
beside each article, whatever its rule asked for."""

from __future__ import annotations

from collections.abc import Callable

from worker.match.matcher import Matcher
from worker.model import Article
from worker.rules.ruleset import ParticipantCondition, Rule, RuleSet

__all__ = ["people_finder"]


def people_finder(rules: RuleSet) -> Callable[[Article], list[str]]:
    """A function giving the ids of the participants an article names, in the order it
    first names them (its title first)."""
    if not rules.participants:
        return lambda article: []
    everyone = ParticipantCondition(any=tuple(rules.participants))
    matcher = Matcher(RuleSet(rules.participants, (Rule(id="people", participants=everyone),)))

    def named_in(article: Article) -> list[str]:
        hits = [hit for match in matcher.match(article) for hit in match.hits]
        hits.sort(key=lambda hit: (hit.field != "title", hit.start))
        return list(dict.fromkeys(hit.participant for hit in hits if hit.participant))

    return named_in
