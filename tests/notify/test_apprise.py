"""The apprise channel against a real HTTP server on 127.0.0.1, through Apprise's json:// URL:
the digest arrives titled with its subject, a failure is retried, no secret is ever shown."""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.helpers import Project, make_project
from tests.notify.test_webhook import DIGEST
from worker.cli import main
from worker.digest.render import Renderer
from worker.errors import DeliveryError
from worker.model import Alert
from worker.notify.apprise import AppriseNotifier
from worker.settings.config import AppriseChannel

PASSWORD = "pa55-w0rd-of-the-receiver"
FAST_RETRY = "    retry: {delays: [0.2s], jitter: 0}\n"


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.clear()


def json_url(server: HTTPServer, path: str = "/hook") -> str:
    """Apprise's URL for a JSON POST to the test server, with a login."""
    return f"json://wirewatch:{PASSWORD}@127.0.0.1:{server.port}{path}"


def channel(*urls: str, **settings: Any) -> AppriseChannel:
    return AppriseChannel.model_validate({"type": "apprise", "urls": urls, **settings})


def received(server: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _ in server.log]


def wirewatch(project: Project, *args: str) -> int:
    return main([args[0], "-c", str(project.config), *args[1:]])


def apprise_project(root: Path, url: str, settings: str = "") -> Project:
    """The seeds project, its file channel turned off, and an apprise channel `chat`."""
    chat = f'  chat:\n    type: apprise\n    urls: ["{url}"]\n    schedule: every 1h\n{settings}'
    return make_project(root, schedule="0 0 1 1 *", extra=chat)


def test_the_digest_arrives_in_markdown_titled_with_its_subject(server: HTTPServer) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    rendered = Renderer().render(DIGEST)
    AppriseNotifier(channel(json_url(server))).deliver(DIGEST, rendered)
    ((message,), (request, _)) = received(server), server.log[0]
    assert message["title"] == rendered.subject
    assert "## Stories · 1 story" in message["message"]
    assert "**[Xi meets Putin](https://news.example/1)**" in message["message"]
    assert request.authorization is not None
    assert request.authorization.password == PASSWORD


def test_the_text_format_sends_the_digest_as_text(server: HTTPServer) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    rendered = Renderer().render(DIGEST)
    AppriseNotifier(channel(json_url(server), format="text")).deliver(DIGEST, rendered)
    (message,) = received(server)
    assert (message["title"], message["message"]) == (rendered.subject, rendered.text.rstrip())
    assert "**" not in message["message"]


def test_an_alert_arrives_as_text(server: HTTPServer) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    at = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    alert = Alert("store", "cannot reach the state", False, at, at, "news-1")
    AppriseNotifier(channel(json_url(server))).alert(alert)
    (message,) = received(server)
    assert (message["title"], message["message"]) == (alert.subject, alert.text.rstrip())


def test_a_refusal_says_why_without_the_password(
    server: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.expect_request("/hook").respond_with_data(f"no {PASSWORD}", status=500)
    notifier = AppriseNotifier(channel(json_url(server)))
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as caught:
        notifier.deliver(DIGEST, Renderer().render(DIGEST))
    assert str(caught.value).startswith(f"json://127.0.0.1:{server.port}/…: ")
    assert "500" in str(caught.value)
    assert not caught.value.permanent
    assert PASSWORD not in str(caught.value)
    assert caplog.records  # the attempt was logged, at DEBUG
    assert PASSWORD not in caplog.text


def test_a_digest_one_service_took_is_delivered(
    server: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.expect_request("/down").respond_with_data("down", status=500)
    server.expect_request("/up").respond_with_data("ok")
    both = channel(json_url(server, "/down"), json_url(server, "/up"))
    AppriseNotifier(both).deliver(DIGEST, Renderer().render(DIGEST))  # no retry: /up has it
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"delivered, but not to json://127.0.0.1:{server.port}/…" in warning
    assert PASSWORD not in caplog.text


def test_a_service_that_does_not_answer_is_left_at_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # takes connections, says nothing
        port = silent.getsockname()[1]
        url = f"json://127.0.0.1:{port}/hook"
        notifier = AppriseNotifier(channel(url, timeout_seconds=0.5))
        with pytest.raises(DeliveryError) as caught:
            notifier.deliver(DIGEST, Renderer().render(DIGEST))
    assert str(caught.value) == f"json://127.0.0.1:{port}/…: not all sent within 0.5 s"


def test_a_500_is_retried_then_delivered_once_and_no_password_is_shown(
    tmp_path: Path,
    server: HTTPServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.expect_ordered_request("/hook").respond_with_data("down", status=500)
    server.expect_ordered_request("/hook").respond_with_data("ok")
    project = apprise_project(tmp_path, json_url(server), FAST_RETRY)
    with caplog.at_level(logging.DEBUG):
        assert wirewatch(project, "run", "--once") == 1
        failed = capsys.readouterr().err
        assert f"not delivered: json://127.0.0.1:{server.port}/…: " in failed
        assert wirewatch(project, "status", "--json") == 0
        status = json.loads(capsys.readouterr().out)["channels"]["chat"]
        assert status["retrying"] == 1
        assert "500" in status["last_error"]
        time.sleep(0.3)  # past the back-off
        assert wirewatch(project, "run", "--once") == 0
        assert wirewatch(project, "run", "--once") == 0  # nothing more to send
        assert wirewatch(project, "status") == 0
    first, second = received(server)
    assert first == second  # the same digest, unchanged
    assert "wirewatch" in second["title"]
    shown = failed + caplog.text + "".join(capsys.readouterr()) + json.dumps(status)
    assert PASSWORD not in shown


def test_check_refuses_a_url_apprise_does_not_know(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = apprise_project(tmp_path, f"nosuch://bot:{PASSWORD}@chat.example.org/room")
    assert wirewatch(project, "check") == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"{project.config}:")
    assert "channels.chat.urls[0]: 'nosuch://chat.example.org/…' is not a URL Apprise knows" in line
    assert PASSWORD not in line


def test_check_refuses_a_telegram_url_without_its_chat_and_hides_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = apprise_project(tmp_path, "tgram://bottoken-123456789")
    assert wirewatch(project, "check") == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "channels.chat.urls[0]: 'tgram://…' is not a tgram:// URL Apprise can send to" in line
    assert "bottoken" not in line


def test_without_apprise_the_channel_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if it were not installed
    project = apprise_project(tmp_path, "json://127.0.0.1:1/hook")
    assert wirewatch(project, "check") == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.endswith(
        "channels.chat.urls: needs Apprise, which is not installed:"
        " pip install 'wirewatch[apprise]'"
    )
