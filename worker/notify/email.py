"""The `email` channel: each digest as one text-and-HTML email, and each alert about
wirewatch itself as a short text email, sent through SMTP.

One `deliver` is one attempt over one connection. Replies the server may answer
differently later (4xx, a dropped connection, a timeout) are temporary; replies and
settings that will not change by themselves (5xx, a refused login, a certificate that
fails verification, a server without STARTTLS) are permanent. An attempt ends within
`smtp.timeout_seconds`, however slowly the server answers: that counts as no answer.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from worker.errors import DeliveryError
from worker.model import Alert, Digest, Rendered
from worker.notify.deadline import Deadline
from worker.settings.config import EmailChannel, Smtp

__all__ = ["EmailNotifier", "alert_message", "build_message", "tls_context"]

log = logging.getLogger(__name__)

Refusals = Mapping[str, tuple[int, bytes]]


def build_message(
    digest: Digest,
    rendered: Rendered,
    sender: str,
    recipients: Sequence[str],
    subject: str | None = None,
) -> EmailMessage:
    """The digest as a multipart/alternative email that is the same bytes every time."""
    message = EmailMessage()
    # A header cannot span lines; a subject with a line break would end the headers early.
    message["Subject"] = " ".join((subject or rendered.subject).split())
    message["From"] = sender
    if recipients:
        message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(digest.generated_at)
    message["Message-ID"] = f"<{digest.digest_id}@{_domain(sender)}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a digest
    message["X-Wirewatch-Digest"] = digest.digest_id
    # Quoted-printable keeps the body 7-bit for servers without 8BITMIME, and never
    # contains "=_", so the boundary below cannot occur in it.
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    # The generator would pick a random boundary; a resend must be the same message.
    message.set_boundary(f"=_wirewatch_{digest.digest_id}")
    if rendered.listing is not None:
        _attach_listing(message, digest.digest_id, rendered.listing)
    return message


def _attach_listing(message: EmailMessage, digest_id: str, listing: str) -> None:
    """Every match of a backlog's digest, as the gzipped CSV file `matches-ID.csv.gz`."""
    data = base64.b64decode(listing)
    name = f"matches-{digest_id}.csv.gz"
    message.add_attachment(data, maintype="application", subtype="gzip", filename=name)
    message.set_boundary(f"=_wirewatch_mixed_{digest_id}")
    for part in message.iter_parts():
        if part.get_content_type() == "multipart/alternative":
            part.set_boundary(f"=_wirewatch_{digest_id}")


def alert_message(alert: Alert, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The alert as a short plain-text email, marked as an alert, never as a digest."""
    message = EmailMessage()
    message["Subject"] = " ".join(alert.subject.split())
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(alert.at)
    message["Message-ID"] = f"<{alert.id}@{_domain(sender)}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Wirewatch-Alert"] = "cleared" if alert.cleared else "trouble"
    message.set_content(alert.text, cte="quoted-printable")
    return message


def _domain(sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2]
    return domain if domain and domain.isascii() else "localhost"


def tls_context(smtp: Smtp, default: ssl.SSLContext) -> ssl.SSLContext:
    """The context that verifies the server: one trusting `smtp.ca_file`, else `default`."""
    if smtp.ca_file is None:
        return default
    try:
        return ssl.create_default_context(cafile=str(smtp.ca_file))
    except (ssl.SSLError, OSError) as error:
        # Checked when the config was loaded: the file changed since.
        message = f"cannot read the CA certificates in smtp.ca_file {smtp.ca_file}: {error}"
        raise DeliveryError(message) from error


class EmailNotifier:
    """Sends each digest as one email to all of the channel's recipients."""

    def __init__(self, channel: EmailChannel, tls: ssl.SSLContext) -> None:
        self._channel = channel
        self._tls = tls

    def deliver(self, digest: Digest, rendered: Rendered) -> None:
        """Send the digest; DeliveryError unless the server accepted it for some recipient."""
        channel = self._channel
        message = build_message(digest, rendered, channel.sender, channel.to, channel.subject)
        log.debug("channel %s: sending %s to %s", digest.channel, message["Message-ID"], channel.to)
        refused = self._mail(message)
        if refused:
            # The others have it: a retry would send it to them twice.
            log.warning(
                "channel %s: digest %s delivered, but %s refused %s",
                digest.channel,
                digest.digest_id,
                _where(channel.smtp),
                _refusals(refused),
            )

    def alert(self, alert: Alert) -> None:
        """Send the alert; DeliveryError unless the server accepted it for some recipient."""
        self._mail(alert_message(alert, self._channel.sender, self._channel.to))

    def _mail(self, message: EmailMessage) -> Refusals:
        """Send the message within the time limit; the recipients the server refused."""
        smtp = self._channel.smtp
        with Deadline(smtp.timeout_seconds) as deadline:
            try:
                return self._send(message, deadline)
            except (smtplib.SMTPException, OSError) as error:
                raise _delivery_error(error, smtp, deadline.passed) from error

    def _send(self, message: EmailMessage, deadline: Deadline) -> Refusals:
        smtp = self._channel.smtp
        # Given the host, smtplib closes the socket itself when the greeting fails, and
        # verifies the certificate against that host name.
        connection = (
            _WatchedSMTPSSL(smtp.host, smtp.port, smtp.timeout_seconds, self._tls, deadline)
            if smtp.security == "ssl"
            else _WatchedSMTP(smtp.host, smtp.port, smtp.timeout_seconds, deadline)
        )
        try:
            connection.ehlo_or_helo_if_needed()
            if smtp.security == "starttls":
                self._start_tls(connection)
            if smtp.username is not None and smtp.password is not None:
                if not connection.has_extn("auth"):
                    raise DeliveryError(
                        f"{_where(smtp)} offers no login (AUTH) on this connection; "
                        "remove smtp.username or check smtp.security",
                        permanent=True,
                    )
                connection.login(smtp.username, smtp.password.get_secret_value())
            return connection.send_message(
                message, from_addr=self._channel.sender, to_addrs=list(self._channel.to)
            )
        finally:
            _close(connection)

    def _start_tls(self, connection: smtplib.SMTP) -> None:
        if not connection.has_extn("starttls"):
            # Sending anyway would expose the digest (and the password) on the wire.
            raise DeliveryError(
                f"{_where(self._channel.smtp)} does not offer STARTTLS; use security: ssl "
                "for a port that speaks TLS from the start (465), or check smtp.host and port",
                permanent=True,
            )
        connection.starttls(context=self._tls)
        connection.ehlo()


class _WatchedSMTP(smtplib.SMTP):
    """smtplib's SMTP, its connection watched by the deadline from the moment it opens."""

    def __init__(self, host: str, port: int, timeout: float, deadline: Deadline) -> None:
        self._deadline = deadline
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return _connect(host, port, timeout, self._deadline)


class _WatchedSMTPSSL(smtplib.SMTP_SSL):
    """smtplib's SMTP_SSL, its connection watched by the deadline before the handshake."""

    def __init__(
        self, host: str, port: int, timeout: float, tls: ssl.SSLContext, deadline: Deadline
    ) -> None:
        self._deadline = deadline
        super().__init__(host, port, timeout=timeout, context=tls)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        connection = _connect(host, port, timeout, self._deadline)
        return self.context.wrap_socket(connection, server_hostname=host)


def _connect(host: str, port: int, timeout: float, deadline: Deadline) -> socket.socket:
    connection = socket.create_connection((host, port), timeout)
    deadline.watch(connection)
    return connection


def _close(connection: smtplib.SMTP) -> None:
    # Whatever QUIT answers, the outcome of the delivery is already known.
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        connection.close()


def _delivery_error(
    error: smtplib.SMTPException | OSError, smtp: Smtp, out_of_time: bool
) -> DeliveryError:
    if isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
        return _refused(error, smtp)
    where = _where(smtp)
    # Once out of time, the connection was shut down under smtplib, whatever error that
    # made; and smtplib reports a read that timed out as a disconnect.
    if (
        out_of_time
        or isinstance(error, TimeoutError)
        or isinstance(error.__context__, TimeoutError)
    ):
        return DeliveryError(f"{where} did not answer within {smtp.timeout_seconds:g} seconds")
    if isinstance(error, ssl.SSLCertVerificationError):
        return DeliveryError(
            f"the certificate of {where} failed verification ({error.verify_message}); "
            "for a private CA, set smtp.ca_file",
            permanent=True,
        )
    if isinstance(error, ssl.SSLError):
        return DeliveryError(f"TLS with {where} failed: {error.reason or error}")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"{where} closed the connection")
    if isinstance(error, smtplib.SMTPException):
        # smtplib's other errors are mismatches between the server and the settings:
        # no login method in common, no SMTPUTF8 for a non-ASCII address.
        return DeliveryError(f"{where}: {error}", permanent=True)
    return DeliveryError(f"cannot reach {where}: {error.strerror or error}")


def _refused(
    error: smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused, smtp: Smtp
) -> DeliveryError:
    where = _where(smtp)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # One recipient that may be accepted later makes a retry worth it.
        permanent = all(code >= 500 for code, _ in error.recipients.values())
        message = f"{where} refused every recipient: {_refusals(error.recipients)}"
        return DeliveryError(message, permanent=permanent)
    permanent = error.smtp_code >= 500
    reply = _reply(error.smtp_code, error.smtp_error)
    if isinstance(error, smtplib.SMTPAuthenticationError) and permanent:
        return DeliveryError(
            f"{where} refused the login ({reply}); "
            "check smtp.username and smtp.password (SMTP_PASSWORD)",
            permanent=True,
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        return DeliveryError(
            f"{where} refused the sender {error.sender} ({reply})", permanent=permanent
        )
    return DeliveryError(f"{where} answered {reply}", permanent=permanent)


def _where(smtp: Smtp) -> str:
    return f"{smtp.host}:{smtp.port}"


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join([str(code), *text.split()])


def _refusals(refused: Refusals) -> str:
    return ", ".join(
        f"{address} ({_reply(code, text)})" for address, (code, text) in refused.items()
    )
