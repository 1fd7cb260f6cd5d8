"""The webhook channel against a real HTTP server on 127.0.0.1: one POST per delivery."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from tests.helpers import Project, make_project, wait_for
from tests.servers import Trickle
from worker.cli import main
from worker.digest.render import Renderer
from worker.errors import DeliveryError
from worker.model import Digest
from worker.notify import Clients, notifier_for
from worker.notify.messages import encode, message_for
from worker.notify.webhook import USER_AGENT, WebhookNotifier, retry_after_seconds
from worker.settings.config import WebhookChannel

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
PATH = "/services/T000/B000/XXXXtokenXXXX"
SECRET = "whsec_" + base64.b64encode(b"thirty-two bytes of secret key..").decode()
TOKEN = "Bearer s3cr3t-header-token"

DOCUMENT: dict[str, Any] = {
    "digest_id": "0123456789abcdef01234567",
    "channel": "ops",
    "generated_at": NOW.isoformat(),
    "timezone": "UTC",
    "period": {"from": (NOW - timedelta(days=1)).isoformat(), "to": NOW.isoformat()},
    "counts": {
        "articles": 1,
        "matches": 1,
        "rules": {"leaders": 1},
        "participants": {},
        "omitted": 0,
    },
    "rules": [{"id": "leaders", "title": "Leaders", "priority": "high"}],
    "group_by": "article",
    "items": [
        {
            "rule": "leaders",
            "rules": ["leaders"],
            "article": {
                "id": "a1",
                "title": "Xi meets Putin",
                "date": "2024-05-01",
                "source": None,
                "url": "https://news.example/1",
                "path": "/srv/inbox/1.txt",
            },
            "participants": ["Xi Jinping", "Vladimir Putin"],
            "terms": ["talks"],
            "summary": "Xi Jinping and Vladimir Putin held talks.",
            "highlights": [],
            "also": [],
        }
    ],
    "updates": [],
}
DIGEST = Digest.from_document(DOCUMENT)


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.clear()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


def channel(url: str, **settings: Any) -> WebhookChannel:
    return WebhookChannel.model_validate({"type": "webhook", "url": url, **settings})


def deliver(url: str, client: httpx.Client, **settings: Any) -> None:
    notifier = WebhookNotifier(channel(url, **settings), client, clock=lambda: NOW)
    notifier.deliver(DIGEST, Renderer().render(DIGEST))


def failure(url: str, client: httpx.Client, **settings: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        deliver(url, client, **settings)
    return caught.value


@pytest.mark.parametrize("name", ["json", "slack", "discord", "teams"])
def test_each_format_is_posted_as_json(server: HTTPServer, client: httpx.Client, name: str) -> None:
    server.expect_request(PATH, method="POST").respond_with_data("ok")
    deliver(server.url_for(PATH), client, format=name)
    ((request, response),) = server.log
    assert response.status_code == 200
    expected = Renderer().render(DIGEST).json.encode() if name == "json" else None
    assert request.get_data() == (expected or encode(message_for(name, DIGEST)))
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("wirewatch/")
    assert "webhook-signature" not in request.headers


def test_the_json_format_is_the_digest_document(server: HTTPServer, client: httpx.Client) -> None:
    server.expect_request(PATH, method="POST").respond_with_data("", status=204)
    deliver(server.url_for(PATH), client)
    ((request, _),) = server.log
    assert json.loads(request.get_data()) == DOCUMENT


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_delivered(server: HTTPServer, client: httpx.Client, status: int) -> None:
    server.expect_request(PATH).respond_with_data("", status=status)
    deliver(server.url_for(PATH), client)  # no DeliveryError: delivered
    ((request, response),) = server.log  # once, not retried
    assert response.status_code == status
    assert json.loads(request.get_data())["digest_id"] == DIGEST.digest_id


def test_custom_headers_are_sent(server: HTTPServer, client: httpx.Client) -> None:
    server.expect_request(PATH).respond_with_data("ok")
    headers = {"Authorization": TOKEN, "X-Team": "desk-4", "User-Agent": "desk-bot/2"}
    deliver(server.url_for(PATH), client, headers=headers)
    ((request, _),) = server.log
    assert request.headers["Authorization"] == TOKEN
    assert request.headers["X-Team"] == "desk-4"
    assert request.headers["User-Agent"] == "desk-bot/2"
    assert request.headers.getlist("Content-Type") == ["application/json"]


def verifying(secret: str) -> Any:
    """A receiver that checks the signature with the reference package, as its docs say."""

    def handle(request: Request) -> Response:
        try:
            Webhook(secret).verify(request.get_data(), dict(request.headers))
        except Exception as error:  # any failure is the receiver's 401
            return Response(str(error), status=401)
        return Response("", status=204)

    return handle


@pytest.mark.parametrize("secret", [SECRET, SECRET.removeprefix("whsec_")])
@pytest.mark.parametrize("name", ["json", "slack"])
def test_a_receiver_verifies_the_signature_with_the_reference_package(
    server: HTTPServer, client: httpx.Client, secret: str, name: str
) -> None:
    server.expect_request(PATH).respond_with_handler(verifying(secret))
    notifier = WebhookNotifier(channel(server.url_for(PATH), secret=secret, format=name), client)
    notifier.deliver(DIGEST, Renderer().render(DIGEST))
    notifier.deliver(DIGEST, Renderer().render(DIGEST))  # a retry of the same digest
    (first, _), (second, _) = server.log
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == DIGEST.digest_id
    assert first.headers["webhook-signature"].startswith("v1,")


def test_a_wrong_secret_is_refused_by_the_receiver(
    server: HTTPServer, client: httpx.Client
) -> None:
    other = "whsec_" + base64.b64encode(b"another secret of thirty-two byt").decode()
    server.expect_request(PATH).respond_with_handler(verifying(other))
    error = failure(server.url_for(PATH), client, secret=SECRET)
    assert error.permanent
    assert "answered 401" in str(error)


def test_custom_headers_cannot_replace_the_signature(
    server: HTTPServer, client: httpx.Client
) -> None:
    server.expect_request(PATH).respond_with_handler(verifying(SECRET))
    forged = {"webhook-signature": "v1,forged", "Webhook-Id": "forged"}
    notifier = WebhookNotifier(channel(server.url_for(PATH), secret=SECRET, headers=forged), client)
    notifier.deliver(DIGEST, Renderer().render(DIGEST))
    ((request, _),) = server.log
    assert request.headers.getlist("webhook-id") == [DIGEST.digest_id]


def test_500_is_temporary(server: HTTPServer, client: httpx.Client) -> None:
    server.expect_request(PATH).respond_with_data("rollup_error", status=500)
    error = failure(server.url_for(PATH), client)
    assert not error.permanent
    assert error.retry_after is None
    port = server.port
    assert str(error).startswith(f"POST http://127.0.0.1:{port}/… answered 500 ")
    assert str(error).endswith(": rollup_error")


def test_429_honours_retry_after_in_seconds(server: HTTPServer, client: httpx.Client) -> None:
    server.expect_request(PATH).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    error = failure(server.url_for(PATH), client)
    assert not error.permanent
    assert error.retry_after == 7
    assert "retry after 7 s" in str(error)


def test_503_honours_retry_after_as_a_date(server: HTTPServer, client: httpx.Client) -> None:
    when = format_datetime(NOW + timedelta(minutes=2), usegmt=True)
    server.expect_request(PATH).respond_with_data("", status=503, headers={"Retry-After": when})
    error = failure(server.url_for(PATH), client)
    assert not error.permanent
    assert error.retry_after == 120


def test_retry_after_is_ignored_on_other_statuses(server: HTTPServer, client: httpx.Client) -> None:
    server.expect_request(PATH).respond_with_data("", status=500, headers={"Retry-After": "7"})
    assert failure(server.url_for(PATH), client).retry_after is None


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        *[(status, True) for status in (400, 401, 403, 404, 410, 413)],
        *[(status, False) for status in (408, 429, 500, 502, 503, 504)],
    ],
)
def test_which_statuses_are_permanent(
    server: HTTPServer, client: httpx.Client, status: int, permanent: bool
) -> None:
    server.expect_request(PATH).respond_with_data("", status=status)
    assert failure(server.url_for(PATH), client).permanent is permanent


def test_400_is_permanent_and_says_what_the_receiver_said(
    server: HTTPServer, client: httpx.Client
) -> None:
    server.expect_request(PATH).respond_with_data(
        "invalid_payload", status=400, content_type="text/plain"
    )
    error = failure(server.url_for(PATH), client, format="slack")
    assert error.permanent
    assert str(error) == (
        f"POST http://127.0.0.1:{server.port}/… answered 400 BAD REQUEST: invalid_payload"
    )


def test_a_long_answer_is_cut_short(server: HTTPServer, client: httpx.Client) -> None:
    server.expect_request(PATH).respond_with_json({"error": "x" * 10_000}, status=422)
    message = str(failure(server.url_for(PATH), client))
    assert len(message) < 300
    assert message.endswith("…")


def test_a_web_page_is_not_repeated(server: HTTPServer, client: httpx.Client) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
    server.expect_request(PATH).respond_with_data(page, status=502, content_type="text/html")
    assert "<html>" not in str(failure(server.url_for(PATH), client))


def test_a_redirect_is_permanent_and_not_followed(server: HTTPServer, client: httpx.Client) -> None:
    moved = "https://hooks.example.org/services/NEW/TOKEN"
    server.expect_request(PATH).respond_with_data("", status=301, headers={"Location": moved})
    error = failure(server.url_for(PATH), client)
    assert error.permanent
    assert len(server.log) == 1
    assert "(to https://hooks.example.org/…)" in str(error)
    assert "update the channel's url" in str(error)
    assert "NEW/TOKEN" not in str(error)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_refused_connection_is_temporary(client: httpx.Client) -> None:
    port = closed_port()
    error = failure(f"http://127.0.0.1:{port}{PATH}", client)
    assert not error.permanent
    assert str(error).startswith(f"POST http://127.0.0.1:{port}/…: cannot connect: ")


def test_a_receiver_slower_than_the_timeout_is_temporary(
    server: HTTPServer, client: httpx.Client
) -> None:
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(5)
        return Response("late")

    server.expect_request(PATH).respond_with_handler(stall)
    try:
        error = failure(server.url_for(PATH), client, timeout_seconds=0.2)
    finally:
        release.set()
    assert not error.permanent
    assert str(error) == f"POST http://127.0.0.1:{server.port}/…: no answer within 0.2 s"


def test_a_receiver_that_trickles_its_answer_is_left_at_the_timeout(
    client: httpx.Client,
) -> None:
    # A byte every 0.2 s: no read waits long, but the whole answer would take minutes.
    answer = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"." * 1000 + b"\r\n\r\n"
    receiver = Trickle(answer)
    try:
        error = failure(f"http://127.0.0.1:{receiver.port}{PATH}", client, timeout_seconds=1)
        wait_for(lambda: receiver.hung_up, "the hang-up", timeout=5)
    finally:
        receiver.stop()
    assert not error.permanent
    assert str(error) == f"POST http://127.0.0.1:{receiver.port}/…: no answer within 1 s"
    assert 0 < receiver.sent < len(answer)  # it was answering, and was left before the end


def test_a_tls_failure_is_temporary(server: HTTPServer) -> None:
    server.expect_request(PATH).respond_with_data("ok")
    url = server.url_for(PATH).replace("http://", "https://")
    with httpx.Client(verify=ssl.create_default_context()) as tls_client:
        error = failure(url, tls_client)
    assert not error.permanent
    assert "cannot connect" in str(error)


def echoing(request: Request) -> Response:
    """A receiver that repeats everything it was sent back in its error."""
    echoed = f"bad request to {request.url} with {dict(request.headers)}"
    return Response(echoed, status=400, content_type="text/plain")


def test_no_secret_is_ever_in_an_error(server: HTTPServer, client: httpx.Client) -> None:
    server.expect_request(PATH, query_string="key=qu3ry-t0ken").respond_with_handler(echoing)
    url = server.url_for(PATH) + "?key=qu3ry-t0ken"
    error = failure(url, client, secret=SECRET, headers={"Authorization": TOKEN})
    message = str(error)
    assert "bad request to" in message
    for secret in (PATH, "XXXXtokenXXXX", "qu3ry-t0ken", SECRET, TOKEN):
        assert secret not in message


def test_no_secret_is_in_a_connection_error(client: httpx.Client) -> None:
    url = f"http://user:p4ssw0rd@127.0.0.1:{closed_port()}{PATH}?key=qu3ry-t0ken"
    error = failure(url, client, secret=SECRET)
    for secret in ("p4ssw0rd", PATH, "qu3ry-t0ken", SECRET):
        assert secret not in str(error)
    # the library's exception, which names the URL, is not chained for a traceback to show
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_the_registry_makes_a_webhook_notifier_with_the_shared_client(
    server: HTTPServer, client: httpx.Client
) -> None:
    server.expect_request(PATH).respond_with_data("ok")
    clients = Clients(http=client, tls=ssl.create_default_context())
    notifier = notifier_for(channel(server.url_for(PATH)), clients)
    assert isinstance(notifier, WebhookNotifier)
    notifier.deliver(DIGEST, Renderer().render(DIGEST))
    assert len(server.log) == 1


def test_a_send_after_the_stop_fails_and_leaves_no_client_open(server: HTTPServer) -> None:
    server.expect_request(PATH).respond_with_data("ok")
    clients = Clients()
    made = clients.http  # made by the first webhook
    clients.close()
    assert made.is_closed
    with pytest.raises(DeliveryError, match="stopping: sent again when it starts"):
        notifier_for(channel(server.url_for(PATH)), clients)  # a send the stop left behind
    assert server.log == []


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7),
        (" 120 ", 120),
        ("0", 0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90),
        ("Sun, 22 Nov 2026 08:00:30 GMT", 30),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0),
        ("-5", None),
        ("soon", None),
        ("1.5", 1.5),
        ("1e3", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


def hook_project(tmp_path: Path, url: str) -> Project:
    channel_text = f"""\
  hook:
    type: webhook
    url: "{url}"
    format: slack
    secret: "${{HOOK_SECRET}}"
    schedule: "every 1m"
"""
    return make_project(tmp_path, extra=channel_text)


def test_run_once_posts_the_digest(
    server: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    server.expect_request(PATH, method="POST").respond_with_handler(verifying(SECRET))
    project = hook_project(tmp_path, server.url_for(PATH))
    assert main(["run", "--once", "-c", str(project.config)]) == 0
    ((request, response),) = server.log
    assert response.status_code == 204
    message = json.loads(request.get_data())
    assert message["blocks"][0]["text"]["text"] == "wirewatch: 5 articles matched on hook"
    assert main(["run", "--once", "-c", str(project.config)]) == 0
    assert len(server.log) == 1  # sent once


def test_a_failed_post_fails_the_run_and_logs_no_secret(
    server: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    server.expect_request(PATH).respond_with_handler(echoing)
    project = hook_project(tmp_path, server.url_for(PATH))
    assert main(["run", "--once", "-c", str(project.config)]) != 0
    # the test server's own access log names the path; wirewatch's lines must not
    ours = [line for line in capsys.readouterr().err.splitlines() if " HTTP/1.1" not in line]
    (failed,) = [line for line in ours if "channel hook:" in line]
    assert f"POST http://127.0.0.1:{server.port}/… answered 400" in failed
    for secret in (PATH, "XXXXtokenXXXX", SECRET, SECRET.removeprefix("whsec_")):
        assert [line for line in ours if secret in line] == []
