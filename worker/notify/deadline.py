"""A time limit on one whole delivery, kept by shutting its connection down.

A socket timeout limits each read on its own: a receiver that sends a byte every few
seconds never trips it, and would hold its channel's delivery for ever.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

__all__ = ["Deadline"]


class Deadline:
    """Shuts down the connections it watches once `seconds` have passed since it began."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._passed = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True  # a stopping daemon must not wait for it

    @property
    def passed(self) -> bool:
        """Whether the time ran out, so that the connections were shut down."""
        with self._lock:
            return self._passed

    @property
    def left(self) -> float:
        """The seconds left before the time runs out; 0 once it has."""
        return max(0.0, self._ends - time.monotonic())

    def watch(self, connection: socket.socket) -> None:
        """Shut this connection down when the time runs out; a plain socket, before any TLS."""
        # A duplicate of our own: it still reaches the connection once TLS has taken the
        # socket over, and its number cannot pass to another connection while we hold it.
        own = connection.dup()
        with self._lock:
            self._watched.append(own)
            if self._passed:
                _shut_down(own)

    def __enter__(self) -> Deadline:
        self._ends = time.monotonic() + self.seconds
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            for own in self._watched:
                own.close()
            self._watched.clear()

    def _expire(self) -> None:
        with self._lock:
            self._passed = True
            for own in self._watched:
                _shut_down(own)


def _shut_down(connection: socket.socket) -> None:
    # Unlike close(), shutdown() wakes a read blocked on the connection in another thread;
    # it fails only when the other end has closed the connection already.
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
