"""The `apprise` channel: each digest as one message to every service the channel's Apprise
URLs name (Telegram, Matrix, Mattermost, ntfy, Pushover, ...), in Markdown or as text.

Apprise is an optional extra, imported when a channel first uses it. Each `deliver` makes
one attempt at every URL; the outbox decides when to try again. A digest some service
took counts as delivered, as an email some recipient took does: a retry would send it to
that service twice. An attempt ends within the channel's `timeout_seconds`. URLs are
shown by their scheme and server only, and what Apprise says of a failure is repeated
cleared of every part of the URLs that may be secret.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Literal, TypeVar

from worker.errors import DeliveryError, Problem
from worker.model import Alert, Digest, Rendered
from worker.notify.messages.markdown import markdown_message
from worker.notify.redact import masked_service_url, scrubbed, service_url_secrets
from worker.settings.config import AppriseChannel, Config

if TYPE_CHECKING:
    from apprise import NotifyBase

__all__ = ["AppriseNotifier", "apprise_mistakes"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Format = Literal["markdown", "text"]

# Room for a message when no service says it needs less: Apprise's own default.
_ROOM = 32768


class _Heard(logging.Filter):
    """Takes what Apprise logs, so that none of it reaches a handler: its lines may show a
    token (a Telegram bot's is in the address it posts to). While a thread sends, the
    lines of that thread are kept for it: channels send side by side, and each repeats,
    cleared of its secrets, only what was said of its own URLs."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        lines: list[str] | None = getattr(self._local, "lines", None)
        if lines is not None and record.levelno >= logging.WARNING:
            lines.append(record.getMessage())
        return False

    @contextmanager
    def listening(self) -> Iterator[list[str]]:
        """The lines Apprise logs in this thread until the block ends."""
        lines: list[str] = []
        self._local.lines = lines
        try:
            yield lines
        finally:
            self._local.lines = None


_HEARD = _Heard()


def _apprise() -> ModuleType:
    """Apprise, imported at first use, what it logs heard by its notifier alone."""
    import apprise

    said = logging.getLogger(apprise.LOGGER_NAME)
    if _HEARD not in said.filters:
        said.setLevel(logging.WARNING)  # why a send failed; the rest is not ours to show
        said.addFilter(_HEARD)
    return apprise


def _service(url: str) -> NotifyBase | None:
    """Apprise's notifier for the URL, or None when Apprise does not know it."""
    found: NotifyBase | None = _apprise().Apprise.instantiate(url)
    return found


def apprise_mistakes(config: Config) -> list[Problem]:
    """A problem for each URL of an apprise channel that Apprise cannot send to."""
    return [
        config.problem(("channels", name, "urls", index), _mistake(url.get_secret_value()))
        for name, channel in config.channels.items()
        if isinstance(channel, AppriseChannel)
        for index, url in enumerate(channel.urls)
        if _service(url.get_secret_value()) is None
    ]


def _mistake(url: str) -> str:
    shown = masked_service_url(url)
    scheme = url.partition("://")[0].lower()
    if scheme not in _apprise().NotificationManager().schemas():
        return (
            f"'{shown}' is not a URL Apprise knows (no service '{scheme}://');"
            " see https://github.com/caronc/apprise/wiki for the URL of each service"
        )
    return (
        f"'{shown}' is not a {scheme}:// URL Apprise can send to: a part is missing or"
        " malformed; see https://github.com/caronc/apprise/wiki for its form"
    )


@dataclass(frozen=True)
class _Url:
    text: str
    shown: str


class AppriseNotifier:
    """Sends each digest to every URL of the channel, titled with the digest's subject."""

    def __init__(self, channel: AppriseChannel) -> None:
        self._channel = channel
        self._urls = [
            _Url(u.get_secret_value(), masked_service_url(u.get_secret_value()))
            for u in channel.urls
        ]
        self._secrets = [s for url in self._urls for s in service_url_secrets(url.text)]

    def deliver(self, digest: Digest, rendered: Rendered) -> None:
        """Send the digest once to each URL; DeliveryError unless some service took it."""
        services = self._services()
        if self._channel.format == "text":
            body = rendered.text
        else:
            body = markdown_message(digest, _room(services, rendered.subject))
        self._send(
            f"digest {digest.digest_id}", services, rendered.subject, body, self._channel.format
        )

    def alert(self, alert: Alert) -> None:
        """Send the alert once to each URL, as text; DeliveryError unless some service took it."""
        self._send(f"alert {alert.id}", self._services(), alert.subject, alert.text, "text")

    def _services(self) -> list[tuple[_Url, NotifyBase]]:
        apprise = _apprise()
        services = []
        for url in self._urls:
            service = _service(url.text)
            if service is None:  # checked when the config was loaded; the environment changed
                raise DeliveryError(f"{url.shown}: {_mistake(url.text)}", permanent=True)
            if "overflow=" not in url.text:
                # A message too long for the service is cut, never refused on every retry.
                service.overflow_mode = apprise.OverflowMode.TRUNCATE
            services.append((url, service))
        return services

    def _send(
        self,
        what: str,
        services: Sequence[tuple[_Url, NotifyBase]],
        title: str,
        body: str,
        body_format: Format,
    ) -> None:
        shown = ", ".join(url.shown for url, _ in services)
        log.debug("%s: to %s (%s, %d characters): %s", what, shown, body_format, len(body), body)
        seconds = self._channel.timeout_seconds
        failures = _in_time(seconds, lambda: self._notify_each(services, title, body, body_format))
        if failures is None:
            raise DeliveryError(f"{shown}: not all sent within {seconds:g} s")
        if len(failures) == len(services):
            raise DeliveryError("; ".join(failures))
        if failures:
            # The others have it: a retry would send it to them twice.
            log.warning("%s delivered, but not to %s", what, "; ".join(failures))

    def _notify_each(
        self,
        services: Sequence[tuple[_Url, NotifyBase]],
        title: str,
        body: str,
        body_format: Format,
    ) -> list[str]:
        """Why each service that did not take the message did not, one line each."""
        failures = []
        kind = getattr(_apprise().NotifyFormat, body_format.upper())
        for url, service in services:
            with _HEARD.listening() as said:
                try:
                    taken = service.notify(body=body, title=title, body_format=kind)
                except Exception as error:  # a plugin's fault must not end the delivery thread
                    taken, said = False, [*said, f"{type(error).__name__}: {error}"]
            if not taken:
                reason = (
                    scrubbed(" ".join(said).strip(), self._secrets) or "refused, no reason given"
                )
                failures.append(f"{url.shown}: {reason}")
        return failures


def _room(services: Sequence[tuple[_Url, NotifyBase]], title: str) -> int:
    """The most characters a body may have for every service to take it whole."""
    room = _ROOM
    for _, service in services:
        budget = int(service.body_maxlen)
        if not service.title_maxlen:  # the service puts the title in the body
            budget -= len(title) + 2
        room = min(room, budget)
    return max(room, 1)


def _in_time(seconds: float, work: Callable[[], T]) -> T | None:
    """What `work` gives, or None when it has not ended within `seconds`.

    Apprise's services open their own connections, out of reach of a deadline that shuts
    them down; so the work runs in a thread of its own, left to end by itself if late.
    """
    done: queue.Queue[T] = queue.Queue(maxsize=1)
    thread = threading.Thread(target=lambda: done.put(work()), name="apprise-send", daemon=True)
    thread.start()
    try:
        return done.get(timeout=seconds)
    except queue.Empty:
        return None
