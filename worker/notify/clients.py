"""What every notifier is: a method that delivers a rendered digest, one that sends a short
alert about wirewatch itself, and the network clients it sends with."""

from __future__ import annotations

import ssl
import threading
from typing import TYPE_CHECKING, Protocol

from worker.errors import StoppingError
from worker.model import Alert, Digest, Rendered

if TYPE_CHECKING:
    import httpx

__all__ = ["Clients", "Notifier"]


class Notifier(Protocol):
    """Sends one rendered digest, or one alert; raises DeliveryError when the receiver did
    not take it."""

    def deliver(self, digest: Digest, rendered: Rendered) -> None: ...

    def alert(self, alert: Alert) -> None: ...


class Clients:
    """What notifiers and feeds send with: made at the edge when first needed, or given
    (pointed at test servers in tests)."""

    def __init__(self, http: httpx.Client | None = None, tls: ssl.SSLContext | None = None) -> None:
        self._http = http
        self._tls = tls
        self._made: httpx.Client | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def http(self) -> httpx.Client:
        """The HTTP client; a daemon that posts no webhook and reads no feed never makes
        one, nor imports httpx (some 7 MB)."""
        with self._lock:
            if self._closed and self._http is self._made:
                # A send still running when the stop's grace ran out: the client made here
                # is closed, and one made now would never be. It fails, and the digest
                # waits for the next start.
                raise StoppingError("wirewatch is stopping: sent again when it starts")
            if self._http is None:
                import httpx

                self._http = self._made = httpx.Client()
            return self._http

    @property
    def tls(self) -> ssl.SSLContext:
        """The system's TLS settings, its certificate store read when first needed."""
        with self._lock:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            return self._tls

    def close(self) -> None:
        """Close the HTTP client made here; one given is its giver's to close."""
        with self._lock:
            self._closed = True
            if self._made is not None:
                self._made.close()
