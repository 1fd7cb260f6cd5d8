"""What systemd is told of a `Type=notify` service: ready, alive (the watchdog), stopping.

A few lines on the datagram socket systemd names in `$NOTIFY_SOCKET` (the protocol of
sd_notify(3)); without it (not run by systemd) nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

__all__ = ["Systemd"]

log = logging.getLogger(__name__)


class Systemd:
    """The service manager, when there is one: told of readiness, liveness and the stop."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        # An abstract socket is written with '@' for its leading NUL byte.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        pid = environ.get("WATCHDOG_PID")
        usec = environ.get("WATCHDOG_USEC", "")
        ours = pid is None or pid == str(os.getpid())
        self._watchdog = int(usec) / 1_000_000 if usec.isdigit() and ours else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ready(self) -> None:
        """The daemon has started: the start-up scan is done."""
        self._send("READY=1\nSTATUS=watching the folders")

    def stopping(self) -> None:
        """The daemon is stopping; the watchdog is stopped with it."""
        self._stop.set()
        self._send("STOPPING=1")

    def watch(self, alive: Callable[[], bool]) -> None:
        """Ping the watchdog at half its interval while `alive()` says so; if it says not,
        the pings stop and systemd restarts the daemon after `WatchdogSec`."""
        if self._watchdog is None or not self._address:
            return
        interval = self._watchdog / 2
        self._thread = threading.Thread(
            target=self._ping, args=[alive, interval], name="watchdog", daemon=True
        )
        self._thread.start()

    def _ping(self, alive: Callable[[], bool], interval: float) -> None:
        while not self._stop.wait(interval):
            if alive():
                self._send("WATCHDOG=1")

    def _send(self, message: str) -> None:
        if not self._address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self._address)
                sock.sendall(message.encode())
        except OSError as error:  # systemd gone: the service goes on regardless
            log.debug("%s: not told %s: %s", self._address, message.split("\n")[0], error)
