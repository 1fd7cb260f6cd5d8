"""Raw articles into a real store: read by their format, matched, stored once; what cannot
be read is said, and a fault never escapes."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from worker.ingest.ingestor import Ingestor
from worker.match.matcher import Matcher
from worker.model import RawArticle
from worker.rules.ruleset import Keywords, Rule, RuleSet
from worker.store import Store, open_store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MATCHER = Matcher(RuleSet({}, (Rule(id="gas", keywords=Keywords(any=("gas",))),)))


def raw(text: str, form: str = ".txt", uri: str = "/inbox/a.txt") -> RawArticle:
    return RawArticle(uri, text.encode(), form, NOW, NOW, path=uri)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(str(tmp_path / "state.db"))
    opened.channel_since("local", NOW)
    opened.select_rules("local", ["gas"])
    yield opened
    opened.close()


def ingestor(store: Store, zone: str = "UTC") -> Ingestor:
    return Ingestor(store, lambda: MATCHER, lambda: NOW, ZoneInfo(zone))


def test_an_article_is_matched_and_stored_once_whatever_its_file(store: Store) -> None:
    text = " date 2024-05-16 Gas talks\n\nChina and Russia discussed gas.\n"
    first = ingestor(store).ingest(raw(text))
    assert (first.new_articles, first.rule_ids(), first.error) == (1, {"gas"}, None)
    again = ingestor(store).ingest(raw(text, uri="/inbox/copy.txt"))  # the same content
    assert (again.new_articles, again.matches) == (0, {})
    (pending,) = store.pending("local")
    assert (pending.article.title, pending.article.path) == ("Gas talks", "/inbox/a.txt")


def test_files_matched_first_are_stored_together_each_article_once(store: Store) -> None:
    talks = " date 2024-05-16 Gas talks\n\nChina and Russia discussed gas.\n"
    read = ingestor(store)
    matched = [
        read.match(raw(talks, uri="/inbox/a.txt")),
        read.match(raw("   \n", uri="/inbox/empty.txt")),
        read.match(raw(talks, uri="/inbox/copy.txt")),  # the same content: not stored yet
        read.match(raw("Rain\n\nRain fell.\n", uri="/inbox/rain.txt")),
    ]
    assert store.counts()["ingested"] == 0  # nothing stored while matching
    outcomes = read.store(matched)
    assert [(o.uri, o.new_articles, o.known, o.error) for o in outcomes] == [
        ("/inbox/a.txt", 1, 0, None),
        ("/inbox/empty.txt", 0, 0, "empty file"),
        ("/inbox/copy.txt", 0, 1, None),
        ("/inbox/rain.txt", 1, 0, None),
    ]
    assert outcomes[0].rule_ids() == {"gas"}
    (pending,) = store.pending("local")
    assert pending.article.path == "/inbox/a.txt"


def test_each_article_of_a_feed_is_stored_and_a_bad_line_said(store: Store) -> None:
    feed = '{"title": "Gas talks", "body": "Gas."}\nnot json\n{"title": "Oil", "body": "Oil."}\n'
    outcome = ingestor(store).ingest(raw(feed, ".jsonl", "/inbox/feed.jsonl"))
    assert outcome.new_articles == 2
    assert outcome.error == "line 2: not valid JSON: Expecting value at line 1 column 1"
    assert store.counts() == {"ingested": 2, "failed": 0, "matches": 1}


def test_an_article_the_store_refuses_costs_only_itself(store: Store, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "state.db") as db:  # a statement that fails for one only
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.title = 'Poison'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    feed = "".join(
        json.dumps({"title": title, "body": f"{title} gas."}) + "\n"
        for title in ("Gas talks", "Poison", "Oil")
    )
    outcome = ingestor(store).ingest(raw(feed, ".jsonl", "/inbox/feed.jsonl"))
    assert outcome.new_articles == 2
    assert outcome.error is not None
    assert outcome.error.startswith("1 article could not be stored (")
    assert sorted(a.title for a in store.articles()) == ["Gas talks", "Oil"]


def test_what_cannot_be_read_is_said_and_nothing_is_stored(store: Store) -> None:
    assert ingestor(store).ingest(raw("   \n")).error == "empty file"
    assert store.counts()["ingested"] == 0


def test_an_undated_article_has_the_date_it_changed_in_the_config_time_zone(store: Store) -> None:
    late_evening = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 07:30 the next day in Beijing
    found = RawArticle("/inbox/a.txt", b"Gas talks\n\nGas.\n", ".txt", late_evening, NOW)
    ingestor(store, "Asia/Shanghai").ingest(found)
    (pending,) = store.pending("local")
    assert pending.article.date == date(2026, 11, 24)


def test_an_article_from_no_file_has_no_path(store: Store) -> None:
    found = RawArticle("feed:entry-1", b"Gas talks\n\nGas.\n", ".txt", NOW, NOW)
    ingestor(store).ingest(found)
    (pending,) = store.pending("local")
    assert pending.article.path is None


def test_a_fault_is_said_and_never_escapes(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    store.close()  # the store fails under it
    outcome = ingestor(store).ingest(raw("Gas talks\n\nGas.\n"))
    assert outcome.new_articles == 0
    assert outcome.error is not None
    assert outcome.error.startswith("could not be ingested (ProgrammingError")
    (logged,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged.getMessage() == "/inbox/a.txt: could not be ingested"
