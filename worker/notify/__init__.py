"""Deliver digests: one module per channel type behind one small protocol.

A notifier raises `DeliveryError` when the receiver did not take the digest, saying
whether trying again can help and, when the receiver said so, how soon.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from worker.config import Channel, EmailChannel, WebhookChannel
from worker.render import Rendered

__all__ = ["NOTIFIERS", "Clients", "DeliveryError", "Notifier", "notifier_for"]


class DeliveryError(Exception):
    """A delivery failed; the message says why, without secrets."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent  # trying again cannot help (a 400, an SMTP 550)
        self.retry_after = retry_after  # seconds the receiver asked us to wait (Retry-After)


class Notifier(Protocol):
    """Sends one rendered digest; raises DeliveryError when the receiver did not take it."""

    def deliver(self, digest: dict[str, Any], rendered: Rendered) -> None: ...


@dataclass(frozen=True)
class Clients:
    """What notifiers send with: made once at the edge, and pointed at test servers in tests."""

    http: httpx.Client
    tls: ssl.SSLContext


def _file(channel: Channel, clients: Clients) -> Notifier:
    from worker.notify.file import FileNotifier

    return FileNotifier(channel)


def _email(channel: Channel, clients: Clients) -> Notifier:
    from worker.notify.email import EmailNotifier, tls_context

    assert isinstance(channel, EmailChannel)  # the registry is keyed by `type:`
    return EmailNotifier(channel, tls_context(channel.smtp, clients.tls))


def _webhook(channel: Channel, clients: Clients) -> Notifier:
    from worker.notify.webhook import WebhookNotifier

    assert isinstance(channel, WebhookChannel)  # the registry is keyed by `type:`
    return WebhookNotifier(channel, clients.http)


NOTIFIERS: dict[str, Callable[[Channel, Clients], Notifier]] = {
    "file": _file,
    "email": _email,
    "webhook": _webhook,
}


def notifier_for(channel: Channel, clients: Clients) -> Notifier:
    """The notifier for a channel, by its `type:`."""
    return NOTIFIERS[channel.type](channel, clients)
