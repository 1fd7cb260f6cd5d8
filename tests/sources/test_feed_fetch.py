"""Fetching feeds and their pages safely, from real HTTP servers on 127.0.0.1: the page's
main text for `fetch: full`; huge, packed and endless bodies refused; no link, redirect
or feed leads the daemon to an internal address it was not told it may read."""

from __future__ import annotations

import gzip
import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.helpers import Project
from tests.servers import Trickle
from tests.sources.feeds import STORY_PAGE, TALKS, Clock, feed_project, item, pipeline_of, poll, rss
from worker.model import Article
from worker.sources.fetch import internal_address

pytestmark = pytest.mark.timeout(60)

SUMMARY = "Putin and Xi met in Moscow."
METRICS = "wirewatch_articles_total 3\n# the daemon's own /metrics: never to be read by a feed"


@pytest.fixture
def inside() -> Iterator[HTTPServer]:
    """Another server on 127.0.0.1: the daemon's own /metrics, say, or a cloud's metadata."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/metrics").respond_with_data(METRICS, content_type="text/html")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def a_feed(root: Path, url: str, more: str = "") -> Project:
    return feed_project(root, f"  - {{type: feed, url: '{url}', name: Courier{more}}}\n")


def entry_linking(server: HTTPServer, link: str) -> None:
    feed = rss(item("Putin and Xi talk", SUMMARY, guid="s-1", link=link))
    server.expect_request("/rss.xml").respond_with_data(feed, content_type="application/rss+xml")


def read_once(project: Project) -> tuple[Article, ...]:
    with pipeline_of(project, Clock()) as pipeline:
        poll(pipeline)
        return tuple(pipeline.store.articles())


def feed_error(project: Project) -> str | None:
    with pipeline_of(project, Clock()) as pipeline:
        poll(pipeline)
        record = pipeline.store.feed(pipeline.config.sources[0].url)
    assert record is not None
    return record.last_error


def test_full_fetch_reads_the_main_text_of_the_linked_page(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    entry_linking(httpserver, httpserver.url_for("/story"))
    httpserver.expect_request("/story").respond_with_data(STORY_PAGE, content_type="text/html")
    (article,) = read_once(a_feed(tmp_path, httpserver.url_for("/rss.xml"), ", fetch: full"))
    assert article.title == "Putin and Xi talk"
    assert article.body.startswith("Vladimir Putin met Xi Jinping in Moscow on Monday")
    assert "Officials on both sides" in article.body
    assert "borscht" not in article.body
    assert "Home" not in article.body
    assert article.url == httpserver.url_for("/story")  # digests link to the original


def test_full_fetch_falls_back_to_the_summary(tmp_path: Path, httpserver: HTTPServer) -> None:
    entry_linking(httpserver, httpserver.url_for("/missing"))
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    (article,) = read_once(a_feed(tmp_path, httpserver.url_for("/rss.xml"), ", fetch: full"))
    assert article.body == SUMMARY


def test_a_link_to_an_internal_address_is_refused(
    tmp_path: Path,
    httpserver: HTTPServer,
    inside: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry_linking(httpserver, inside.url_for("/metrics"))
    (article,) = read_once(a_feed(tmp_path, httpserver.url_for("/rss.xml"), ", fetch: full"))
    assert article.body == SUMMARY
    assert inside.log == []
    (refusal,) = [r for r in caplog.records if getattr(r, "event", "") == "feed.refused"]
    said = refusal.getMessage()
    assert said.startswith("feed Courier: entry 'Putin and Xi talk': refused http://127.0.0.1:")
    assert "is an internal address (127.0.0.1); set allow_private: true" in said


def test_a_link_redirecting_to_an_internal_address_is_refused(
    tmp_path: Path, httpserver: HTTPServer, inside: HTTPServer
) -> None:
    entry_linking(httpserver, httpserver.url_for("/go"))
    httpserver.expect_request("/go").respond_with_response(
        Response(status=302, headers={"Location": inside.url_for("/metrics")})
    )
    (article,) = read_once(a_feed(tmp_path, httpserver.url_for("/rss.xml"), ", fetch: full"))
    assert article.body == SUMMARY
    assert inside.log == []


def test_allow_private_lets_a_feed_link_inside(
    tmp_path: Path, httpserver: HTTPServer, inside: HTTPServer
) -> None:
    entry_linking(httpserver, inside.url_for("/metrics"))
    more = ", fetch: full, allow_private: true"
    (article,) = read_once(a_feed(tmp_path, httpserver.url_for("/rss.xml"), more))
    assert "wirewatch_articles_total" in article.body
    assert len(inside.log) == 1


def test_a_feed_redirecting_inside_is_refused(
    tmp_path: Path, httpserver: HTTPServer, inside: HTTPServer
) -> None:
    httpserver.expect_request("/rss.xml").respond_with_response(
        Response(status=301, headers={"Location": inside.url_for("/metrics")})
    )
    error = feed_error(a_feed(tmp_path, httpserver.url_for("/rss.xml")))
    assert error is not None
    assert error.startswith(f"refused {inside.url_for('/metrics')}: 127.0.0.1 is an internal")
    assert inside.log == []


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("file:///etc/passwd", "refused file: address 'file:///etc/passwd': only http and https"),
        ("/rss.xml", "more than 5 redirects"),
    ],
)
def test_redirects_are_http_only_and_few(
    tmp_path: Path, httpserver: HTTPServer, location: str, said: str
) -> None:
    httpserver.expect_request("/rss.xml").respond_with_response(
        Response(status=302, headers={"Location": location})
    )
    assert feed_error(a_feed(tmp_path, httpserver.url_for("/rss.xml"))) == said
    assert len(httpserver.log) <= 6


def test_a_huge_body_is_refused(tmp_path: Path, httpserver: HTTPServer) -> None:
    megabyte = b"<!-- " + b"x" * 1_000_000 + b" -->"
    endless = (megabyte for _ in range(50))  # 50 MB, more than the 10 MB a body may hold
    httpserver.expect_request("/rss.xml").respond_with_response(
        Response(endless, content_type="application/rss+xml")
    )
    error = feed_error(a_feed(tmp_path, httpserver.url_for("/rss.xml")))
    assert error == "larger than 10 MB (unpacked); refused"


def test_a_gzip_bomb_is_refused_not_unpacked(tmp_path: Path, httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"<rss>" + b" " * 200_000_000, compresslevel=9)  # 200 MB in ~200 KB
    httpserver.expect_request("/rss.xml").respond_with_response(
        Response(bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"})
    )
    error = feed_error(a_feed(tmp_path, httpserver.url_for("/rss.xml"), ", max_mb: 1"))
    assert error == "larger than 1 MB (unpacked); refused"


def test_a_gzipped_feed_is_read(tmp_path: Path, httpserver: HTTPServer) -> None:
    packed = gzip.compress(rss(item("Putin and Xi hold talks", TALKS, guid="z")).encode())
    httpserver.expect_request("/rss.xml").respond_with_response(
        Response(packed, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"})
    )
    (article,) = read_once(a_feed(tmp_path, httpserver.url_for("/rss.xml")))
    assert article.body == TALKS


def test_a_slow_server_times_out(tmp_path: Path) -> None:
    trickle = Trickle(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"." * 1000 + b"\r\n\r\n")
    try:
        url = f"http://127.0.0.1:{trickle.port}/rss.xml"
        error = feed_error(a_feed(tmp_path, url, ", timeout: 1s"))
    finally:
        trickle.stop()
    assert error == "no whole answer within 1 s (timeout)"


def test_a_feed_on_a_server_that_is_not_there(tmp_path: Path) -> None:
    from tests.servers import free_port

    error = feed_error(a_feed(tmp_path, f"http://127.0.0.1:{free_port()}/rss.xml"))
    assert error is not None
    assert error.startswith("cannot connect:")


@pytest.mark.parametrize(
    ("address", "inside_it"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("192.168.0.10", True),
        ("172.16.5.5", True),
        ("169.254.169.254", True),  # the cloud's metadata
        ("100.64.0.1", True),  # carrier-grade NAT
        ("0.0.0.0", True),
        ("::1", True),
        ("fe80::1", True),
        ("fd00:ec2::254", True),  # the cloud's metadata over IPv6
        ("::ffff:127.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
    ],
)
def test_internal_addresses(address: str, inside_it: bool) -> None:
    assert internal_address(address) is inside_it


def test_polls_keep_timings_short(tmp_path: Path, httpserver: HTTPServer) -> None:
    """A feed's `every` is what a test or a user sets: due again after it, not before."""
    entry_linking(httpserver, httpserver.url_for("/story"))
    clock = Clock()
    with pipeline_of(a_feed(tmp_path, httpserver.url_for("/rss.xml"), ", every: 5s"), clock) as p:
        poll(p)
        clock.advance(timedelta(seconds=4))
        poll(p)
        clock.advance(timedelta(seconds=2))
        poll(p)
    assert len(httpserver.log) == 2


def test_a_certificate_not_trusted_is_a_tls_error(tmp_path: Path) -> None:
    ca = trustme.CA()  # a certificate authority this machine does not trust
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.expect_request("/rss.xml").respond_with_data(rss(item("A", "B", guid="1")))
    server.start()
    try:
        error = feed_error(a_feed(tmp_path, server.url_for("/rss.xml")))
    finally:
        server.stop()
    assert error is not None
    assert error.startswith("TLS error: ")
    assert "CERTIFICATE_VERIFY_FAILED" in error
