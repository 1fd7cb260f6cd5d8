"""The email channel: the message it builds, and delivery to a real SMTP server on loopback."""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tests.helpers import BACKLOG_RULES, add_backlog, make_project, wait_for
from tests.servers import LOGIN, PASSWORD, Server, Trickle, check_login, free_port, parse
from worker.cli import main
from worker.deliver.outbox import Outbox
from worker.digest.render import Renderer
from worker.errors import DeliveryError
from worker.model import Digest, Rendered
from worker.notify import Clients, notifier_for
from worker.notify.email import EmailNotifier, build_message
from worker.settings.config import EmailChannel, load_config
from worker.store import open_store

SENDER = "wirewatch@example.org"
RECIPIENTS = ("analyst@example.org", "desk@example.net")


# --- the message ---------------------------------------------------------------------------

DIGEST = Digest.from_document(
    {
        "digest_id": "0123456789abcdef01234567",
        "channel": "mail",
        "generated_at": "2026-11-22T08:00:00+01:00",
        "period": {"from": "2026-11-21T08:00:00+01:00", "to": "2026-11-22T08:00:00+01:00"},
        "counts": {"articles": 2, "matches": 2},
    }
)
RENDERED = Rendered(
    subject="wirewatch: 2 articles matched: Си Цзиньпин и Путин, 习近平会见普京",
    text="Си Цзиньпин встретился с Путиным.\n习近平会见普京。\n",
    html="<p>Си Цзиньпин встретился с <b>Путиным</b>.</p>\n<p>习近平会见普京。</p>\n",
    json="{}\n",
)


def parts_of(message: EmailMessage) -> list[tuple[str, str]]:
    """(content type, decoded text) of each part, line ends as in Python strings."""
    return [
        (part.get_content_type(), part.get_content().replace("\r\n", "\n"))
        for part in message.iter_parts()
        if isinstance(part, EmailMessage)
    ]


def test_message_is_text_and_html_alternatives() -> None:
    message = parse(build_message(DIGEST, RENDERED, SENDER, RECIPIENTS).as_bytes())
    assert message.get_content_type() == "multipart/alternative"
    assert parts_of(message) == [("text/plain", RENDERED.text), ("text/html", RENDERED.html)]
    assert all(part.get_content_charset() == "utf-8" for part in message.iter_parts())


def test_headers_come_from_the_digest() -> None:
    message = parse(build_message(DIGEST, RENDERED, SENDER, RECIPIENTS).as_bytes())
    assert message["Subject"] == RENDERED.subject
    assert message["From"] == SENDER
    assert [a.addr_spec for a in message["To"].addresses] == list(RECIPIENTS)
    assert message["Date"].datetime == DIGEST.generated_at
    assert message["Message-ID"] == "<0123456789abcdef01234567@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Wirewatch-Digest"] == DIGEST.digest_id


def test_non_ascii_is_encoded_for_any_server() -> None:
    raw = build_message(
        DIGEST, RENDERED, "Вирвотч <wirewatch@example.org>", ["Аналитик <a@example.org>"]
    ).as_bytes()
    assert raw.isascii()
    message = parse(raw)
    assert message["Subject"] == RENDERED.subject
    assert message["From"].addresses[0].display_name == "Вирвотч"
    assert message["To"].addresses[0].display_name == "Аналитик"


def test_a_resend_is_the_same_bytes() -> None:
    first = build_message(DIGEST, RENDERED, SENDER, RECIPIENTS).as_bytes()
    assert build_message(DIGEST, RENDERED, SENDER, RECIPIENTS).as_bytes() == first


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (None, RENDERED.subject),
        ("Morning digest", "Morning digest"),
        ("Two\nlines", "Two lines"),
    ],
)
def test_the_channel_subject_replaces_the_rendered_one(subject: str | None, expected: str) -> None:
    message = build_message(DIGEST, RENDERED, SENDER, RECIPIENTS, subject)
    assert parse(message.as_bytes())["Subject"] == expected


@pytest.mark.parametrize(
    ("sender", "domain"),
    [
        ("wirewatch@example.org", "example.org"),
        ("Wirewatch <ww@news.example.org>", "news.example.org"),
        ("wirewatch@пример.рф", "localhost"),
    ],
)
def test_message_id_uses_the_sender_domain(sender: str, domain: str) -> None:
    message = build_message(DIGEST, RENDERED, sender, RECIPIENTS)
    assert message["Message-ID"] == f"<{DIGEST.digest_id}@{domain}>"


# --- a real SMTP server on loopback --------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: trustme.CA
    server: ssl.SSLContext  # presents a certificate for 127.0.0.1 signed by the CA
    client: ssl.SSLContext  # trusts the CA


@pytest.fixture(scope="module")
def certificates() -> Certificates:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Certificates(ca, server, client)


@pytest.fixture(scope="module")
def seeds_digest(tmp_path_factory: pytest.TempPathFactory) -> Digest:
    """The digest of the seed articles, as the default project's file channel writes it."""
    project = make_project(tmp_path_factory.mktemp("project"))
    assert main(["run", "--once", "-c", str(project.config)]) == 0
    (document,) = project.digests()
    return Digest.from_document(document)


def email_channel(port: int, **smtp: Any) -> EmailChannel:
    settings = {"host": "127.0.0.1", "port": port, "security": "none", **smtp}
    return EmailChannel.model_validate(
        {"type": "email", "to": list(RECIPIENTS), "from": SENDER, "smtp": settings}
    )


def send(channel: EmailChannel, tls: ssl.SSLContext | None = None) -> None:
    notifier = EmailNotifier(channel, tls or ssl.create_default_context())
    notifier.deliver(DIGEST, RENDERED)


def test_seeds_digest_reaches_every_recipient(
    smtp_server: Callable[..., Server], seeds_digest: Digest
) -> None:
    server = smtp_server()
    rendered = Renderer().render(seeds_digest)
    EmailNotifier(email_channel(server.port), ssl.create_default_context()).deliver(
        seeds_digest, rendered
    )
    (received,) = server.mailbox.received
    assert (received.mail_from, received.rcpt_tos) == (SENDER, list(RECIPIENTS))
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert parts_of(message) == [("text/plain", rendered.text), ("text/html", rendered.html)]
    assert message["Subject"] == rendered.subject
    assert message["From"] == SENDER
    assert [a.addr_spec for a in message["To"].addresses] == list(RECIPIENTS)
    assert message["Date"].datetime == seeds_digest.generated_at.replace(microsecond=0)
    assert message["Message-ID"] == f"<{seeds_digest.digest_id}@example.org>"


def test_a_resend_is_recognisably_the_same_message(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    channel = email_channel(server.port)
    send(channel)
    send(channel)
    first, second = server.mailbox.received
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert first.content == second.content


def test_utf8_subject_from_the_channel(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    channel = email_channel(server.port).model_copy(update={"subject": "Дайджест: 习近平 и Путин"})
    send(channel)
    assert server.mailbox.received[0].message["Subject"] == "Дайджест: 习近平 и Путин"


def test_starttls_with_a_trusted_certificate(
    smtp_server: Callable[..., Server], certificates: Certificates
) -> None:
    server = smtp_server(tls_context=certificates.server, require_starttls=True)
    send(email_channel(server.port, security="starttls"), certificates.client)
    assert [r.tls for r in server.mailbox.received] == [True]


def test_implicit_tls_with_a_trusted_certificate(
    smtp_server: Callable[..., Server], certificates: Certificates
) -> None:
    server = smtp_server(ssl_context=certificates.server)
    send(email_channel(server.port, security="ssl"), certificates.client)
    assert [r.tls for r in server.mailbox.received] == [True]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_an_untrusted_certificate_is_permanent(
    smtp_server: Callable[..., Server], certificates: Certificates, security: str
) -> None:
    options = (
        {"ssl_context": certificates.server}
        if security == "ssl"
        else {"tls_context": certificates.server, "require_starttls": True}
    )
    server = smtp_server(**options)
    with pytest.raises(DeliveryError, match="failed verification") as caught:
        send(email_channel(server.port, security=security), ssl.create_default_context())
    assert caught.value.permanent
    assert server.mailbox.received == []


def test_the_ca_file_setting_trusts_a_private_ca(
    smtp_server: Callable[..., Server], certificates: Certificates, tmp_path: Path
) -> None:
    server = smtp_server(tls_context=certificates.server, require_starttls=True)
    ca_file = tmp_path / "ca.pem"
    certificates.ca.cert_pem.write_to_path(str(ca_file))
    channel = email_channel(server.port, security="starttls", ca_file=str(ca_file))
    with httpx.Client() as http:
        notifier = notifier_for(channel, Clients(http=http, tls=ssl.create_default_context()))
        notifier.deliver(DIGEST, RENDERED)
    assert [r.tls for r in server.mailbox.received] == [True]


def test_a_server_without_starttls_is_permanent(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    with pytest.raises(DeliveryError, match="does not offer STARTTLS") as caught:
        send(email_channel(server.port, security="starttls"))
    assert caught.value.permanent
    assert server.mailbox.received == []


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_login_accepted(
    smtp_server: Callable[..., Server], certificates: Certificates, security: str
) -> None:
    tls: dict[str, Any] = (
        # aiosmtpd cannot tell an implicit TLS connection from a plain one.
        {"ssl_context": certificates.server, "auth_require_tls": False}
        if security == "ssl"
        else {"tls_context": certificates.server}
    )
    server = smtp_server(authenticator=check_login, **tls)
    channel = email_channel(server.port, security=security, username=LOGIN, password=PASSWORD)
    send(channel, certificates.client)
    assert [r.authenticated for r in server.mailbox.received] == [True]


def test_login_refused_is_permanent_and_keeps_the_password_secret(
    smtp_server: Callable[..., Server],
    certificates: Certificates,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = smtp_server(authenticator=check_login, tls_context=certificates.server)
    wrong = "not-the-Pa55word"
    channel = email_channel(server.port, security="starttls", username=LOGIN, password=wrong)
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as caught:
        send(channel, certificates.client)
    assert caught.value.permanent
    message = str(caught.value)
    assert "535" in message
    assert "smtp.username" in message
    assert "SMTP_PASSWORD" in message
    assert wrong not in message
    assert wrong not in caplog.text
    assert wrong not in repr(channel)


def test_a_server_that_offers_no_login_is_permanent(
    smtp_server: Callable[..., Server], certificates: Certificates
) -> None:
    # Over implicit TLS, aiosmtpd offers AUTH only when told not to require STARTTLS for it.
    server = smtp_server(authenticator=check_login, ssl_context=certificates.server)
    channel = email_channel(server.port, security="ssl", username=LOGIN, password=PASSWORD)
    with pytest.raises(DeliveryError, match=r"offers no login \(AUTH\)") as caught:
        send(channel, certificates.client)
    assert caught.value.permanent


def test_no_login_method_in_common_is_permanent(
    smtp_server: Callable[..., Server], certificates: Certificates
) -> None:
    server = smtp_server(
        authenticator=check_login,
        tls_context=certificates.server,
        auth_exclude_mechanism=["LOGIN", "PLAIN"],
    )
    channel = email_channel(server.port, security="starttls", username=LOGIN, password=PASSWORD)
    with pytest.raises(DeliveryError, match="No suitable authentication method") as caught:
        send(channel, certificates.client)
    assert caught.value.permanent


def test_try_later_is_temporary_and_the_next_attempt_delivers(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server()
    server.mailbox.replies["DATA"] = ["451 4.3.0 try later"]
    channel = email_channel(server.port)
    with pytest.raises(DeliveryError, match=r"451 4\.3\.0 try later") as caught:
        send(channel)
    assert not caught.value.permanent
    assert server.mailbox.received == []
    send(channel)
    assert len(server.mailbox.received) == 1


def test_no_such_user_for_every_recipient_is_permanent(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server()
    server.mailbox.refuse = dict.fromkeys(RECIPIENTS, "550 5.1.1 no such user")
    with pytest.raises(DeliveryError) as caught:
        send(email_channel(server.port))
    assert caught.value.permanent
    assert "550 5.1.1 no such user" in str(caught.value)
    assert all(address in str(caught.value) for address in RECIPIENTS)
    assert server.mailbox.received == []


def test_one_recipient_refused_is_delivered_to_the_other_with_a_warning(
    smtp_server: Callable[..., Server], caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_server()
    server.mailbox.refuse = {"desk@example.net": "550 5.1.1 no such user"}
    with caplog.at_level(logging.WARNING, logger="worker.notify.email"):
        send(email_channel(server.port))
    assert [r.rcpt_tos for r in server.mailbox.received] == [["analyst@example.org"]]
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "desk@example.net (550 5.1.1 no such user)" in record.getMessage()


@pytest.mark.parametrize(
    ("command", "reply", "permanent"),
    [
        ("MAIL", "553 5.7.1 sender not allowed", True),
        ("MAIL", "451 4.7.1 greylisted, come back later", False),
        ("DATA", "554 5.6.0 message rejected", True),
        ("DATA", "452 4.3.1 insufficient storage", False),
    ],
)
def test_replies_4xx_are_temporary_5xx_permanent(
    smtp_server: Callable[..., Server], command: str, reply: str, permanent: bool
) -> None:
    server = smtp_server()
    server.mailbox.replies[command] = [reply]
    with pytest.raises(DeliveryError, match=re.escape(reply)) as caught:
        send(email_channel(server.port))
    assert caught.value.permanent is permanent


def test_recipients_refused_for_now_are_temporary(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    server.mailbox.refuse = {
        "analyst@example.org": "550 5.1.1 no such user",
        "desk@example.net": "450 4.2.1 mailbox busy",
    }
    with pytest.raises(DeliveryError) as caught:
        send(email_channel(server.port))
    assert not caught.value.permanent


def test_no_server_listening_is_temporary() -> None:
    with pytest.raises(DeliveryError, match="cannot reach") as caught:
        send(email_channel(free_port()))
    assert not caught.value.permanent


@pytest.fixture
def raw_server() -> Iterator[Callable[[bytes | None], int]]:
    """A listener that sends `greeting` (if any) to its first client, then hangs up."""
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(greeting: bytes | None) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        if greeting is not None:

            def answer() -> None:
                client, _ = listener.accept()
                with client:
                    client.sendall(greeting)

            threads.append(threading.Thread(target=answer, daemon=True))
            threads[-1].start()
        port: int = listener.getsockname()[1]
        return port

    yield start
    for thread in threads:
        thread.join(timeout=5)
    for listener in listeners:
        listener.close()


@pytest.mark.parametrize(
    ("greeting", "expected", "permanent"),
    [
        (None, "did not answer within 0.5 seconds", False),  # never greets
        (b"220 mail.test ready\r\n", "closed the connection", False),
        (b"421 4.3.2 too busy\r\n", "421 4.3.2 too busy", False),
        (b"554 5.7.1 no service for you\r\n", "554 5.7.1 no service for you", True),
    ],
)
def test_a_server_that_will_not_talk(
    raw_server: Callable[[bytes | None], int],
    greeting: bytes | None,
    expected: str,
    permanent: bool,
) -> None:
    port = raw_server(greeting)
    with pytest.raises(DeliveryError, match=re.escape(expected)) as caught:
        send(email_channel(port, timeout_seconds=0.5))
    assert caught.value.permanent is permanent


# Each a byte every 0.2 s: no read waits long, but the whole answer would take minutes.
GREETING = b"220 mail.test " + b"." * 1000 + b"\r\n"
TLS_RECORD = b"\x16\x03\x03\x40\x00" + bytes(16384)  # the start of a handshake


@pytest.mark.parametrize(
    ("security", "answer", "reads_first"),
    [("none", GREETING, False), ("ssl", TLS_RECORD, True)],
)
def test_a_server_that_trickles_its_answer_is_left_at_the_timeout(
    security: str, answer: bytes, reads_first: bool
) -> None:
    server = Trickle(answer, reads_first=reads_first)
    try:
        with pytest.raises(DeliveryError) as caught:
            send(email_channel(server.port, security=security, timeout_seconds=1))
        wait_for(lambda: server.hung_up, "the hang-up", timeout=5)
    finally:
        server.stop()
    assert not caught.value.permanent
    assert str(caught.value) == f"127.0.0.1:{server.port} did not answer within 1 seconds"
    assert 0 < server.sent < len(answer)  # it was answering, and was left before the end


def test_a_tls_handshake_with_a_plain_server_is_temporary(
    smtp_server: Callable[..., Server], certificates: Certificates
) -> None:
    server = smtp_server()
    with pytest.raises(DeliveryError, match="TLS with") as caught:
        send(email_channel(server.port, security="ssl", timeout_seconds=5), certificates.client)
    assert not caught.value.permanent


def test_check_accepts_an_email_channel(tmp_path: Path) -> None:
    extra = """\
  mail:
    type: email
    to: [analyst@example.org]
    from: wirewatch@example.org
    smtp: {host: 127.0.0.1, port: 8025, security: none}
"""
    project = make_project(tmp_path, extra=extra)
    assert main(["check", "-c", str(project.config)]) == 0


# --- a backlog: one digest, every match it holds attached --------------------------------


def backlog_mail(tmp_path: Path, server: Server, cap: str = "") -> EmailMessage:
    """The one email a backlog of 500 matches gives (`cap`: the attachment's limit)."""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "rules").mkdir()
    (tmp_path / "config.yaml").write_text(
        "watch: [{path: inbox}]\nchannels:\n  mail:\n    type: email\n"
        f"    to: [{RECIPIENTS[0]}]\n    from: {SENDER}\n"
        f"    smtp: {{host: 127.0.0.1, port: {server.port}, security: none}}\n{cap}",
        encoding="utf-8",
    )
    config = load_config(tmp_path / "config.yaml", {})
    store = open_store(str(tmp_path / "state.db"))
    try:
        with httpx.Client() as http:
            clients = Clients(http=http, tls=ssl.create_default_context())
            outbox = Outbox(config, store, clients, lambda: BACKLOG_RULES)
            add_backlog(store, 500, datetime.now(UTC))
            assert outbox.send("mail").sent == 1
            assert outbox.send("mail").sent == 0
    finally:
        store.close()
    (received,) = server.mailbox.received
    return received.message


def test_a_backlog_mail_attaches_every_match_as_gzipped_csv(
    tmp_path: Path, smtp_server: Callable[..., Server]
) -> None:
    message = backlog_mail(tmp_path, smtp_server())
    assert message.get_content_type() == "multipart/mixed"
    body, attachment = message.iter_parts()
    digest_id = message["X-Wirewatch-Digest"]
    assert attachment.get_filename() == f"matches-{digest_id}.csv.gz"
    rows = list(csv.reader(io.StringIO(gzip.decompress(attachment.get_content()).decode())))
    assert rows[0] == ["title", "link", "rule", "participants", "published", "source"]
    assert len(rows) == 501
    assert ["Deal 6", "/in/6.txt", "oil", "Xi Jinping; Vladimir Putin", "2020-01-07", ""] in rows
    text = body.get_body(("plain",))
    assert isinstance(text, EmailMessage)
    assert f"… and 450 more — `wirewatch matches --digest {digest_id}`" in text.get_content()


def test_a_backlog_too_big_to_attach_is_only_pointed_to(
    tmp_path: Path, smtp_server: Callable[..., Server]
) -> None:
    message = backlog_mail(tmp_path, smtp_server(), "    attachment_max_mb: 0.001\n")
    assert message.get_content_type() == "multipart/alternative"  # nothing attached
    (text, _html) = parts_of(message)
    command = f"wirewatch matches --digest {message['X-Wirewatch-Digest']}"
    assert f"… and 450 more — `{command}` lists them" in text[1]
