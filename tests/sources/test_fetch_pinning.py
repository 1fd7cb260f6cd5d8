"""A feed's link is fetched from the very address that was checked: a name that answers
otherwise when asked again (DNS rebinding) cannot lead the request inside. Unit tests of
the requests made, on httpx's MockTransport: the addresses are made up, none is dialled."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.servers import Tunnel
from worker.sources.fetch import Fetcher, FetchError

PUBLIC, OTHER = "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"


def answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    """A response whose body is read as a server's is, a piece at a time."""
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


def fetcher(
    handler: Callable[[httpx.Request], httpx.Response], answers: list[list[str]]
) -> Fetcher:
    """A fetcher whose name lookups give `answers`, one after the other."""

    def resolve(host: str, port: int) -> list[str]:
        return answers.pop(0)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return Fetcher(lambda: client, "test", resolve=resolve)


def test_the_request_goes_to_the_address_checked_under_the_name_asked_for() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(b"the page")

    # asked a second time, the name would lead inside: it is not asked again
    answers = [[PUBLIC], ["127.0.0.1"]]
    fetched = fetcher(handler, answers).get("http://news.example/story", {}, 1000, 5)
    assert fetched.body == b"the page"
    assert fetched.url == "http://news.example/story"
    (request,) = seen
    assert request.url.host == PUBLIC
    assert request.headers["host"] == "news.example"
    assert answers == [["127.0.0.1"]]  # one lookup, the one checked


def test_https_keeps_the_name_for_the_certificate_and_the_host_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(b"ok")

    fetcher(handler, [[OTHER]]).get("https://news.example:8443/a?b=1", {}, 1000, 5)
    (request,) = seen
    assert str(request.url) == f"https://[{OTHER}]:8443/a?b=1"
    assert request.headers["host"] == "news.example:8443"
    assert request.extensions["sni_hostname"] == "news.example"


@pytest.mark.parametrize("fault", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow")])
def test_each_address_checked_is_tried_in_turn(fault: httpx.HTTPError) -> None:
    tried: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tried.append(request.url.host)
        if request.url.host == PUBLIC:
            raise fault
        return answer(b"ok")

    fetcher(handler, [[PUBLIC, OTHER]]).get("http://news.example/", {}, 1000, 5)
    assert tried == [PUBLIC, OTHER]


def test_no_address_taking_the_connection_is_one_line() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"[Errno 111] Connection refused ({request.url.host})")

    with pytest.raises(FetchError) as failed:
        fetcher(handler, [[PUBLIC, OTHER]]).get("http://news.example/", {}, 1000, 5)
    assert str(failed.value) == f"cannot connect: [Errno 111] Connection refused ({OTHER})"


def test_a_redirect_is_checked_and_pinned_again() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers["host"]))
        if request.headers["host"] == "news.example":
            return answer(b"", 302, {"Location": "http://cdn.example/story"})
        return answer(b"moved")

    answers = [[PUBLIC], [OTHER]]
    assert fetcher(handler, answers).get("http://news.example/", {}, 1000, 5).body == b"moved"
    assert seen == [(PUBLIC, "news.example"), (OTHER, "cdn.example")]


@pytest.mark.parametrize(
    ("fault", "told"),
    [
        (httpx.ReadTimeout("read timed out"), "no answer within 5 s (timeout)"),
        (httpx.RemoteProtocolError("illegal status line"), "cannot connect: illegal status line"),
    ],
)
def test_a_server_that_answers_badly_is_one_line_not_the_next_address(
    fault: httpx.HTTPError, told: str
) -> None:
    tried: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tried.append(request.url.host)
        raise fault

    with pytest.raises(FetchError) as failed:
        fetcher(handler, [[PUBLIC, OTHER]]).get("http://news.example/", {}, 1000, 5)
    assert str(failed.value) == told
    assert tried == [PUBLIC]  # the address took the connection: it was the one to answer


# --- over real TLS, on 127.0.0.1 taken for a public address ---------------------------------


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def news(ca: trustme.CA) -> Iterator[HTTPServer]:
    """https://news.example on 127.0.0.1, with a certificate for that name."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("news.example").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/story").respond_with_handler(
        lambda request: Response(f"asked for {request.host}")
    )
    server.start()
    yield server
    server.stop()


def tls_fetcher(ca: trustme.CA, **client: Any) -> Fetcher:
    """A fetcher that trusts `ca`, finds news.example at 127.0.0.1 and, for these tests
    only, takes that address for a public one."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    made = httpx.Client(verify=context, **client)
    return Fetcher(lambda: made, "test", resolve=lambda host, port: ["127.0.0.1"], inside=never)


def never(address: str) -> bool:
    return False


def test_the_certificate_is_checked_against_the_name_not_the_address(
    ca: trustme.CA, news: HTTPServer
) -> None:
    url = f"https://news.example:{news.port}/story"
    fetched = tls_fetcher(ca).get(url, {}, 1000, 5)
    assert fetched.body == f"asked for news.example:{news.port}".encode()
    with pytest.raises(FetchError) as failed:  # a certificate for another name
        tls_fetcher(trustme.CA()).get(url, {}, 1000, 5)
    assert str(failed.value).startswith("TLS error: ")


def test_through_a_proxy_the_name_goes_to_the_proxy(
    ca: trustme.CA, news: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tunnel = Tunnel(news.port)
    monkeypatch.setenv("HTTPS_PROXY", tunnel.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        fetched = tls_fetcher(ca).get(f"https://news.example:{news.port}/story", {}, 1000, 5)
    finally:
        tunnel.stop()
    assert fetched.body == f"asked for news.example:{news.port}".encode()
    assert tunnel.asked == [f"news.example:{news.port}"]  # it looks the name up itself
