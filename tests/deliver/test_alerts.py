"""Alerts about wirewatch itself: the hour's limit (pure, a fake clock), and alerts sent
from the health of a running wirewatch to a real folder and a real HTTP server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.helpers import wait_for
from worker.deliver.alerts import AlertPolicy, Alerts
from worker.health import Change, Health, Trouble
from worker.model import Alert
from worker.settings.config import Config, load_config

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def trouble(part: str, problem: str, since: datetime = T0) -> Change:
    return Change(part, Trouble(part, problem, since))


def cleared(part: str) -> Change:
    return Change(part, None)


def said(alerts: list[Alert]) -> list[tuple[str, str, bool]]:
    return [(a.part, a.problem, a.cleared) for a in alerts]


def test_a_trouble_is_told_at_once_and_its_clearing_too() -> None:
    policy = AlertPolicy("host")
    assert said(policy.heard(trouble("store", "storage full"), T0)) == [
        ("store", "storage full", False)
    ]
    [done] = policy.heard(cleared("store"), T0 + timedelta(minutes=3))
    assert (done.cleared, done.problem, done.since) == (True, "storage full", T0)
    assert policy.next_due() is None


def test_a_part_is_told_at_most_once_an_hour() -> None:
    policy = AlertPolicy("host")
    policy.heard(trouble("channel:ops", "digest a given up"), T0)
    later = T0 + timedelta(minutes=10)
    assert policy.heard(trouble("channel:ops", "digest b given up"), later) == []
    assert policy.due(T0 + timedelta(minutes=59)) == []
    assert policy.next_due() == T0 + timedelta(hours=1)
    told = policy.due(T0 + timedelta(hours=1))
    assert said(told) == [("channel:ops", "digest b given up", False)]
    assert policy.due(T0 + timedelta(hours=3)) == []  # told: not repeated


def test_a_trouble_that_comes_and_goes_within_the_hour_is_told_once() -> None:
    policy = AlertPolicy("host")
    sent = policy.heard(trouble("folder:/in", "missing"), T0)
    for minute in range(1, 50, 2):  # flapping: back, gone, back, ...
        at = T0 + timedelta(minutes=minute)
        sent += policy.heard(cleared("folder:/in"), at)
        sent += policy.heard(trouble("folder:/in", "missing", at), at + timedelta(minutes=1))
    sent += policy.heard(cleared("folder:/in"), T0 + timedelta(minutes=55))
    sent += policy.due(T0 + timedelta(hours=2))
    assert said(sent) == [("folder:/in", "missing", False), ("folder:/in", "missing", True)]


def test_parts_are_limited_each_on_its_own() -> None:
    policy = AlertPolicy("host")
    policy.heard(trouble("store", "storage full"), T0)
    told = policy.heard(trouble("folder:/in", "missing"), T0 + timedelta(minutes=1))
    assert said(told) == [("folder:/in", "missing", False)]


def test_an_alert_says_what_where_and_since_when() -> None:
    [alert] = AlertPolicy("newsbox").heard(trouble("store", "storage full"), T0)
    assert alert.subject == "wirewatch on newsbox: store: storage full"
    assert "Since 2026-12-05 09:00:00+00:00" in alert.text
    document = alert.document()
    assert (document["type"], document["state"], document["part"]) == ("alert", "trouble", "store")
    assert alert.id == AlertPolicy("newsbox").heard(trouble("store", "storage full"), T0)[0].id


# --- sent from a running wirewatch's health ----------------------------------------------


def config(root: Path, channels: str, alerts: str = "[ops]") -> Config:
    (root / "inbox").mkdir(exist_ok=True)
    (root / "rules").mkdir(exist_ok=True)
    text = f"watch: [{{path: inbox}}]\nalerts: {alerts}\nchannels:\n{channels}"
    (root / "config.yaml").write_text(text, encoding="utf-8")
    return load_config(root / "config.yaml", {})


def alert_files(folder: Path) -> list[dict[str, Any]]:
    files = sorted(folder.glob("*-alert-*.json")) if folder.exists() else []
    return [json.loads(path.read_text(encoding="utf-8")) for path in files]


Start = Callable[[Path, str], Health]


@pytest.fixture
def start() -> Iterator[Start]:
    """Alerts to the channels of a config, from a health of their own; closed at the end."""
    made: list[Alerts] = []

    def started(root: Path, channels: str) -> Health:
        health = Health()
        alerts = Alerts(health, pauses=(0.1, 0.1))
        made.append(alerts)
        alerts.use(config(root, channels))
        return health

    yield started
    for alerts in made:
        alerts.close()


def hook(url: str, format_name: str = "json") -> str:
    return f"  ops: {{type: webhook, url: '{url}', format: {format_name}}}\n"


def test_a_trouble_and_its_clearing_reach_a_file_channel(tmp_path: Path, start: Start) -> None:
    channels = "  ops: {type: file, path: ops}\n  news: {type: file, path: out}\n"
    health = start(tmp_path, channels)
    health.report("store", "storage full")
    wait_for(lambda: len(alert_files(tmp_path / "ops")) == 1, "the alert")
    health.report("store", None)
    wait_for(lambda: len(alert_files(tmp_path / "ops")) == 2, "the clearing")
    states = sorted((a["part"], a["state"], a["problem"]) for a in alert_files(tmp_path / "ops"))
    assert states == [("store", "cleared", "storage full"), ("store", "trouble", "storage full")]
    text = sorted((tmp_path / "ops").glob("*-alert-*.txt"))[0].read_text(encoding="utf-8")
    assert ": store: " in text
    assert not (tmp_path / "out").exists()  # only the channels named in alerts:


def test_an_alert_is_tried_again_until_the_receiver_takes_it(
    tmp_path: Path, httpserver_ipv4: HTTPServer, start: Start
) -> None:
    httpserver_ipv4.expect_ordered_request("/ops").respond_with_data("down", status=503)
    httpserver_ipv4.expect_ordered_request("/ops").respond_with_data("ok")
    health = start(tmp_path, hook(httpserver_ipv4.url_for("/ops")))
    health.report("folder:/srv/inbox", "the watched folder is missing")
    wait_for(lambda: len(httpserver_ipv4.log) == 2, "the second attempt")
    first, second = (json.loads(request.get_data()) for request, _ in httpserver_ipv4.log)
    assert first == second
    assert (second["type"], second["part"]) == ("alert", "folder:/srv/inbox")
    assert "digest_id" not in second


def test_a_refused_alert_is_not_tried_again(
    tmp_path: Path, httpserver_ipv4: HTTPServer, start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver_ipv4.expect_request("/ops").respond_with_data("bad", status=400)
    health = start(tmp_path, hook(httpserver_ipv4.url_for("/ops")))
    health.report("store", "storage full")
    wait_for(lambda: "alert not sent" in caplog.text, "the refusal logged")
    assert len(httpserver_ipv4.log) == 1


@pytest.mark.parametrize(
    ("format_name", "text_of"),
    [
        ("slack", lambda body: body["text"]),
        ("discord", lambda body: body["content"]),
        ("teams", lambda body: body["attachments"][0]["content"]["fallbackText"]),
    ],
)
def test_chat_formats_get_the_alert_as_text(
    tmp_path: Path,
    httpserver_ipv4: HTTPServer,
    start: Start,
    format_name: str,
    text_of: Callable[[dict[str, Any]], str],
) -> None:
    httpserver_ipv4.expect_request("/ops").respond_with_data("ok")
    health = start(tmp_path, hook(httpserver_ipv4.url_for("/ops"), format_name))
    health.report("store", "storage full")
    wait_for(lambda: len(httpserver_ipv4.log) == 1, "the alert")
    body = json.loads(httpserver_ipv4.log[0][0].get_data())
    assert "store: storage full" in text_of(body)
