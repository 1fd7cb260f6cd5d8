"""A feed's link is fetched from the very address that was checked: a name that answers
otherwise when asked again (DNS rebinding) cannot lead the request inside. Unit tests of
the requests made, on httpx's MockTransport: the addresses are made up, none is dialled."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

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


def test_each_address_checked_is_tried_in_turn() -> None:
    tried: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tried.append(request.url.host)
        if request.url.host == PUBLIC:
            raise httpx.ConnectError("refused")
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
