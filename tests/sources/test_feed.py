"""Feeds read from a real HTTP server on 127.0.0.1: entries become articles once, over
many polls and a restart; edits, validators, and feeds that go wrong and recover."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers import Project
from tests.postgres import Cluster
from tests.sources.feeds import (
    TALKS,
    Clock,
    atom,
    feed_project,
    item,
    json_feed,
    pipeline_of,
    poll,
    rss,
)
from worker.notify import Clients
from worker.pipeline import Pipeline
from worker.sources.feed import FeedSource
from worker.sources.fetch import Fetcher
from worker.status import status_report, status_text

pytestmark = pytest.mark.timeout(60)

WEATHER = "Sunny spells in the afternoon, rain later in the week across the region."


def one_feed(tmp_path: Path, server: HTTPServer, path: str = "/rss.xml", more: str = "") -> Project:
    url = server.url_for(path)
    return feed_project(
        tmp_path, f"  - {{type: feed, url: '{url}', name: Courier, every: 10m{more}}}\n"
    )


def serve(
    server: HTTPServer,
    body: str | bytes,
    status: int = 200,
    kind: str = "application/rss+xml",
    headers: dict[str, str] | None = None,
) -> None:
    """Answer the feed's address this way from now on."""
    server.clear_all_handlers()
    server.expect_request("/rss.xml").respond_with_data(
        body, status=status, content_type=kind, headers=headers or {}
    )


def new_titles(pipeline: Pipeline) -> list[str]:
    """The titles of the articles that one poll of the due feeds stored as new."""
    before = {article.id for article in pipeline.store.articles()}
    poll(pipeline)
    return sorted(a.title for a in pipeline.store.articles() if a.id not in before)


def report(pipeline: Pipeline, clock: Clock) -> tuple[dict[str, Any], str]:
    """`status --json`'s feed of the project, and what `status` says of it."""
    whole = status_report(pipeline.store, pipeline.config, now=clock.now)
    text = status_text(whole, pipeline.config.tz)
    line = next(line for line in text.splitlines() if line.startswith("feed Courier"))
    return whole["feeds"]["Courier"], line


def test_new_entries_become_articles_once_over_polls_and_a_restart(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feed = rss(
        item("Putin and Xi hold talks", TALKS, guid="a-1", link="https://courier.example/1"),
        item("Weather", WEATHER, guid="a-2", link="https://courier.example/2"),
    )
    serve(httpserver, feed)
    project = one_feed(tmp_path, httpserver)
    clock = Clock()
    with pipeline_of(project, clock) as pipeline:
        first = poll(pipeline)
        assert sum(outcome.new_articles for outcome in first) == 2
        for _ in range(3):
            clock.advance(timedelta(minutes=11))
            assert sum(outcome.new_articles for outcome in poll(pipeline)) == 0
        articles = {a.title: a for a in pipeline.store.articles()}
    with pipeline_of(project, clock) as restarted:
        clock.advance(timedelta(minutes=11))
        assert sum(outcome.new_articles for outcome in poll(restarted)) == 0
    talks = articles["Putin and Xi hold talks"]
    assert talks.source == "Courier"
    assert talks.url == "https://courier.example/1"
    assert "Anna Petrova" in str(talks.author)
    assert talks.body == TALKS
    assert str(talks.date) == "2024-05-06"
    assert len(httpserver.log) == 5  # polled each time it was due, no more


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (rss(item("Putin and Xi hold talks", TALKS, link="https://c.example/1"),
             item("Weather", WEATHER, link="https://c.example/2")), "application/rss+xml"),
        (rss(item("Putin and Xi hold talks", TALKS), item("Weather", WEATHER)), "text/xml"),
        (atom(("urn:1", "Putin and Xi hold talks", TALKS), ("urn:2", "Weather", WEATHER)),
         "application/atom+xml"),
        (json_feed(("j1", "Putin and Xi hold talks", TALKS), ("j2", "Weather", WEATHER)),
         "application/feed+json"),
    ],
    ids=["rss-without-guid", "rss-without-guid-or-link", "atom", "json-feed"],
)  # fmt: skip
def test_each_kind_of_feed_gives_its_entries_once(
    tmp_path: Path, httpserver: HTTPServer, body: str, kind: str
) -> None:
    serve(httpserver, body, kind=kind)
    clock = Clock()
    with pipeline_of(one_feed(tmp_path, httpserver), clock) as pipeline:
        assert new_titles(pipeline) == ["Putin and Xi hold talks", "Weather"]
        clock.advance(timedelta(minutes=11))
        assert new_titles(pipeline) == []
        talks = next(a for a in pipeline.store.articles() if a.title.startswith("Putin"))
    assert talks.body == TALKS
    assert talks.source == "Courier"


def test_an_entry_edited_in_place_is_stored_anew_and_matched_again(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, rss(item("Moscow talks", WEATHER, guid="e-1")))
    clock = Clock()
    project = one_feed(tmp_path, httpserver)
    with pipeline_of(project, clock) as pipeline:
        assert new_titles(pipeline) == ["Moscow talks"]
        assert pipeline.store.pending("local") == []
        serve(httpserver, rss(item("Putin and Xi hold talks", TALKS, guid="e-1")))
        clock.advance(timedelta(minutes=11))
        poll(pipeline)
        (article,) = list(pipeline.store.articles())
        assert article.title == "Putin and Xi hold talks"
        assert [m.rule_id for m in pipeline.store.pending("local")] == ["xi-putin-contacts"]
        pipeline.send_digest("local")
        # Edited again, still matching the same rule: stored anew, not sent a second time.
        serve(httpserver, rss(item("Putin and Xi hold more talks", TALKS + " Again.", guid="e-1")))
        clock.advance(timedelta(minutes=11))
        poll(pipeline)
        pipeline.send_digest("local")
        (article,) = list(pipeline.store.articles())
    assert article.title == "Putin and Xi hold more talks"
    (digest,) = project.digests()
    assert [i["article"]["title"] for i in digest["items"]] == ["Putin and Xi hold talks"]


def test_an_unchanged_feed_costs_one_304(tmp_path: Path, httpserver: HTTPServer) -> None:
    asked: list[dict[str, str]] = []

    def answer(request: Request) -> Response:
        asked.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        headers = {"ETag": '"v1"', "Last-Modified": "Mon, 06 May 2024 08:00:00 GMT"}
        body = rss(item("Putin and Xi hold talks", TALKS, guid="a-1"))
        return Response(body, headers=headers, content_type="application/rss+xml")

    httpserver.expect_request("/rss.xml").respond_with_handler(answer)
    clock = Clock()
    with pipeline_of(one_feed(tmp_path, httpserver), clock) as pipeline:
        assert new_titles(pipeline) == ["Putin and Xi hold talks"]
        clock.advance(timedelta(minutes=11))
        assert new_titles(pipeline) == []
        feed, line = report(pipeline, clock)
    assert "If-None-Match" not in asked[0]
    assert asked[1]["If-None-Match"] == '"v1"'
    assert asked[1]["If-Modified-Since"] == "Mon, 06 May 2024 08:00:00 GMT"
    assert asked[0]["User-Agent"].startswith("wirewatch/")
    assert "gzip" in asked[0]["Accept-Encoding"]
    assert feed["state"] == "ok"
    assert line.startswith("feed Courier: ok, last read 2026-05-06 11:11")


def test_a_failing_feed_shows_in_status_backs_off_and_recovers(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    serve(httpserver, "oops", status=500, kind="text/plain")
    clock = Clock()
    with pipeline_of(one_feed(tmp_path, httpserver), clock) as pipeline:
        caplog.set_level("INFO", logger="worker.sources.feed")
        assert new_titles(pipeline) == []
        clock.advance(timedelta(minutes=11))
        assert new_titles(pipeline) == []  # failed again: due in 20 minutes now
        feed, line = report(pipeline, clock)
        clock.advance(timedelta(minutes=11))
        assert new_titles(pipeline) == []  # not due yet: not asked
        serve(httpserver, rss(item("Putin and Xi hold talks", TALKS, guid="a-1")))
        clock.advance(timedelta(minutes=10))
        assert new_titles(pipeline) == ["Putin and Xi hold talks"]
        after, _ = report(pipeline, clock)
    assert feed["state"] == "failing"
    assert feed["last_error"] == "the server answered 500"
    assert "failing since 2026-05-06 11:00 CEST: the server answered 500; next try" in line
    assert feed["next_poll"] == "2026-05-06T09:31:00+00:00"
    assert after["state"] == "ok"
    assert after["last_error"] is None
    said = [r.getMessage() for r in caplog.records if r.name == "worker.sources.feed"]
    assert said == [
        "feed Courier: the server answered 500; next try 2026-05-06T09:10:00+00:00",
        "feed Courier: read again (was: the server answered 500)",
    ]


def test_a_feed_failing_poll_after_poll_is_in_trouble_until_it_is_read(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, "oops", status=500, kind="text/plain")
    clock = Clock()
    with pipeline_of(one_feed(tmp_path, httpserver), clock) as pipeline:
        troubles = []
        for wait in (timedelta(0), timedelta(minutes=11), timedelta(minutes=21)):
            clock.advance(wait)
            poll(pipeline)
            troubles.append(pipeline.health.trouble("feed:Courier"))
        serve(httpserver, rss(item("Putin and Xi hold talks", TALKS, guid="a-1")))
        clock.advance(timedelta(minutes=41))
        poll(pipeline)
        after = pipeline.health.trouble("feed:Courier")
    assert len(httpserver.log) == 4
    assert troubles[:2] == [None, None]  # a failed poll or two is no trouble yet
    assert troubles[2] is not None
    assert troubles[2].problem == "failing since 2026-05-06T09:00:00+00:00: the server answered 500"
    assert after is None


def test_a_feed_in_trouble_before_a_restart_is_in_trouble_after_it(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, "gone", status=410, kind="text/plain")
    project = one_feed(tmp_path, httpserver)
    with pipeline_of(project, Clock()) as pipeline:
        poll(pipeline)
    with pipeline_of(project, Clock()) as restarted:
        with restarted.feeds.watch():  # told from the state, before any poll
            during = restarted.health.trouble("feed:Courier")
        after = restarted.health.trouble("feed:Courier")  # a stop or an edit clears nothing
        edited = FeedSource((), restarted.store, Fetcher(httpx.Client, "test"), Clock(),
                            "w", lambda: 0.5, restarted.health)  # fmt: skip
        with edited.watch():  # the config no longer names the feed
            left_out = restarted.health.trouble("feed:Courier")
    assert len(httpserver.log) == 1
    assert during is not None
    assert during.problem.startswith("gone (410)")
    assert after == during
    assert left_out is None


def test_a_feed_gone_is_in_trouble_at_once(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, "gone", status=410, kind="text/plain")
    with pipeline_of(one_feed(tmp_path, httpserver), Clock()) as pipeline:
        poll(pipeline)
        trouble = pipeline.health.trouble("feed:Courier")
    assert trouble is not None
    assert trouble.problem.startswith("gone (410): no longer polled")


def polled(tmp_path: Path, server: HTTPServer, *waits: timedelta) -> tuple[dict[str, Any], str]:
    """The feed polled, then polled again after each wait: what status says of it then."""
    clock = Clock()
    with pipeline_of(one_feed(tmp_path, server), clock) as pipeline:
        poll(pipeline)
        for wait in waits:
            clock.advance(wait)
            poll(pipeline)
        return report(pipeline, clock)


def test_a_feed_gone_for_good_is_no_longer_polled(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, "gone", status=410, kind="text/plain")
    feed, line = polled(tmp_path, httpserver, timedelta(days=3))
    assert len(httpserver.log) == 1
    assert feed["state"] == "gone"
    assert line.startswith("feed Courier: gone (410) since 2026-05-06 11:00 CEST: not polled")


def test_not_found_is_tried_again_later(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, "no", status=404, kind="text/plain")
    feed, _ = polled(tmp_path, httpserver, timedelta(minutes=11))
    assert len(httpserver.log) == 2
    assert feed["last_error"] == "not found (404)"
    assert feed["state"] == "failing"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(tmp_path: Path, httpserver: HTTPServer, status: int) -> None:
    headers = {"Retry-After": "7200"}
    serve(httpserver, "slow down", status=status, kind="text/plain", headers=headers)
    feed, _ = polled(tmp_path, httpserver, timedelta(minutes=90))
    assert len(httpserver.log) == 1
    assert feed["next_poll"] == "2026-05-06T11:00:00+00:00"


def test_malformed_xml_keeps_the_entries_before_the_fault(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    whole = rss(
        item("Putin and Xi hold talks", TALKS, guid="a-1"), item("Weather", WEATHER, guid="a-2")
    )
    serve(httpserver, whole[: whole.index("<item><title>Weather") + 20])
    clock = Clock()
    with pipeline_of(one_feed(tmp_path, httpserver), clock) as pipeline:
        assert "Putin and Xi hold talks" in new_titles(pipeline)
        feed, line = report(pipeline, clock)
    assert feed["last_error"].startswith("malformed XML")
    assert "the entries before it are kept" in line


@pytest.mark.parametrize(
    ("body", "kind", "said"),
    [
        ("<!doctype html><html><body><p>Welcome</p></body></html>", "text/html",
         "an HTML page, not a feed"),
        ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
         '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
         "<rss version=\"2.0\"><channel><title>&lol2;</title></channel></rss>",
         "application/rss+xml", "the feed declares XML entities, which are refused"),
        ("", "application/rss+xml", "the feed is empty"),
        ('{"items": []}', "application/json", "JSON, but not a JSON Feed"),
    ],
    ids=["html", "entity-bomb", "empty", "other-json"],
)  # fmt: skip
def test_what_is_not_a_feed_is_said(
    tmp_path: Path, httpserver: HTTPServer, body: str, kind: str, said: str
) -> None:
    serve(httpserver, body, kind=kind)
    clock = Clock()
    with pipeline_of(one_feed(tmp_path, httpserver), clock) as pipeline:
        assert new_titles(pipeline) == []
        feed, line = report(pipeline, clock)
    assert feed["last_error"].startswith(said)
    assert said in line


def test_workers_on_one_database_poll_a_feed_once(
    tmp_path: Path, httpserver: HTTPServer, postgres: Cluster
) -> None:
    serve(httpserver, rss(item("Putin and Xi hold talks", TALKS, guid="a-1")))
    url = httpserver.url_for("/rss.xml")
    project = feed_project(
        tmp_path, f"  - {{type: feed, url: '{url}', name: Courier}}\n", postgres.new_database()
    )
    clock = Clock()
    with pipeline_of(project, clock) as one, pipeline_of(project, clock) as two:
        with ThreadPoolExecutor(max_workers=2) as pool:
            polls = list(pool.map(poll, [one, two]))
        clock.advance(timedelta(minutes=11))
        polls += [poll(two), poll(one)]
        titles = [a.title for a in one.store.articles()]
    assert titles == ["Putin and Xi hold talks"]
    assert sum(outcome.new_articles for outcome in polls[0] + polls[1]) == 1
    assert len(httpserver.log) == 2  # once when first due, once when due again


def test_a_feed_another_worker_read_again_is_no_trouble_here(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, "oops", status=500, kind="text/plain")
    project, clock = one_feed(tmp_path, httpserver), Clock()
    with pipeline_of(project, clock) as one, pipeline_of(project, clock) as two:
        for wait in (timedelta(0), timedelta(minutes=11), timedelta(minutes=21)):
            clock.advance(wait)
            poll(one)
        troubled = one.health.trouble("feed:Courier")
        serve(httpserver, rss(item("Putin and Xi hold talks", TALKS, guid="a-1")))
        clock.advance(timedelta(minutes=41))
        poll(two)  # the other worker reads it, and holds it for a while
        poll(one)  # not this worker's to poll now: it reads how the poll went
        after = one.health.trouble("feed:Courier")
    assert troubled is not None
    assert len(httpserver.log) == 4
    assert after is None


def test_a_poll_the_stop_left_running_records_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, rss(item("Putin and Xi hold talks", TALKS, guid="a-1")))
    clock = Clock()
    with pipeline_of(one_feed(tmp_path, httpserver), clock) as pipeline:
        closed = Clients()
        closed.close()  # as a stop leaves it: a late poll must not make a client of its own
        feeds = FeedSource(
            pipeline.config.feeds, pipeline.store, Fetcher(lambda: closed.http, "test"),
            clock, "late", lambda: 0.5,
        )  # fmt: skip
        (feed,) = pipeline.config.feeds
        assert feeds.poll(feed) == []
        record = pipeline.store.feed(feed.url)
    assert httpserver.log == []
    assert record is None or record.failures == 0  # not counted as the feed's failure


def test_an_article_quoting_an_entity_declaration_is_read(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    quoting = '<![CDATA[Write <!ENTITY lol "lol"> to declare one.]]>'
    serve(httpserver, rss(item("XML entities explained", quoting, guid="x-1")))
    clock = Clock()
    with pipeline_of(one_feed(tmp_path, httpserver), clock) as pipeline:
        assert new_titles(pipeline) == ["XML entities explained"]
