"""A backtest: what rules would have matched among stored articles, day by day, the newest
shown with why, and what a draft gains and loses against the live rule of its id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

from worker.match.backtest import backtest, backtest_json, backtest_text
from worker.match.matcher import Matcher
from worker.model import Article
from worker.rules.ruleset import Keywords, Rule, RuleSet

SINCE = datetime(2024, 5, 1, tzinfo=UTC)
LIVE = RuleSet({}, (Rule(id="gas", keywords=Keywords(any=("gas",))),))
DRAFT = RuleSet(
    {},
    (
        Rule(id="gas", title="Gas and oil", query="(gas OR oil) AND NOT sport"),
        Rule(id="wheat", query="wheat"),
    ),
)


def stored() -> Iterator[Article]:
    """Articles as the store hands them out: by id, not by date."""
    bodies = {
        "a": ("gas deal signed", date(2024, 5, 3)),
        "b": ("oil price up", date(2024, 5, 1)),
        "c": ("gas and sport", date(2024, 5, 3)),
        "d": ("wheat harvest, gas too", date(2024, 5, 2)),
        "e": ("nothing of note", date(2024, 5, 2)),
    }
    for article_id, (body, day) in bodies.items():
        yield Article(article_id, f"Article {article_id}", body, day, f"/inbox/{article_id}.txt")


def test_counts_per_day_and_the_newest_matched_first() -> None:
    result = backtest(stored(), Matcher(DRAFT), ["gas", "wheat"], SINCE, shown=2)
    assert result.articles == 5
    gas, wheat = result.rules
    assert gas.matched == 3
    assert gas.per_day == ((date(2024, 5, 1), 1), (date(2024, 5, 2), 1), (date(2024, 5, 3), 1))
    assert [a.id for a in gas.newest] == ["a", "d"]  # two of three: the newest
    assert gas.change is None  # nothing to compare with
    assert [a.id for a in wheat.newest] == ["d"]


def test_a_draft_against_the_live_rule_of_its_id() -> None:
    result = backtest(
        stored(), Matcher(DRAFT), ["gas", "wheat"], SINCE, live=Matcher(LIVE), live_ids=["gas"]
    )
    gas, wheat = result.rules
    assert gas.change is not None
    assert gas.change.live_matched == 3
    assert (gas.change.gained, gas.change.lost) == (1, 1)
    assert [a.id for a in gas.change.gained_newest] == ["b"]  # oil
    assert [a.id for a in gas.change.lost_newest] == ["c"]  # sport
    assert wheat.change is None  # a new rule: nothing live to compare with


def test_the_text_shows_each_day_the_change_and_why() -> None:
    matcher = Matcher(DRAFT)
    result = backtest(
        stored(), matcher, ["gas"], SINCE, live=Matcher(LIVE), live_ids=["gas"], shown=1
    )
    text = backtest_text(result, DRAFT, matcher)
    assert text.splitlines()[:8] == [
        "5 articles stored since 2024-05-01 00:00+00:00",
        "",
        "gas (Gas and oil): would have matched 3 articles (60%)",
        "  2024-05-01      1  " + "█" * 40,
        "  2024-05-02      1  " + "█" * 40,
        "  2024-05-03      1  " + "█" * 40,
        "  against the live rule (3 matched): 1 gained, 1 lost",
        "    + Article b (2024-05-01) /inbox/b.txt",
    ]
    assert "    - Article c (2024-05-03) /inbox/c.txt" in text
    assert "  the 1 newest, and why:" in text
    assert "      ✓ gas  Gas and oil" in text  # the explanation `match` gives
    assert "[gas] deal signed" in text


def test_the_json_document() -> None:
    matcher = Matcher(DRAFT)
    result = backtest(
        stored(), matcher, ["gas"], SINCE, live=Matcher(LIVE), live_ids=["gas"], shown=1
    )
    document = backtest_json(result, DRAFT, matcher)
    (rule,) = document["rules"]
    assert document["since"] == "2024-05-01T00:00:00+00:00"
    assert document["articles"] == 5
    assert rule["rule"] == "gas"
    assert rule["matched"] == 3
    assert rule["share"] == 0.6
    assert rule["per_day"] == {"2024-05-01": 1, "2024-05-02": 1, "2024-05-03": 1}
    (newest,) = rule["newest"]
    assert newest["article"]["id"] == "a"  # the entry `match --json` gives
    assert newest["matches"][0]["hits"][0]["text"] == "gas"
    assert rule["live"] == {
        "matched": 3,
        "gained": {
            "count": 1,
            "newest": [
                {"id": "b", "title": "Article b", "date": "2024-05-01", "path": "/inbox/b.txt"}
            ],
        },
        "lost": {
            "count": 1,
            "newest": [
                {"id": "c", "title": "Article c", "date": "2024-05-03", "path": "/inbox/c.txt"}
            ],
        },
    }


def test_nothing_stored() -> None:
    result = backtest(iter(()), Matcher(DRAFT), ["wheat"], SINCE)
    assert result.articles == 0
    assert backtest_text(result, DRAFT, Matcher(DRAFT)).splitlines()[2] == (
        "wheat: would have matched 0 articles"
    )
