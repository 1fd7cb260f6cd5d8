"""Real servers on 127.0.0.1 for the tests: an SMTP server (aiosmtpd) that does as told,
and a receiver that answers too slowly ever to finish."""

from __future__ import annotations

import email
import email.policy
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

LOGIN, PASSWORD = "analyst", "s3cret-Pa55word"


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated: bool
    tls: bool

    @property
    def message(self) -> EmailMessage:
        return parse(self.content)


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps what it accepts, answers what a test tells it to."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> reply to RCPT
    replies: dict[str, list[str]] = field(default_factory=dict)  # command -> next replies
    on_data: Callable[[], None] | None = None  # called as a message arrives, before the reply

    def _next(self, command: str) -> str | None:
        queue = self.replies.get(command)
        return queue.pop(0) if queue else None

    async def handle_MAIL(  # noqa: N802 - aiosmtpd finds its hooks by these names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        return self._next("MAIL") or "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        reply = self._next("DATA")
        if reply:
            return reply
        if self.on_data is not None:
            self.on_data()
        assert server.transport is not None
        content = envelope.original_content
        assert isinstance(content, bytes)
        self.received.append(
            Received(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                content,
                bool(session.authenticated),
                server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 2.0.0 queued"


@dataclass(frozen=True)
class Server:
    port: int
    mailbox: Mailbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def check_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    accepted = isinstance(data, LoginPassword) and data == (LOGIN.encode(), PASSWORD.encode())
    return AuthResult(success=accepted, handled=False)


class Trickle:
    """A receiver on 127.0.0.1 that answers each connection one byte at a time, so slowly
    that its answer never ends, yet often enough that no single read times out."""

    def __init__(self, answer: bytes, every: float = 0.2, reads_first: bool = True) -> None:
        self._answer = answer
        self._every = every
        self._reads_first = reads_first  # HTTP: the request first; SMTP: the greeting first
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.connections = 0
        self.sent = 0  # bytes of the answer sent, over all connections
        self.hung_up = 0  # connections the client shut down before the answer was done
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._answer_slowly, args=[client], daemon=True).start()

    def _answer_slowly(self, client: socket.socket) -> None:
        with client:
            if self._reads_first:
                client.recv(65536)
            for byte in self._answer:
                if self._stopped.wait(self._every):
                    return
                try:
                    client.sendall(bytes([byte]))
                    with self._lock:
                        self.sent += 1
                except OSError:
                    with self._lock:
                        self.hung_up += 1
                    return


class Tunnel:
    """An HTTP proxy on 127.0.0.1 that takes CONNECT requests, notes the host asked for,
    and joins every tunnel to the one server it stands in front of."""

    def __init__(self, server_port: int) -> None:
        self._server_port = server_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.asked: list[str] = []  # the `host:port` of each CONNECT
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            threading.Thread(target=self._join, args=[client], daemon=True).start()

    def _join(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(4096)
        self.asked.append(head.split(b" ")[1].decode())
        server = socket.create_connection(("127.0.0.1", self._server_port))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with client, server:
            _pipe(client, server)


def _pipe(one: socket.socket, other: socket.socket) -> None:
    """Bytes from each to the other until either end closes."""
    while True:
        ready, _, _ = select.select([one, other], [], [], 10)
        if not ready:
            return
        for end in ready:
            data = end.recv(65536)
            if not data:
                return
            (other if end is one else one).sendall(data)
