"""Deliver digests: one module per channel type behind one small protocol.

A notifier raises `DeliveryError` when the receiver did not take the digest, saying
whether trying again can help and, when the receiver said so, how soon. Notifiers are
found by the channel's `type:` in an explicit registry.
"""

from __future__ import annotations

from collections.abc import Callable

from worker.errors import Problem
from worker.notify.apprise import AppriseNotifier, apprise_mistakes
from worker.notify.clients import Clients, Notifier
from worker.notify.file import FileNotifier
from worker.settings.config import (
    AppriseChannel,
    Channel,
    Config,
    EmailChannel,
    FileChannel,
    WebhookChannel,
)

__all__ = ["NOTIFIERS", "Clients", "Notifier", "channel_mistakes", "notifier_for"]


def _file(channel: Channel, clients: Clients) -> Notifier:
    assert isinstance(channel, FileChannel)  # the registry is keyed by `type:`
    return FileNotifier(channel)


# The email and webhook notifiers are imported by the first channel of their type: a
# daemon with neither never loads smtplib nor httpx (some 8 MB together).
def _email(channel: Channel, clients: Clients) -> Notifier:
    from worker.notify.email import EmailNotifier, tls_context

    assert isinstance(channel, EmailChannel)  # the registry is keyed by `type:`
    return EmailNotifier(channel, tls_context(channel.smtp, clients.tls))


def _webhook(channel: Channel, clients: Clients) -> Notifier:
    from worker.notify.webhook import WebhookNotifier

    assert isinstance(channel, WebhookChannel)  # the registry is keyed by `type:`
    return WebhookNotifier(channel, clients.http)


def _apprise(channel: Channel, clients: Clients) -> Notifier:
    assert isinstance(channel, AppriseChannel)  # the registry is keyed by `type:`
    return AppriseNotifier(channel)


NOTIFIERS: dict[str, Callable[[Channel, Clients], Notifier]] = {
    "file": _file,
    "email": _email,
    "webhook": _webhook,
    "apprise": _apprise,
}


def channel_mistakes(config: Config) -> list[Problem]:
    """What the config's channels ask that their notifiers cannot do, one problem each."""
    return apprise_mistakes(config)


def notifier_for(channel: Channel, clients: Clients) -> Notifier:
    """The notifier for a channel, by its `type:`."""
    return NOTIFIERS[channel.type](channel, clients)
