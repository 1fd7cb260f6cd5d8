"""A backtest: rules run over articles already stored, and what they would have matched —
counts per day, the newest articles matched, and what changed against the live rule of
the same id. What `wirewatch match --stored` shows and `check` measures a rule's share by.

Pure: the articles come from the caller, a page at a time, and only counts and the few
articles shown are kept, so a state of any size is read in bounded memory.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from worker.match.explain import Report, render_text, report_json
from worker.match.matcher import Matcher
from worker.model import Article
from worker.rules.ruleset import RuleSet

__all__ = [
    "SHOWN",
    "Backtest",
    "Change",
    "RuleBacktest",
    "backtest",
    "backtest_json",
    "backtest_text",
]

SHOWN = 10  # matched articles shown for each rule unless asked for more or fewer
_BAR = 40  # the widest bar of the counts per day


@dataclass
class _Newest:
    """The `keep` newest articles offered (by date, then id), in bounded memory."""

    keep: int
    _heap: list[tuple[date, str, Article]] = field(default_factory=list)

    def offer(self, article: Article) -> None:
        entry = (article.date, article.id, article)
        if len(self._heap) < self.keep:
            heapq.heappush(self._heap, entry)
        elif self.keep and entry[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, entry)

    def articles(self) -> tuple[Article, ...]:
        """Newest first."""
        return tuple(entry[2] for entry in sorted(self._heap, key=lambda e: e[:2], reverse=True))


@dataclass(frozen=True)
class Change:
    """What a rule matches that its live version does not (gained), and the reverse (lost)."""

    live_matched: int
    gained: int
    lost: int
    gained_newest: tuple[Article, ...]
    lost_newest: tuple[Article, ...]


@dataclass(frozen=True)
class RuleBacktest:
    """What one rule would have matched."""

    rule_id: str
    matched: int
    per_day: tuple[tuple[date, int], ...]  # by the article's date, oldest first
    newest: tuple[Article, ...]
    change: Change | None  # None when no live rule has its id


@dataclass(frozen=True)
class Backtest:
    """Rules run over the articles stored since a moment."""

    since: datetime
    articles: int
    rules: tuple[RuleBacktest, ...]


@dataclass
class _Tally:
    """One rule's counts while the articles go by."""

    shown: int
    live: bool
    days: Counter[date] = field(default_factory=Counter)
    newest: _Newest = field(init=False)
    live_matched: int = 0
    gained: int = 0
    lost: int = 0
    gained_newest: _Newest = field(init=False)
    lost_newest: _Newest = field(init=False)

    def __post_init__(self) -> None:
        self.newest, self.gained_newest, self.lost_newest = (_Newest(self.shown) for _ in "abc")

    def count(self, article: Article, now: bool, before: bool) -> None:
        if now:
            self.days[article.date] += 1
            self.newest.offer(article)
        self.live_matched += before
        if now and not before and self.live:
            self.gained += 1
            self.gained_newest.offer(article)
        if before and not now:
            self.lost += 1
            self.lost_newest.offer(article)

    def result(self, rule_id: str) -> RuleBacktest:
        change = None
        if self.live:
            change = Change(
                self.live_matched,
                self.gained,
                self.lost,
                self.gained_newest.articles(),
                self.lost_newest.articles(),
            )
        per_day = tuple(sorted(self.days.items()))
        return RuleBacktest(rule_id, self.days.total(), per_day, self.newest.articles(), change)


def backtest(
    articles: Iterable[Article],
    rules: Matcher,
    rule_ids: Sequence[str],
    since: datetime,
    live: Matcher | None = None,
    live_ids: Iterable[str] = (),
    shown: int = SHOWN,
) -> Backtest:
    """Run `rules` (the ids `rule_ids` of them) over `articles`; against `live` (holding
    the live rules `live_ids`) for the rules with one of those ids."""
    had = set(live_ids) if live is not None else set()
    tallies = {rule_id: _Tally(shown, rule_id in had) for rule_id in rule_ids}
    read = 0
    for article in articles:
        read += 1
        now = set(rules.rule_ids(article))
        before = set() if live is None else set(live.rule_ids(article))
        for rule_id, tally in tallies.items():
            tally.count(article, rule_id in now, rule_id in before)
    return Backtest(since, read, tuple(t.result(rule_id) for rule_id, t in tallies.items()))


# --- as the user reads it -------------------------------------------------------------------


def backtest_text(result: Backtest, rules: RuleSet, matcher: Matcher) -> str:
    """The backtest as `match --stored` prints it."""
    since = result.since.isoformat(sep=" ", timespec="minutes")
    lines = [f"{_articles(result.articles)} stored since {since}"]
    for outcome in result.rules:
        lines += ["", *_rule_lines(outcome, result.articles, rules, matcher)]
    return "\n".join(lines)


def _rule_lines(
    outcome: RuleBacktest, articles: int, rules: RuleSet, matcher: Matcher
) -> Iterator[str]:
    rule = rules.rule(outcome.rule_id)
    title = f" ({rule.title})" if rule.title != rule.id else ""
    share = f" ({outcome.matched / articles:.0%})" if articles else ""
    yield f"{rule.id}{title}: would have matched {_articles(outcome.matched)}{share}"
    widest = max((n for _, n in outcome.per_day), default=0)
    for day, count in outcome.per_day:
        yield f"  {day}  {count:>5}  {'█' * max(1, count * _BAR // widest)}"
    if outcome.change is not None:
        yield from _change_lines(outcome.change)
    if outcome.newest:
        yield f"  the {len(outcome.newest)} newest, and why:"
    for article in outcome.newest:
        report = Report(_where(article), article, (matcher.explain(article, rule.id),))
        yield from ("    " + line for line in render_text(report, rules).splitlines())


def _change_lines(change: Change) -> Iterator[str]:
    yield (
        f"  against the live rule ({change.live_matched} matched):"
        f" {change.gained} gained, {change.lost} lost"
    )
    for mark, newest in (("+", change.gained_newest), ("-", change.lost_newest)):
        for article in newest:
            yield f"    {mark} {article.title} ({article.date}) {_where(article)}"


def _where(article: Article) -> str:
    """Where the article was read: its file, or the address of a feed's entry."""
    return article.path or article.url or f"article {article.id}"


def _articles(count: int) -> str:
    return f"{count} article" + ("" if count == 1 else "s")


def backtest_json(result: Backtest, rules: RuleSet, matcher: Matcher) -> dict[str, Any]:
    """The `match --stored --json` document (the shape is in docs/testing-rules.md)."""
    return {
        "since": result.since.isoformat(),
        "articles": result.articles,
        "rules": [_rule_json(outcome, result.articles, rules, matcher) for outcome in result.rules],
    }


def _rule_json(
    outcome: RuleBacktest, articles: int, rules: RuleSet, matcher: Matcher
) -> dict[str, Any]:
    rule = rules.rule(outcome.rule_id)
    newest = [
        report_json(Report(_where(a), a, (matcher.explain(a, rule.id),)), rules)
        for a in outcome.newest
    ]
    return {
        "rule": rule.id,
        "title": rule.title,
        "matched": outcome.matched,
        "share": round(outcome.matched / articles, 4) if articles else 0.0,
        "per_day": {day.isoformat(): count for day, count in outcome.per_day},
        "newest": newest,
        "live": None if outcome.change is None else _change_json(outcome.change),
    }


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "matched": change.live_matched,
        "gained": {"count": change.gained, "newest": list(map(_brief, change.gained_newest))},
        "lost": {"count": change.lost, "newest": list(map(_brief, change.lost_newest))},
    }


def _brief(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "date": article.date.isoformat(),
        "path": article.path,
    }
