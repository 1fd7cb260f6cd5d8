"""Fetching what a feed names, safely: it is input from strangers.

Only http and https, at most 5 redirects, each hop's host resolved and refused when it
is a loopback, private, link-local or otherwise internal address (unless allowed, or the
very host and port the user wrote in the config), and the connection made to the very
address checked, so that a name answering otherwise the second time it is asked (DNS
rebinding) cannot lead inside (unless a proxy is used: it looks names up itself); bodies
unpacked here, a bounded piece at a time, and refused past the size cap, so that a gzip
bomb is never unpacked whole; a deadline on the whole request, not only on each read; and
a few requests per host at once."""

from __future__ import annotations

import ipaddress
import socket
import threading
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from worker.notify.deadline import Deadline

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_REDIRECTS",
    "FetchError",
    "Fetched",
    "Fetcher",
    "RefusedError",
    "internal_address",
    "origin",
]

MAX_REDIRECTS = 5
# Requests to one host at once, whichever feeds ask: publishers are not hammered.
PER_HOST = 2
_CHUNK = 64 << 10

Resolver = Callable[[str, int], list[str]]


class FetchError(Exception):
    """A fetch failed; the message says why, in a line."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after  # seconds the server asked to wait (429, 503)


class RefusedError(FetchError):
    """A fetch was refused before it was made: an address wirewatch must not read."""


@dataclass(frozen=True)
class Fetched:
    """A response read whole: its status, final address, headers and unpacked body."""

    status: int
    url: str
    headers: Mapping[str, str]
    body: bytes


def origin(url: str) -> tuple[str, int]:
    """The host and port of an address, as the user wrote it."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return (parts.hostname or "").lower(), port


def internal_address(address: str) -> bool:
    """Whether an IP address is one a feed must not lead to: loopback, private, link-local
    (169.254.169.254, the cloud's metadata, among them), multicast, reserved or unspecified."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class Fetcher:
    """GET requests as a polite, careful reader makes them."""

    def __init__(
        self,
        client: Callable[[], httpx.Client],
        user_agent: str,
        resolve: Resolver = _resolve,
        per_host: int = PER_HOST,
        inside: Callable[[str], bool] = internal_address,
    ) -> None:
        self._client = client  # asked for at the first request: no feed, no HTTP client
        self._user_agent = user_agent
        self._resolve = resolve
        self._inside = inside  # which addresses a feed must not lead to
        self._per_host = per_host
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def get(
        self,
        url: str,
        headers: Mapping[str, str],
        max_bytes: int,
        timeout: float,
        trusted: tuple[str, int] | None = None,
        allow_private: bool = False,
    ) -> Fetched:
        """GET `url`, following redirects; an internal address is refused unless
        `allow_private`, or it is the `trusted` host and port (the one the user wrote)."""
        with Deadline(timeout) as deadline:
            for _ in range(MAX_REDIRECTS + 1):
                addresses = self._check(url, trusted, allow_private)
                try:
                    fetched = self._one(url, headers, max_bytes, deadline, addresses)
                except FetchError as error:
                    if deadline.passed:
                        raise FetchError(
                            f"no whole answer within {timeout:g} s (timeout)"
                        ) from None
                    raise error
                location = fetched.headers.get("location")
                if fetched.status not in (301, 302, 303, 307, 308) or not location:
                    return fetched
                url = urljoin(url, location)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _check(
        self, url: str, trusted: tuple[str, int] | None, allow_private: bool
    ) -> list[str] | None:
        """Refuse an address that is not http or https, or that resolves to an internal one;
        the addresses checked, to connect to, or None when any may be (an internal one is
        allowed)."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise RefusedError(f"refused {scheme or 'a'}: address {url!r}: only http and https")
        host, port = origin(url)
        if allow_private or (host, port) == trusted:
            return None
        pinned = not _proxied(url)  # a proxy looks the name up itself
        try:
            addresses = self._resolve(host, port)
        except OSError as error:
            raise FetchError(f"cannot resolve {host}: {error.strerror or error}") from None
        inside = next((a for a in addresses if self._inside(a)), None)
        if inside is not None:
            raise RefusedError(
                f"refused {url}: {host} is an internal address ({inside});"
                " set allow_private: true on the feed to allow it"
            )
        return addresses if pinned else None

    def _one(
        self,
        url: str,
        headers: Mapping[str, str],
        max_bytes: int,
        deadline: Deadline,
        addresses: Sequence[str] | None,
    ) -> Fetched:
        # A connection of its own (Connection: close), which the deadline can shut down.
        sent = {
            "User-Agent": self._user_agent,
            "Accept-Encoding": "gzip, deflate",
            **headers,
            "Connection": "close",
        }
        with self._host(origin(url)[0]):
            response = self._connect(url, sent, deadline, addresses)
            try:
                body = _body(response, max_bytes)
            finally:
                response.close()
        return Fetched(response.status_code, url, dict(response.headers), body)

    def _connect(
        self,
        url: str,
        headers: Mapping[str, str],
        deadline: Deadline,
        addresses: Sequence[str] | None,
    ) -> httpx.Response:
        """The response's head, from the first of `addresses` that takes the connection
        (from any address the name resolves to, when None)."""
        import httpx  # loaded by the first feed read, as the client is

        *others, last = [None] if addresses is None else addresses
        try:
            for address in others:
                try:
                    return self._send(url, headers, deadline, address)
                except (httpx.ConnectError, httpx.ConnectTimeout):
                    if deadline.passed:  # no time left for the next address
                        raise
            return self._send(url, headers, deadline, last)
        except httpx.TimeoutException:
            raise FetchError(f"no answer within {deadline.seconds:g} s (timeout)") from None
        except httpx.HTTPError as error:
            raise FetchError(_network_fault(error)) from None

    def _send(
        self, url: str, headers: Mapping[str, str], deadline: Deadline, address: str | None
    ) -> httpx.Response:
        import httpx

        client = self._client()
        target, told, extensions = _pinned(httpx.URL(url), address)
        request = client.build_request(
            "GET",
            target,
            headers={**headers, **told},
            timeout=max(deadline.left, 0.001),  # what is left of it, for the next address
            extensions={"trace": _watched_by(deadline), **extensions},
        )
        return client.send(request, stream=True, follow_redirects=False)

    def _host(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            return self._hosts.setdefault(host, threading.BoundedSemaphore(self._per_host))


def _proxied(url: str) -> bool:
    """Whether the HTTP client sends `url` through a proxy, as the environment asks
    (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, and NO_PROXY for the exceptions)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme.lower()) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def _pinned(
    url: httpx.URL, address: str | None
) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The request to make for `url` at `address`: the address in place of the name, the
    name in the Host header, and for https the name the certificate must be for."""
    if address is None:
        return url, {}, {}
    told = {"Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return url.copy_with(host=address.split("%")[0]), told, extensions


def _network_fault(error: httpx.HTTPError) -> str:
    told = " ".join(str(error).split()) or type(error).__name__
    if "CERTIFICATE" in told.upper() or "SSL" in told.upper():
        return f"TLS error: {told}"
    return f"cannot connect: {told}"


def _watched_by(deadline: Deadline) -> Callable[[str, dict[str, Any]], None]:
    """An httpx trace hook that hands each new connection to the deadline."""

    def trace(event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            deadline.watch(info["return_value"].get_extra_info("socket"))

    return trace


def _body(response: httpx.Response, max_bytes: int) -> bytes:
    """The body unpacked, refused once it grows past `max_bytes`."""
    if response.status_code in (204, 304) or 300 <= response.status_code < 400:
        return b""
    import httpx

    encoding = response.headers.get("content-encoding", "").strip().lower()
    body = bytearray()
    try:
        for piece in _unpacked(response.iter_raw(_CHUNK), encoding, max_bytes + 1):
            body += piece
            if len(body) > max_bytes:
                raise FetchError(f"larger than {max_bytes / 1_000_000:g} MB (unpacked); refused")
    except httpx.TimeoutException:
        raise FetchError("stopped sending its body (timeout)") from None
    except httpx.HTTPError as error:
        raise FetchError(_network_fault(error)) from None
    except zlib.error as error:
        raise FetchError(f"a broken {encoding} body: {error}") from None
    return bytes(body)


def _unpacked(raw: Iterator[bytes], encoding: str, most: int) -> Iterator[bytes]:
    """The body as sent, unpacked a bounded piece at a time: never more than `most` bytes
    out of one piece, however well it packs."""
    if encoding in ("", "identity"):
        yield from raw
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"a body packed as {encoding!r}, which was not asked for")
    unpacker = zlib.decompressobj(47 if encoding != "deflate" else 15)
    for packed in raw:
        data = packed
        while data:
            yield unpacker.decompress(data, most)
            data = unpacker.unconsumed_tail
    yield unpacker.flush()
