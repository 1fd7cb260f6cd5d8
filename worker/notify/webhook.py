"""The `webhook` channel: one POST of the digest as JSON, in the channel's format.

Each `deliver` makes one attempt; the outbox decides when to try again. A DeliveryError
says whether a retry can help and how long the receiver asked us to wait. Its message
names the receiver by its host only: Slack and Discord put the token in the URL path.
An attempt ends within the channel's `timeout_seconds`, however slowly the receiver answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from worker.errors import DeliveryError
from worker.model import Alert, Digest, Rendered
from worker.notify.deadline import Deadline
from worker.notify.messages import alert_message, encode, message_for
from worker.notify.redact import masked_url, scrubbed
from worker.notify.retry_after import retry_after_seconds
from worker.notify.signing import signature_headers
from worker.settings.config import WebhookChannel

__all__ = ["USER_AGENT", "WebhookNotifier", "retry_after_seconds"]

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("wirewatch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "dev"


USER_AGENT = f"wirewatch/{_version()}"
_EXCERPT_BYTES = 2048
_EXCERPT_CHARS = 200


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Answer:
    status: int
    reason: str
    headers: httpx.Headers
    excerpt: str


class WebhookNotifier:
    """Posts each digest to the channel's URL, signed when the channel has a secret."""

    def __init__(
        self, channel: WebhookChannel, client: httpx.Client, clock: Callable[[], datetime] = _now
    ) -> None:
        self._channel = channel
        self._client = client
        self._clock = clock
        self._url = channel.url.get_secret_value()
        self._shown = masked_url(self._url)
        self._timeout = httpx.Timeout(
            channel.timeout_seconds, connect=channel.connect_timeout_seconds
        )
        parts = urlsplit(self._url)
        secret = channel.secret.get_secret_value() if channel.secret else ""
        # Anything the receiver or the network says is cleared of these before we repeat it.
        self._secrets = [
            self._url,
            parts.netloc.rpartition("@")[0],
            parts.password or "",
            parts.path,
            parts.query,
            secret,
            *channel.headers.values(),
        ]

    def deliver(self, digest: Digest, rendered: Rendered) -> None:
        """POST the digest once; raise DeliveryError unless the receiver answers 2xx."""
        self._send(f"digest {digest.digest_id}", digest.digest_id, self._body(digest, rendered))

    def alert(self, alert: Alert) -> None:
        """POST the alert once, in the channel's format; raise DeliveryError unless 2xx."""
        body = encode(alert_message(self._channel.format, alert))
        self._send(f"alert {alert.id}", alert.id, body)

    def _send(self, what: str, message_id: str, body: bytes) -> None:
        headers = self._headers(message_id, body)
        log.debug(
            "%s: POST %s (%s, %d bytes): %s",
            what,
            self._shown,
            self._channel.format,
            len(body),
            body.decode("utf-8"),
        )
        with Deadline(self._channel.timeout_seconds) as deadline:
            try:
                answer = self._post(body, headers, deadline)
            except httpx.HTTPError as error:
                # from None: the library's exception may carry the URL or a header value.
                raise self._failure(error, deadline.passed) from None
            except httpx.InvalidURL:
                message = f"POST {self._shown} failed: the channel's url is not a valid address"
                raise DeliveryError(message, permanent=True) from None
        if not 200 <= answer.status < 300:
            raise self._refusal(answer)

    def _body(self, digest: Digest, rendered: Rendered) -> bytes:
        # The json format is what the channel's digest.json template gives: by default the
        # digest document, reshaped by a template of the user's for any other JSON endpoint.
        if self._channel.format == "json":
            return rendered.json.encode("utf-8")
        return encode(message_for(self._channel.format, digest))

    def _headers(self, message_id: str, body: bytes) -> httpx.Headers:
        headers = httpx.Headers({"User-Agent": USER_AGENT, "Content-Type": "application/json"})
        headers.update(self._channel.headers)
        # A connection of its own, which the deadline can shut down: a pooled one would be
        # reused without passing through the hook that hands its socket to the deadline.
        headers["Connection"] = "close"
        if self._channel.secret is not None:
            secret = self._channel.secret.get_secret_value()
            headers.update(signature_headers(secret, message_id, self._clock(), body))
        return headers

    def _post(self, body: bytes, headers: httpx.Headers, deadline: Deadline) -> _Answer:
        request = self._client.build_request(
            "POST",
            self._url,
            content=body,
            headers=headers,
            timeout=self._timeout,
            extensions={"trace": _watched_by(deadline)},
        )
        # Streamed, so that only the start of a long error page is ever read.
        response = self._client.send(request, stream=True, follow_redirects=False)
        try:
            excerpt = "" if response.is_success else self._excerpt(response)
        finally:
            response.close()
        return _Answer(response.status_code, response.reason_phrase, response.headers, excerpt)

    def _excerpt(self, response: httpx.Response) -> str:
        """The start of the receiver's answer, as one short line, when it is not a web page."""
        if "html" in response.headers.get("content-type", ""):
            return ""
        start = b""
        try:
            for chunk in response.iter_bytes():
                start += chunk
                if len(start) >= _EXCERPT_BYTES:
                    break
        except httpx.HTTPError:
            pass  # the status says enough
        text = start[:_EXCERPT_BYTES].decode(response.encoding or "utf-8", "replace")
        text = " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())
        if len(text) > _EXCERPT_CHARS:
            text = text[:_EXCERPT_CHARS].rstrip() + "…"
        return scrubbed(text, self._secrets)

    def _failure(self, error: httpx.HTTPError, out_of_time: bool) -> DeliveryError:
        """What went wrong before the receiver answered (in time)."""
        where = f"POST {self._shown}"
        if isinstance(error, httpx.ConnectTimeout) and not out_of_time:
            seconds = self._channel.connect_timeout_seconds
            return DeliveryError(f"{where}: no connection within {seconds:g} s")
        if isinstance(error, httpx.TimeoutException) or out_of_time:
            seconds = self._channel.timeout_seconds
            return DeliveryError(f"{where}: no answer within {seconds:g} s")
        if isinstance(error, httpx.LocalProtocolError):
            message = f"{where}: the request could not be sent; check the channel's headers"
            return DeliveryError(message, permanent=True)
        detail = scrubbed(str(error), self._secrets) or type(error).__name__
        if isinstance(error, httpx.ConnectError):
            return DeliveryError(f"{where}: cannot connect: {detail}")
        return DeliveryError(f"{where} failed: {detail}")

    def _refusal(self, answer: _Answer) -> DeliveryError:
        """What a non-2xx answer means: permanent for most 4xx and every redirect."""
        message = f"POST {self._shown} answered {answer.status} {answer.reason}".rstrip()
        if answer.excerpt:
            message += f": {answer.excerpt}"
        if 300 <= answer.status < 400:
            location = answer.headers.get("location")
            if location:
                message += f" (to {masked_url(urljoin(self._url, location))})"
            message += "; redirects are not followed: update the channel's url"
            return DeliveryError(message, permanent=True)
        retry_after = None
        if answer.status in (429, 503):
            retry_after = retry_after_seconds(answer.headers.get("retry-after"), self._clock())
            if retry_after is not None:
                message += f"; it asked to retry after {retry_after:g} s"
        permanent = 400 <= answer.status < 500 and answer.status not in (408, 429)
        return DeliveryError(message, permanent=permanent, retry_after=retry_after)


def _watched_by(deadline: Deadline) -> Callable[[str, dict[str, Any]], None]:
    """An httpx trace hook that hands each new connection to the deadline."""

    def trace(event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            deadline.watch(info["return_value"].get_extra_info("socket"))

    return trace
