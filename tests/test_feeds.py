"""Feeds read by `wirewatch run --once` and by the daemon, and shown by `status`, as a
user runs them, from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.helpers import Daemon, make_project, titles_in, wait_for
from tests.sources.feeds import STORY_PAGE, TALKS, item, rss
from worker.cli import main

pytestmark = pytest.mark.timeout(90)

TITLE = "Putin and Xi hold talks"


def feed_config(server: HTTPServer, every: str = "10m") -> str:
    url = server.url_for("/rss.xml")
    return f"sources:\n  - {{type: feed, url: '{url}', name: Courier, every: {every}}}\n"


def test_run_once_reads_the_feeds_and_sends_their_matches(
    tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = rss(item(TITLE, TALKS, guid="a-1", link="https://courier.example/1"))
    httpserver.expect_request("/rss.xml").respond_with_data(feed, content_type="text/xml")
    project = make_project(tmp_path, extra=feed_config(httpserver))
    assert main(["check", "-c", str(project.config)]) == 0
    assert main(["run", "--once", "-c", str(project.config)]) == 0
    assert main(["run", "--once", "-c", str(project.config)]) == 0  # not due again yet
    items = [i for d in project.digests() for i in d["items"] if i["article"]["title"] == TITLE]
    assert len(items) == 1
    assert items[0]["article"]["url"] == "https://courier.example/1"
    assert items[0]["article"]["source"] == "Courier"
    capsys.readouterr()
    assert main(["status", "-c", str(project.config)]) == 0
    assert "feed Courier: ok, last read " in capsys.readouterr().out
    assert len(httpserver.log) == 1


def test_the_daemon_polls_a_feed_and_takes_what_it_adds(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    first = rss(item("Weather", "Rain later in the week.", guid="w-1"))
    httpserver.expect_request("/rss.xml").respond_with_data(first, content_type="text/xml")
    project = make_project(
        tmp_path, schedule="immediate", extra=feed_config(httpserver, every="1s")
    )
    daemon = Daemon(project)
    daemon.start()
    wait_for(lambda: len(httpserver.log) >= 1, "the first poll")
    httpserver.clear_all_handlers()
    second = rss(item(TITLE, TALKS, guid="a-1"), item("Weather", "Rain later.", guid="w-1"))
    httpserver.expect_request("/rss.xml").respond_with_data(second, content_type="text/xml")
    wait_for(lambda: daemon.digested(TITLE) == 1, "the new entry's digest")
    polls = len(httpserver.log)
    wait_for(lambda: len(httpserver.log) >= polls + 2, "two more polls")
    assert daemon.stop() == 0
    assert daemon.digested(TITLE) == 1
    assert "Traceback" not in daemon.log_text()


OPML = """<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>Subscriptions</title></head><body>
  <outline text="Wires">
    <outline type="rss" text="Courier" title="Courier" xmlUrl="{one}"/>
    <outline type="rss" text="Gazette" xmlUrl="{two}"/>
  </outline>
</body></opml>
"""


def test_feeds_come_from_a_subscription_list(
    tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = rss(item(TITLE, TALKS, guid="a-1"))
    httpserver.expect_request("/rss.xml").respond_with_data(feed, content_type="text/xml")
    other = rss(item("Gazette: " + TITLE, TALKS + " Gazette.", guid="g-1"))
    httpserver.expect_request("/gazette.xml").respond_with_data(other, content_type="text/xml")
    opml = OPML.format(one=httpserver.url_for("/rss.xml"), two=httpserver.url_for("/gazette.xml"))
    (tmp_path / "feeds.opml").write_text(opml, encoding="utf-8")
    project = make_project(tmp_path, extra="feeds_from: feeds.opml\n")
    assert main(["run", "--once", "-c", str(project.config)]) == 0
    titles = {title for digest in project.digests() for title in titles_in(digest)}
    assert {TITLE, "Gazette: " + TITLE} <= titles  # one story, told by both feeds
    capsys.readouterr()
    assert main(["status", "-c", str(project.config)]) == 0
    out = capsys.readouterr().out
    assert "feed Courier: ok" in out
    assert "feed Gazette: ok" in out


def test_an_edit_of_the_subscription_list_is_applied_while_running(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    feed = rss(item("Weather", "Rain later in the week.", guid="w-1"))
    httpserver.expect_request("/rss.xml").respond_with_data(feed, content_type="text/xml")
    other = rss(item(TITLE, TALKS, guid="g-1"))
    httpserver.expect_request("/gazette.xml").respond_with_data(other, content_type="text/xml")
    one, two = httpserver.url_for("/rss.xml"), httpserver.url_for("/gazette.xml")
    subscriptions = tmp_path / "feeds.opml"
    subscriptions.write_text(OPML.format(one=one, two=one), encoding="utf-8")
    project = make_project(tmp_path, schedule="immediate", extra="feeds_from: feeds.opml\n")
    daemon = Daemon(project)
    daemon.start()
    wait_for(lambda: len(httpserver.log) >= 1, "the first poll")
    subscriptions.write_text(OPML.format(one=one, two=two), encoding="utf-8")
    wait_for(lambda: daemon.digested(TITLE) == 1, "the added feed's entry in a digest")
    assert "config changed" in daemon.log_text()
    assert daemon.stop() == 0


@pytest.mark.parametrize(
    ("opml", "said"),
    [
        ("<opml><body></body></opml>", "lists no feed (no outline with an xmlUrl)"),
        ("<opml><body><outline xmlUrl='file:///etc/passwd'/></body></opml>",
         "'file:///etc/passwd' is not an http or https address"),
        ("<opml><body>", "is not OPML: no element found"),
    ],
)  # fmt: skip
def test_a_bad_subscription_list_is_one_line(
    tmp_path: Path, opml: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "feeds.opml").write_text(opml, encoding="utf-8")
    project = make_project(tmp_path, extra="feeds_from: feeds.opml\n")
    assert main(["check", "-c", str(project.config)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"{project.config}:")
    assert ": feeds_from: " in line
    assert said in line


def test_a_bad_feed_in_the_config_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = "sources:\n  - {type: feed, url: 'ftp://example.org/rss.xml', every: 0s}\n"
    project = make_project(tmp_path, extra=extra)
    assert main(["check", "-c", str(project.config)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert any(
        "sources[0].url" in line and "not an http or https address" in line for line in lines
    )
    assert any("sources[0].every" in line and "is no time at all" in line for line in lines)


def test_match_url_explains_a_web_page(
    tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request("/story").respond_with_data(STORY_PAGE, content_type="text/html")
    project = make_project(tmp_path)
    url = httpserver.url_for("/story")
    assert main(["match", "-c", str(project.config), "--url", url, "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["path"] == url
    assert report["article"]["title"] == "Putin and Xi talk"
    assert [m["rule"] for m in report["matches"]] == ["xi-putin-contacts"]
    assert main(["match", "-c", str(project.config), "--url", url]) == 0
    assert "✓ xi-putin-contacts" in capsys.readouterr().out


def test_match_url_says_why_a_page_cannot_be_read(
    tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    project = make_project(tmp_path)
    url = httpserver.url_for("/gone")
    assert main(["match", "-c", str(project.config), "--url", url]) == 1
    assert f"{url}: the server answered 404" in capsys.readouterr().err.splitlines()


def test_feeds_alone_need_no_folder(tmp_path: Path, httpserver: HTTPServer) -> None:
    feed = rss(item(TITLE, TALKS, guid="a-1"))
    httpserver.expect_request("/rss.xml").respond_with_data(feed, content_type="text/xml")
    project = make_project(tmp_path, schedule="immediate", extra=feed_config(httpserver, "1s"))
    text = project.config.read_text(encoding="utf-8")
    project.config.write_text(
        text.replace("watch:\n  - path: seeds\n  - path: inbox\n", "watch: []\n"), encoding="utf-8"
    )
    assert main(["check", "-c", str(project.config)]) == 0
    daemon = Daemon(project)
    daemon.start()
    wait_for(lambda: daemon.digested(TITLE) == 1, "the feed's digest")
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.log_text()
