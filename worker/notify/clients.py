"""What every notifier is: a method that delivers a rendered digest, one that sends a short
alert about wirewatch itself, and the network clients it sends with."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Protocol

import httpx

from worker.model import Alert, Digest, Rendered

__all__ = ["Clients", "Notifier"]


class Notifier(Protocol):
    """Sends one rendered digest, or one alert; raises DeliveryError when the receiver did
    not take it."""

    def deliver(self, digest: Digest, rendered: Rendered) -> None: ...

    def alert(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class Clients:
    """What notifiers send with: made once at the edge, and pointed at test servers in tests."""

    http: httpx.Client
    tls: ssl.SSLContext
