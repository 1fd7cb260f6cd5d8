"""Delivery end to end: the outbox with real receivers on 127.0.0.1, through the commands
and the daemon — nothing lost, nothing sent twice."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers import SEED_TITLES, Daemon, Project, make_project, titles_in, wait_for
from tests.servers import Server, Trickle, free_port
from worker.cli import main

pytestmark = pytest.mark.timeout(120)

SECRET = "whsec_c2VjcmV0IGtleSBvZiB0aGUgcmVjZWl2ZXI="
FAST_RETRY = "    retry: {delays: [0.2s], jitter: 0}\n"
TITLE = SEED_TITLES["001_d9422b366859b37e.txt"]
# A byte every 0.2 s: no read waits long, but the whole answer would take minutes.
TRICKLED = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"." * 1000 + b"\r\n\r\n"
TALKS = " date 2024-05-16 Putin and Xi hold talks\n\nVladimir Putin met Xi Jinping for talks.\n"


def hook(url: str, name: str = "hook", settings: str = "", schedule: str = "every 1h") -> str:
    """A webhook channel, as config text to append under `channels:`."""
    return f"  {name}:\n    type: webhook\n    url: {url}\n    schedule: {schedule}\n{settings}"


def mail(port: int, settings: str = "") -> str:
    smtp = f"{{host: 127.0.0.1, port: {port}, security: none}}"
    return (
        "  mail:\n    type: email\n    to: [analyst@example.org]\n"
        f"    from: wirewatch@example.org\n    smtp: {smtp}\n    schedule: every 1h\n{settings}"
    )


def project_with(root: Path, channels: str) -> Project:
    """The seeds project, its file channel turned off (a far schedule), and these channels."""
    return make_project(root, schedule="0 0 1 1 *", extra=channels)


def wirewatch(project: Project, *args: str) -> int:
    return main([args[0], "-c", str(project.config), *args[1:]])


def channel_status(project: Project, name: str, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    wirewatch(project, "status", "--json")
    return json.loads(capsys.readouterr().out)["channels"][name]


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.clear()


def bodies(server: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _ in server.log]


def test_the_seeds_digest_in_every_webhook_format(tmp_path: Path, receiver: HTTPServer) -> None:
    formats = ("json", "slack", "discord", "teams")
    for name in formats:
        receiver.expect_request(f"/{name}", method="POST").respond_with_data("ok")
    channels = "".join(
        hook(receiver.url_for(f"/{name}"), name, f"    format: {name}\n") for name in formats
    )
    project = project_with(tmp_path, channels)
    assert wirewatch(project, "run", "--once") == 0
    received = {request.path.strip("/"): request.get_data().decode() for request, _ in receiver.log}
    assert sorted(received) == sorted(formats)
    document = json.loads(received["json"])
    assert (document["channel"], document["counts"]["articles"]) == ("json", 5)
    assert {"digest_id", "generated_at", "period", "counts", "items"} <= document.keys()
    assert json.loads(received["slack"])["blocks"][0]["type"] == "header"
    assert "embeds" in json.loads(received["discord"])
    card = json.loads(received["teams"])["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    for body in received.values():
        assert TITLE in body


def test_a_500_then_a_200_is_one_delivery(
    tmp_path: Path, receiver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.expect_ordered_request("/hook").respond_with_data("down", status=500)
    receiver.expect_ordered_request("/hook").respond_with_data("ok")
    project = project_with(tmp_path, hook(receiver.url_for("/hook"), settings=FAST_RETRY))
    assert wirewatch(project, "run", "--once") == 1
    assert channel_status(project, "hook", capsys)["retrying"] == 1
    time.sleep(0.3)
    assert wirewatch(project, "run", "--once") == 0
    assert wirewatch(project, "run", "--once") == 0  # nothing more to send
    first, second = bodies(receiver)
    assert first == second  # the same digest, unchanged
    status = channel_status(project, "hook", capsys)
    assert (status["sent"], status["retrying"], status["dead"]) == (1, 0, 0)


def test_429_retry_after_is_honoured(
    tmp_path: Path, receiver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    busy = Response("slow down", status=429, headers={"Retry-After": "4"})
    receiver.expect_ordered_request("/hook").respond_with_response(busy)
    receiver.expect_ordered_request("/hook").respond_with_data("ok")
    project = project_with(tmp_path, hook(receiver.url_for("/hook"), settings=FAST_RETRY))
    assert wirewatch(project, "run", "--once") == 1
    time.sleep(0.3)  # past the 0.2 s backoff, not past Retry-After
    assert wirewatch(project, "run", "--once") == 1
    assert len(receiver.log) == 1
    status = channel_status(project, "hook", capsys)
    assert status["last_error"].endswith("it asked to retry after 4 s")
    due = datetime.fromisoformat(status["next_attempt"]) + timedelta(seconds=1)  # to the second
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
    assert wirewatch(project, "run", "--once") == 0
    assert len(receiver.log) == 2
    assert channel_status(project, "hook", capsys)["sent"] == 1


def test_a_400_is_dead_until_retry_dead(
    tmp_path: Path, receiver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.expect_ordered_request("/hook").respond_with_data("invalid_payload", status=400)
    receiver.expect_ordered_request("/hook").respond_with_data("ok")
    project = project_with(tmp_path, hook(receiver.url_for("/hook")))
    assert wirewatch(project, "run", "--once") == 1
    status = channel_status(project, "hook", capsys)
    assert (status["dead"], status["sent"]) == (1, 0)
    assert status["last_error"] == (
        f"POST http://127.0.0.1:{receiver.port}/… answered 400 BAD REQUEST: invalid_payload"
    )
    assert wirewatch(project, "run", "--once") == 0  # dead: not tried again by itself
    assert len(receiver.log) == 1
    assert wirewatch(project, "digest", "hook", "--retry-dead") == 0
    assert len(receiver.log) == 2
    status = channel_status(project, "hook", capsys)
    assert (status["dead"], status["sent"]) == (0, 1)


def test_a_receiver_down_while_the_daemon_runs_and_restarts(tmp_path: Path) -> None:
    port = free_port()
    retry = "    retry: {delays: [0.5s], jitter: 0}\n"
    project = project_with(tmp_path, hook(f"http://127.0.0.1:{port}/hook", settings=retry))
    daemon = Daemon(project)
    daemon.start()
    wait_for(lambda: "next attempt at" in daemon.log_text(), "a failed attempt")
    assert daemon.stop() == 0
    receiver = HTTPServer(host="127.0.0.1", port=port)
    receiver.expect_request("/hook").respond_with_data("ok")
    receiver.start()
    try:
        daemon.start()  # the digest waiting for its retry is sent at start
        wait_for(lambda: receiver.log, "the delivery")
        time.sleep(2)  # a few retry periods: nothing may come again
        assert daemon.stop() == 0
        (body,) = bodies(receiver)
    finally:
        receiver.stop()
    assert body["counts"]["articles"] == 5


def test_killed_between_send_and_mark_sent_the_resend_has_the_same_id(tmp_path: Path) -> None:
    receiver = HTTPServer(host="127.0.0.1", port=free_port())
    daemon: Daemon | None = None
    requests: list[Request] = []

    def kill_the_sender(request: Request) -> Response:
        requests.append(request)
        if len(requests) == 1 and daemon is not None and daemon.process is not None:
            os.kill(daemon.process.pid, signal.SIGKILL)  # it never hears the 200
            daemon.process.wait()
        return Response("ok")

    receiver.expect_request("/hook").respond_with_handler(kill_the_sender)
    receiver.start()
    try:
        settings = f"    secret: {SECRET}\n"
        project = project_with(tmp_path, hook(receiver.url_for("/hook"), settings=settings))
        daemon = Daemon(project)
        daemon.start()
        wait_for(lambda: requests, "the first delivery")
        wait_for(lambda: daemon is not None and daemon.process.poll() is not None, "the kill")
        daemon.process = None
        daemon.start()
        wait_for(lambda: len(requests) == 2, "the resend")
        assert daemon.stop() == 0
    finally:
        receiver.stop()
    first, second = requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert json.loads(first.get_data()) == json.loads(second.get_data())
    assert first.headers["webhook-id"] == json.loads(first.get_data())["digest_id"]


def test_a_digest_being_delivered_is_not_sent_again_by_another_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = HTTPServer(host="127.0.0.1", port=free_port())
    in_flight = threading.Event()

    def slow(request: Request) -> Response:
        in_flight.set()
        time.sleep(3)
        return Response("ok")

    receiver.expect_request("/hook").respond_with_handler(slow)
    receiver.start()
    try:
        project = project_with(tmp_path, hook(receiver.url_for("/hook")))
        daemon = Daemon(project)
        daemon.start()
        wait_for(in_flight.is_set, "the daemon's delivery")
        capsys.readouterr()
        assert wirewatch(project, "digest", "hook") == 1  # while the daemon waits for its answer
        assert capsys.readouterr().out == (
            "channel hook: 0 digests sent; another process is sending one now\n"
        )
        wait_for(lambda: receiver.log, "the answer")
        wait_for(lambda: channel_status(project, "hook", capsys)["sent"] == 1, "marked sent")
        assert wirewatch(project, "digest", "hook") == 0
        assert daemon.stop() == 0
        assert len(receiver.log) == 1
    finally:
        receiver.stop()


def test_smtp_451_then_success(
    tmp_path: Path, smtp_server: Callable[..., Server], capsys: pytest.CaptureFixture[str]
) -> None:
    server = smtp_server()
    server.mailbox.replies["DATA"] = ["451 4.3.0 try again later"]
    project = project_with(tmp_path, mail(server.port, FAST_RETRY))
    assert wirewatch(project, "run", "--once") == 1
    assert channel_status(project, "mail", capsys)["last_error"].endswith(
        "451 4.3.0 try again later"
    )
    time.sleep(0.3)
    assert wirewatch(project, "run", "--once") == 0
    (received,) = server.mailbox.received
    assert TITLE in received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_smtp_550_is_dead(
    tmp_path: Path, smtp_server: Callable[..., Server], capsys: pytest.CaptureFixture[str]
) -> None:
    server = smtp_server()
    server.mailbox.replies["DATA"] = ["550 5.7.1 message refused"]
    project = project_with(tmp_path, mail(server.port, FAST_RETRY))
    assert wirewatch(project, "run", "--once") == 1
    status = channel_status(project, "mail", capsys)
    assert (status["dead"], status["sent"], status["retrying"]) == (1, 0, 0)
    assert server.mailbox.received == []


def test_killed_while_mailing_the_resend_has_the_same_message_id(
    tmp_path: Path, smtp_server: Callable[..., Server]
) -> None:
    server = smtp_server()
    daemon = Daemon(project_with(tmp_path, mail(server.port)))
    killed = threading.Event()

    def kill_the_sender() -> None:
        if not killed.is_set() and daemon.process is not None:
            killed.set()
            os.kill(daemon.process.pid, signal.SIGKILL)  # it never hears the 250

    server.mailbox.on_data = kill_the_sender
    daemon.start()
    wait_for(lambda: server.mailbox.received, "the first message")
    wait_for(lambda: daemon.process is not None and daemon.process.poll() is not None, "the kill")
    daemon.process = None
    daemon.start()
    wait_for(lambda: len(server.mailbox.received) == 2, "the resend")
    assert daemon.stop() == 0
    first, second = (received.message for received in server.mailbox.received)
    assert first["Message-ID"] == second["Message-ID"]
    assert first.get_body(("html",)).get_content() == second.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_a_slow_channel_never_delays_another(tmp_path: Path) -> None:
    receiver = HTTPServer(host="127.0.0.1", port=free_port())
    in_flight, release = threading.Event(), threading.Event()

    def slow(request: Request) -> Response:
        in_flight.set()
        release.wait(timeout=30)
        return Response("ok")

    receiver.expect_request("/hook").respond_with_handler(slow)
    receiver.start()
    try:
        slow_hook = hook(receiver.url_for("/hook"), settings="    timeout_seconds: 60\n")
        project = make_project(tmp_path, schedule="immediate", extra=slow_hook)
        daemon = Daemon(project)
        daemon.start()
        wait_for(in_flight.is_set, "the webhook request")
        wait_for(lambda: len(project.digests()) == 1, "the seeds in the file channel")
        # while the webhook still waits for its answer, a new article goes out at once
        (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
        wait_for(lambda: len(project.digests()) == 2, "the new article", timeout=10)
        assert receiver.log == []
        release.set()
        wait_for(lambda: receiver.log, "the webhook's delivery")
        assert daemon.stop() == 0
    finally:
        release.set()
        receiver.stop()


def test_secrets_never_reach_the_log_or_status(
    tmp_path: Path,
    receiver: HTTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    receiver.expect_request(f"/services/{token}").respond_with_data("server error", status=500)
    settings = (
        f"    secret: {SECRET}\n"
        "    headers: {Authorization: 'Bearer sk-live-0123456789'}\n"
        f"    format: slack\n{FAST_RETRY}"
    )
    project = project_with(
        tmp_path, hook(receiver.url_for(f"/services/{token}"), settings=settings)
    )
    capsys.readouterr()
    assert wirewatch(project, "run", "--once", "-v", "--log-format", "json") == 1
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    ours = [entry for entry in entries if entry["logger"].startswith("worker")]
    log = "\n".join(entry["message"] for entry in ours)  # the test server logs too
    assert any(entry["level"] == "DEBUG" and '"blocks"' in entry["message"] for entry in ours)
    assert "answered 500" in log
    status = channel_status(project, "hook", capsys)
    assert "answered 500" in status["last_error"]
    said = log + json.dumps(status)
    for secret in (token, "XXXXXXXXXXXXXXXXXXXXXXXX", SECRET, "sk-live-0123456789"):
        assert secret not in said


def test_stopping_while_a_send_fails_records_the_failure_and_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = HTTPServer(host="127.0.0.1", port=free_port())
    in_flight = threading.Event()

    def failing_slowly(request: Request) -> Response:
        in_flight.set()
        time.sleep(0.5)  # SIGTERM arrives now; the failure then wants a retry scheduled
        return Response("unavailable", status=503)

    receiver.expect_request("/hook").respond_with_handler(failing_slowly)
    receiver.start()
    try:
        project = project_with(tmp_path, hook(receiver.url_for("/hook")))
        daemon = Daemon(project)
        daemon.start()
        wait_for(in_flight.is_set, "the send")
        assert daemon.stop() == 0
    finally:
        receiver.stop()
    assert "stopped" in daemon.log_text()
    status = channel_status(project, "hook", capsys)
    assert (status["retrying"], status["sent"]) == (1, 0)  # the next start tries it again


def test_a_trickling_receiver_is_left_at_the_timeout_and_retried_while_others_deliver(
    tmp_path: Path,
) -> None:
    receiver = Trickle(TRICKLED)
    try:
        settings = f"    timeout_seconds: 1\n{FAST_RETRY}"
        slow_hook = hook(f"http://127.0.0.1:{receiver.port}/hook", settings=settings)
        project = make_project(tmp_path, schedule="immediate", extra=slow_hook)
        daemon = Daemon(project)
        daemon.start()
        wait_for(lambda: receiver.connections >= 1, "the webhook's first attempt")
        wait_for(lambda: len(project.digests()) == 1, "the seeds in the file channel")
        (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
        wait_for(lambda: len(project.digests()) == 2, "the new article", timeout=10)
        wait_for(lambda: receiver.connections >= 3, "two retries", timeout=15)
        assert daemon.stop() == 0
    finally:
        receiver.stop()
    expected = f"POST http://127.0.0.1:{receiver.port}/…: no answer within 1 s; next attempt at"
    assert expected in daemon.log_text()


def test_sigterm_during_a_stuck_delivery_exits_0_and_the_next_start_sends_it(
    tmp_path: Path, receiver: HTTPServer
) -> None:
    stuck = Trickle(TRICKLED)
    try:
        url = f"http://127.0.0.1:{stuck.port}/hook"
        project = project_with(tmp_path, hook(url, settings="    timeout_seconds: 600\n"))
        daemon = Daemon(project)
        daemon.start()
        wait_for(lambda: stuck.connections == 1, "the send")
        assert stuck.hung_up == 0  # the receiver is still answering when the stop comes
        assert daemon.stop() == 0  # its stop_grace (1 s) over, it leaves the send
        assert stuck.sent < len(TRICKLED)  # unfinished
    finally:
        stuck.stop()
    assert "channel hook: still sending after 1 s" in daemon.log_text()
    receiver.expect_request("/hook").respond_with_data("ok")
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(config.replace(url, receiver.url_for("/hook")), encoding="utf-8")
    daemon.start()
    wait_for(lambda: receiver.log, "the digest cut short, sent again")
    assert daemon.stop() == 0
    (body,) = bodies(receiver)
    assert body["counts"]["articles"] == 5


def test_a_retry_stored_by_another_process_is_sent_by_the_daemon(
    tmp_path: Path, receiver: HTTPServer
) -> None:
    receiver.expect_ordered_request("/hook").respond_with_data("down", status=500)
    receiver.expect_ordered_request("/hook").respond_with_data("ok")
    retry = "    retry: {delays: [1s], jitter: 0}\n"
    url = receiver.url_for("/hook")
    project = project_with(tmp_path, hook(url, settings=retry, schedule="0 0 1 1 *"))
    daemon = Daemon(project)
    daemon.start()  # its slot is on 1 January: it sends nothing by itself
    # "watching" comes before the start-up scan: the seeds are stored once each is told
    wait_for(lambda: daemon.log_text().count("' matched ") == 5, "the seeds stored")
    assert wirewatch(project, "digest", "hook") == 1  # another process's attempt fails
    assert len(receiver.log) == 1
    wait_for(lambda: len(receiver.log) == 2, "the daemon's retry", timeout=45)
    assert daemon.stop() == 0
    first, second = bodies(receiver)
    assert first == second
    assert "answered 500" not in daemon.log_text()  # the failure was the other process's


def test_immediate_sends_go_on_while_the_receiver_is_slow(tmp_path: Path) -> None:
    receiver = HTTPServer(host="127.0.0.1", port=free_port())
    requests: list[Request] = []
    second_in_flight, release = threading.Event(), threading.Event()

    def slow_second(request: Request) -> Response:
        requests.append(request)
        if len(requests) == 2:
            second_in_flight.set()
            release.wait(timeout=30)
        return Response("ok")

    receiver.expect_request("/hook").respond_with_handler(slow_second)
    receiver.start()
    try:
        channel = hook(receiver.url_for("/hook"), schedule="immediate")
        timing = "{lease: 2s, sweep: 1s, stop_grace: 1s, batch: 0.3s}"
        project = make_project(tmp_path, schedule="0 0 1 1 *", extra=channel, timing=timing)
        daemon = Daemon(project)
        daemon.start()
        wait_for(lambda: len(requests) == 1, "the seeds")
        (project.inbox / "a.txt").write_text(TALKS, encoding="utf-8")
        wait_for(second_in_flight.is_set, "the first article's digest")
        # while its send waits for the receiver, another article matches
        (project.inbox / "b.txt").write_text(TALKS.replace("talks.", "more talks."), "utf-8")
        wait_for(lambda: "b.txt: 'Putin and Xi hold talks' matched" in daemon.log_text(), "b")
        time.sleep(0.6)  # past its batch: its send is due, and waits for the one in flight
        release.set()
        wait_for(lambda: len(requests) == 3, "both articles", timeout=20)
        assert daemon.stop() == 0
        assert "maximum number of running instances" not in daemon.log_text()
        titles = [titles_in(json.loads(r.get_data())) for r in requests]
        # b is a rewrite of a: the story of a's digest, updated in the next
        assert titles[1:] == [["Putin and Xi hold talks"], ["Putin and Xi hold talks"]]
    finally:
        release.set()
        receiver.stop()
