"""Matching stored articles again: new matches are kept, a match stored before never twice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from worker.ingest.rematch import Rematched, rematch
from worker.match.matcher import Matcher
from worker.model import Article
from worker.rules.ruleset import Rule, RuleSet
from worker.store import open_store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def article(n: int, body: str, folder: str = "/inbox") -> Article:
    return Article(f"a{n}", f"Title {n}", body, date(2024, 5, 1), f"{folder}/{n}.txt")


def matcher(*queries: str) -> Matcher:
    rules = tuple(Rule(id=f"r{i}", query=query) for i, query in enumerate(queries))
    return Matcher(RuleSet(participants={}, rules=rules))


def test_a_new_rule_finds_stored_articles_and_nothing_is_stored_twice(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "state.db"))
    store.channel_since("local", NOW)
    store.select_rules("local", ["r0"])
    for a in (article(1, "Gas talks"), article(2, "Oil talks"), article(3, "Sports")):
        store.add_article(a, matcher("talks").match(a), NOW)
    assert store.counts()["matches"] == 2
    before = store.pending("local")

    assert rematch(store, matcher("talks", "gas OR oil"), clock=lambda: NOW) == Rematched(3, 2)
    assert store.counts()["matches"] == 4
    # the matches stored before are the same rows, untouched
    assert [m.id for m in store.pending("local")] == [m.id for m in before]
    assert rematch(store, matcher("talks", "gas OR oil"), clock=lambda: NOW) == Rematched(3, 0)


def test_only_the_articles_of_the_paths_given(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "state.db"))
    store.channel_since("local", NOW)
    store.select_rules("local", ["r0"])
    store.add_article(article(1, "Gas", folder="/inbox/energy"), [], NOW)
    store.add_article(article(2, "Gas", folder="/inbox/other"), [], NOW)
    done = rematch(store, matcher("gas"), ["/inbox/energy"], clock=lambda: NOW)
    assert done == Rematched(1, 1)
    assert [m.article.id for m in store.pending("local")] == ["a1"]
