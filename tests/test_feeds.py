"""Feeds read by `wirewatch run --once` and by the daemon, and shown by `status`, as a
user runs them, from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.helpers import Daemon, make_project, wait_for
from tests.sources.feeds import TALKS, item, rss
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
