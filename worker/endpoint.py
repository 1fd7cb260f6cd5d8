"""The daemon's HTTP endpoint (`http: {listen: HOST:PORT}`): `/metrics` for Prometheus,
`/healthz` for what is wrong, `/readyz` for whether it has started.

A small threaded server in the daemon, started once and kept across config restarts; each
request is answered from what is known at that moment, and never changes anything.
"""

from __future__ import annotations

import errno
import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from worker.errors import ConfigError
from worker.health import Health
from worker.metrics import Metrics
from worker.settings.config import Config
from worker.status import health_report

__all__ = ["PATHS", "Endpoint"]

PATHS = ("/metrics", "/healthz", "/readyz")  # what the endpoint answers

log = logging.getLogger(__name__)

Waiting = Callable[[], str | None]  # what the daemon still waits for before it is ready


class Endpoint:
    """The HTTP server, in a thread of its own."""

    def __init__(self, config: Config, metrics: Metrics, health: Health, waiting: Waiting):
        assert config.http is not None
        self.listen = config.http.listen
        self._config = config
        answers: list[Callable[[], tuple[int, str, bytes]]] = [
            lambda: (200, CONTENT_TYPE_LATEST, metrics.text()),
            lambda: _health(health),
            lambda: _readiness(waiting()),
        ]
        self._answers = dict(zip(PATHS, answers, strict=True))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen, or ConfigError saying why not (the port is taken, say)."""
        assert self._config.http is not None
        try:
            server = ThreadingHTTPServer(self._config.http.address, _handler(self._answers))
        except OSError as error:
            raise ConfigError([self._config.problem(("http", "listen"), _why(error))]) from None
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
        self._thread.start()
        log.info("serving /metrics, /healthz and /readyz on http://%s", self.listen)

    def stop(self) -> None:
        """Stop listening."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None


def _why(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "the port is taken by another program; stop it, or choose another port"
    return f"cannot listen there: {error.strerror or error}"


def _health(health: Health) -> tuple[int, str, bytes]:
    report = health_report(health)
    status = 200 if report["healthy"] else 503
    return status, "application/json", json.dumps(report).encode()


def _readiness(waiting: str | None) -> tuple[int, str, bytes]:
    report = {"ready": waiting is None, "waiting_for": waiting}
    return 200 if waiting is None else 503, "application/json", json.dumps(report).encode()


def _handler(
    answers: dict[str, Callable[[], tuple[int, str, bytes]]],
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = answers.get(self.path.split("?", 1)[0])
            if answer is None:
                status, kind, body = 404, "text/plain", b"/metrics, /healthz or /readyz\n"
            else:
                try:
                    status, kind, body = answer()
                except Exception:  # a fault of ours: said, and the server goes on
                    log.exception("http: %s could not be answered", self.path)
                    status, kind, body = 500, "text/plain", b"see the log\n"
            self.send_response(HTTPStatus(status))
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http: " + format, *args)

    return Handler
