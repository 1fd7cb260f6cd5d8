"""Alerts about wirewatch itself, end to end: the daemon as a user runs it, a real receiver
on 127.0.0.1 that refuses its digests, and an `alerts:` channel told of it, once, and
once more when the trouble clears."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers import OPS, Daemon, alerts, make_project, wait_for
from worker.cli import main

pytestmark = pytest.mark.timeout(120)

CHANNELS = """\
  wire:
    type: webhook
    url: {url}
    schedule: immediate
  ops:
    type: file
    path: ops/
    schedule: "0 0 1 1 *"
alerts: [ops]
"""


class Receiver:
    """Refuses every digest for good (400) until it is told to take them."""

    def __init__(self) -> None:
        self.taking = threading.Event()
        self.taken: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Response:
        if not self.taking.is_set():
            return Response("invalid_payload", status=400)
        self.taken.append(json.loads(request.get_data()))
        return Response("ok")


def test_a_dead_digest_is_told_once_and_its_clearing_once(
    tmp_path: Path, httpserver_ipv4: HTTPServer
) -> None:
    receiver = Receiver()
    httpserver_ipv4.expect_request("/wire").respond_with_handler(receiver)
    url = httpserver_ipv4.url_for("/wire")
    project = make_project(tmp_path, schedule="0 0 1 1 *", extra=CHANNELS.format(url=url))
    ops = tmp_path / "ops"
    daemon = Daemon(project)
    daemon.start()
    wait_for(lambda: alerts(ops), "the alert of the dead digest")
    [told] = alerts(ops)
    assert (told["type"], told["state"], told["part"]) == ("alert", "trouble", "channel:wire")
    assert "given up" in told["problem"]
    assert "--retry-dead wire" in told["problem"]
    receiver.taking.set()
    assert main(["digest", "-c", str(project.config), "--retry-dead", "wire"]) == 0
    assert receiver.taken  # the dead digests, sent at last
    wait_for(lambda: len(alerts(ops)) == 2, "the alert that it cleared")
    assert daemon.stop() == 0
    states = [(a["part"], a["state"]) for a in alerts(ops)]
    assert sorted(states) == [("channel:wire", "cleared"), ("channel:wire", "trouble")]
    assert not list(ops.glob("*-ops-*"))  # no digest of articles went to the alerts channel
    assert "alert sent" in daemon.log_text()
    assert "Traceback" not in daemon.log_text()


def test_a_watched_folder_gone_is_told_and_its_return_too(tmp_path: Path) -> None:
    project = make_project(tmp_path, schedule="every 1s", rescan_seconds=1, extra=OPS)
    ops = tmp_path / "ops"
    daemon = Daemon(project)
    daemon.start()
    wait_for(project.digests, "the seeds' digest")
    project.inbox.rename(tmp_path / "inbox.moved")  # an unmounted share, a deploy gone wrong
    wait_for(lambda: alerts(ops), "the alert of the missing folder")
    [told] = alerts(ops)
    assert (told["state"], told["part"]) == ("trouble", f"folder:{project.inbox}")
    assert "the watched folder is missing" in told["problem"]
    (tmp_path / "inbox.moved").rename(project.inbox)
    wait_for(lambda: len(alerts(ops)) == 2, "the alert that it is back")
    assert daemon.stop() == 0
    assert sorted(a["state"] for a in alerts(ops)) == ["cleared", "trouble"]


def test_a_state_file_deleted_while_running_is_told_before_the_daemon_stops(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path, schedule="every 1s", extra=OPS)
    ops = tmp_path / "ops"
    daemon = Daemon(project)
    daemon.start()
    wait_for(project.digests, "the seeds' digest")
    (project.root / "var" / "wirewatch.db").unlink()
    assert daemon.process is not None
    assert daemon.process.wait(timeout=30) == 78
    daemon.process = None
    [told] = alerts(ops)  # sent before it stopped: no one may be watching its log
    assert (told["state"], told["part"]) == ("trouble", "store")
    assert "deleted or replaced" in told["problem"]
