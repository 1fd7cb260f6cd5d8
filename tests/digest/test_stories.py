"""One entry per story, end to end: the seeds, an article of several rules, the same story
from several outlets, a story's later articles as updates within `realert`, and all of it
across restarts (what was shown is read back from the state)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import SEED_TITLES, Project, make_project
from worker.cli import main
from worker.digest.build import build_digest
from worker.digest.render import Renderer
from worker.model import Article, Digest, Hit, RawArticle, StoredMatch
from worker.notify import Clients
from worker.notify.messages import message_for
from worker.pipeline import Pipeline, load_setup
from worker.rules.ruleset import Keywords, Rule, RuleSet
from worker.store import open_store

pytestmark = pytest.mark.timeout(120)

FIXTURES = Path(__file__).parent / "fixtures" / "stories.json"
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def outlets(story: str) -> list[dict[str, str]]:
    """The fixture articles of one story, as outlets published them."""
    stories = json.loads(FIXTURES.read_text(encoding="utf-8"))["stories"]
    (found,) = [entry["outlets"] for entry in stories if entry["story"] == story]
    return list(found)


def drop(project: Project, name: str, outlet: dict[str, str]) -> Path:
    """An outlet's article as a JSON file in the inbox."""
    path = project.inbox / f"{name}.json"
    url = f"https://{outlet['source'].lower().replace(' ', '-')}.example/{name}"
    document = {**outlet, "date": "2026-11-21", "url": url}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


class Clock:
    """The time the pipeline believes it is; a test moves it on."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def pipeline_of(project: Project, clock: Clock) -> Iterator[Pipeline]:
    """The project's pipeline, with its state opened anew: each is a restart."""
    setup = load_setup(project.config, {})
    store = open_store(setup.config.state_url)
    with httpx.Client() as http:
        yield Pipeline(setup, store, Clients(http, ssl.create_default_context()), clock=clock)
    store.close()


def digest_now(project: Project, clock: Clock, *paths: Path) -> dict[str, Any]:
    """Ingest these files and send the channel's digest, in a process of its own."""
    with pipeline_of(project, clock) as pipeline:
        for path in paths:
            raw = pipeline.folders.read(path)
            assert isinstance(raw, RawArticle)
            pipeline.ingest(raw)
        pipeline.send_digest("local")
    return project.digests()[-1]


def text_of(project: Project) -> str:
    """The text form of the latest digest."""
    return sorted(project.outbox.glob("*.txt"))[-1].read_text(encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def test_the_seeds_give_one_entry_per_article(project: Project) -> None:
    assert main(["run", "--once", "-c", str(project.config)]) == 0
    (digest,) = project.digests()
    assert digest["group_by"] == "article"
    assert len(digest["items"]) == 5
    assert len({item["article"]["id"] for item in digest["items"]}) == 5
    assert digest["counts"]["matches"] == 15  # every match still counted
    (xi,) = [
        i
        for i in digest["items"]
        if i["article"]["title"] == SEED_TITLES["001_d9422b366859b37e.txt"]
    ]
    assert {"xi-putin-contacts", "sco-brics"} <= set(xi["rules"])
    assert xi["rule"] == xi["rules"][0]  # what readers of `rule` found before
    text = text_of(project)
    assert text.count(f"* {xi['article']['title']}") == 1
    titles = {rule["id"]: rule["title"] for rule in digest["rules"]}
    assert f"  Rules: {', '.join(titles[rule] for rule in xi['rules'])}\n" in text


def test_grouped_by_rule_a_section_per_rule_as_before(tmp_path: Path) -> None:
    project = make_project(tmp_path, extra="    group_by: rule\n")
    assert main(["run", "--once", "-c", str(project.config)]) == 0
    (digest,) = project.digests()
    assert digest["group_by"] == "rule"
    assert len(digest["items"]) == 15
    assert [item["rules"] for item in digest["items"]] == [[i["rule"]] for i in digest["items"]]
    text = text_of(project)
    assert text.count("\n== ") == len(digest["rules"])


def test_an_article_of_two_rules_is_one_entry_tagged_with_both() -> None:
    rules = RuleSet(
        {},
        (
            Rule(id="energy", title="Energy", keywords=Keywords(any=("gas",))),
            Rule(id="talks", title="Talks", keywords=Keywords(any=("talks",)), priority="high"),
        ),
    )
    body = "Ministers held talks on gas prices in Moscow."
    article = Article("a1", "Gas talks", body, date(2026, 11, 21), "/inbox/a.txt")
    matches = [
        StoredMatch(1, "energy", article, (Hit("gas", "body", 26, 29),), START),
        StoredMatch(2, "talks", article, (Hit("talks", "body", 15, 20),), START),
    ]
    digest = build_digest("local", matches, rules, START, None)
    (item,) = digest.items
    assert (item.rule, item.rules, item.terms) == ("talks", ("talks", "energy"), ("talks", "gas"))
    text = Renderer().render(digest).text
    assert "Rules: Talks, Energy" in text
    assert text.count("* Gas talks") == 1
    html = Renderer().render(digest).html
    assert html.count(">Gas talks<") == 1
    assert ">Energy<" in html
    slack = json.dumps(message_for("slack", digest), ensure_ascii=False)
    assert "rules: talks, energy" in slack


def test_the_same_story_from_three_outlets_is_one_entry(project: Project) -> None:
    wire, ledger, monitor = outlets("gas-pipeline")
    paths = [
        drop(project, "wire", wire),
        drop(project, "ledger", ledger),
        drop(project, "asia", monitor),
    ]
    digest = digest_now(project, Clock(), *paths)
    (item,) = digest["items"]
    sources = [item["article"]["source"]] + [other["source"] for other in item["also"]]
    assert sorted(sources) == ["Asia Monitor", "Daily Ledger", "Wire"]
    text = text_of(project)
    assert "Also reported by 2 sources:" in text
    teams = json.dumps(message_for("teams", Digest.from_document(digest)), ensure_ascii=False)
    assert "Also reported by 2 sources: " in teams
    for other in item["also"]:
        assert other["title"] in text
        assert other["url"] in text


def test_a_later_article_of_a_story_is_an_update_within_realert_and_new_after(
    project: Project,
) -> None:
    wire, ledger, monitor = outlets("gas-pipeline")
    clock = Clock()
    first = digest_now(project, clock, drop(project, "wire", wire))
    assert [item["article"]["title"] for item in first["items"]] == [wire["title"]]

    clock.now += timedelta(hours=3)  # within realert (24h): a restart in between
    paths = [drop(project, "ledger", ledger), drop(project, "asia", monitor)]
    second = digest_now(project, clock, *paths)
    assert second["items"] == []
    (update,) = second["updates"]
    assert update["story"]["title"] == wire["title"]
    assert {a["source"] for a in update["articles"]} == {"Daily Ledger", "Asia Monitor"}
    text = text_of(project)
    assert f"* {wire['title']}\n  2 more sources: " in text
    assert "Also reported by" not in text
    slack = json.dumps(message_for("slack", Digest.from_document(second)), ensure_ascii=False)
    assert "Updates to stories sent before" in slack
    assert "2 more sources: " in slack

    clock.now += timedelta(hours=25)  # past realert from the story's first digest
    late = {**wire, "source": "Late Review", "title": "Power of Siberia 2: what was agreed"}
    third = digest_now(project, clock, drop(project, "late", late))
    assert [item["article"]["title"] for item in third["items"]] == [late["title"]]
    assert third["updates"] == []
