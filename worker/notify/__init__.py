"""Deliver digests: one module per channel type behind one small protocol."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from worker.config import Channel
from worker.render import Rendered

__all__ = ["DeliveryError", "Notifier", "notifier_for", "supported"]


class DeliveryError(Exception):
    """A delivery failed; the message says why, without secrets."""


class Notifier(Protocol):
    """Sends one rendered digest; raises DeliveryError when the receiver did not take it."""

    def deliver(self, document: dict[str, Any], rendered: Rendered) -> None: ...


def _file(channel: Channel) -> Notifier:
    from worker.notify.file import FileNotifier

    return FileNotifier(channel)


NOTIFIERS: dict[str, Callable[[Channel], Notifier]] = {"file": _file}


def supported(channel: Channel) -> bool:
    """Whether this version can deliver to a channel of this type."""
    return channel.type in NOTIFIERS


def notifier_for(channel: Channel) -> Notifier:
    """The notifier for a channel, by its `type:`."""
    return NOTIFIERS[channel.type](channel)
