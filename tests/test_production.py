"""Running in production: systemd told of readiness, the watchdog and the stop over a real
notify socket; the unit files as `systemd-analyze verify` reads them; the Containerfile and
the example alert rules against what the package and the daemon serve."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, Daemon, make_project, wait_for
from worker.endpoint import PATHS
from worker.metrics import METRICS
from worker.systemd import Systemd

pytestmark = pytest.mark.timeout(120)

UNITS = REPO / "contrib" / "systemd"
ALERTS = REPO / "contrib" / "prometheus" / "wirewatch-alerts.yaml"


class NotifySocket:
    """A unix datagram socket standing in for systemd's, with what it was told."""

    def __init__(self) -> None:
        # Short: a socket's path must fit in 108 bytes.
        self._folder = Path(tempfile.mkdtemp(prefix="ww-notify-"))
        self.path = self._folder / "notify"
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(self.path))
        self._socket.settimeout(0.2)
        self.told: list[str] = []
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                self.told.append(self._socket.recv(4096).decode())
            except TimeoutError:
                continue

    def close(self) -> None:
        self._closed.set()
        self._reader.join(5)
        self._socket.close()
        shutil.rmtree(self._folder, ignore_errors=True)


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    listening = NotifySocket()
    yield listening
    listening.close()


def test_systemd_hears_ready_after_the_scan_then_pings_then_stopping(
    tmp_path: Path, notify: NotifySocket
) -> None:
    project = make_project(tmp_path)
    environ = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "400000"}
    daemon = Daemon(project, env=environ)
    daemon.start(wait=False)
    wait_for(lambda: any(m.startswith("READY=1") for m in notify.told), "READY=1")
    with project.store() as store:  # ready once the start-up scan has taken the seeds
        assert store.counts()["ingested"] >= len(list((project.root / "seeds").iterdir()))
    wait_for(lambda: notify.told.count("WATCHDOG=1") >= 2, "watchdog pings")
    assert daemon.stop() == 0
    wait_for(lambda: "STOPPING=1" in notify.told, "STOPPING=1")
    assert [m.split("\n")[0] for m in notify.told if not m.startswith("WATCHDOG")] == [
        "READY=1",
        "STOPPING=1",
    ]


def test_the_watchdog_is_not_pinged_while_the_daemon_is_not_alive(notify: NotifySocket) -> None:
    asked: list[bool] = []
    answers = iter([False, False, True])

    def alive() -> bool:
        asked.append(next(answers, True))
        return asked[-1]

    systemd = Systemd({"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "100000"})
    systemd.watch(alive)
    wait_for(lambda: "WATCHDOG=1" in notify.told, "a ping")
    systemd.stopping()
    assert asked[:3] == [False, False, True]  # the first ping came once it was alive


def test_without_systemd_nothing_is_sent() -> None:
    systemd = Systemd({})
    systemd.ready()
    systemd.watch(lambda: True)
    systemd.stopping()  # no socket, no thread, no error


@pytest.mark.parametrize("unit", ["wirewatch.service", "wirewatch@.service"])
def test_the_unit_files_pass_systemd_analyze_verify(tmp_path: Path, unit: str) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    text = (UNITS / unit).read_text(encoding="utf-8")
    [start] = re.findall(r"^ExecStart=(\S+) run -c ", text, re.MULTILINE)
    assert Path(start).name == entry_point()
    # verify wants the program to exist: the one installed here stands in for it.
    installed = Path(sys.executable).parent / entry_point()
    (tmp_path / unit).write_text(text.replace(start, str(installed)), encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(tmp_path / unit)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert unit not in done.stderr, done.stderr  # an unknown key is only warned of
    assert "RestartPreventExitStatus=2 78" in text
    assert "Type=notify" in text
    assert "WatchdogSec=" in text


def entry_point() -> str:
    """The command the package installs for `wirewatch run`."""
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    [(name, target)] = scripts.items()
    assert target == "worker.cli:main"
    return str(name)


def test_the_containerfile_runs_the_package_entry_point_and_checks_healthz() -> None:
    text = (REPO / "Containerfile").read_text(encoding="utf-8")
    [entry] = re.findall(r"^ENTRYPOINT (.+)$", text, re.MULTILINE)
    assert json.loads(entry) == [entry_point(), "run"]
    assert re.search(r"^FROM python:3\.12-slim$", text, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert re.search(r"pip install [^\n]*/src\b", text)  # the package, as the tests install it
    [check] = re.findall(r"^HEALTHCHECK .*?CMD (.+)$", text, re.MULTILINE | re.DOTALL)
    [path] = re.findall(r"http://127\.0\.0\.1:9464(/\w+)", check)
    assert path == "/healthz"
    assert path in PATHS
    [volumes] = re.findall(r"^VOLUME (.+)$", text, re.MULTILINE)
    assert "/var/lib/wirewatch" in json.loads(volumes)


# Aggregations and the labels they group by: the words of an expression that are no metric.
PROMQL_WORDS = {"by", "without", "max", "min", "sum", "avg", "le", "instance", "part", "channel"}


def served_metric(name: str) -> bool:
    """Whether /metrics serves this series name (a histogram's as _bucket, _sum, _count)."""
    return name in METRICS or re.sub(r"_(bucket|sum|count)$", "", name) in METRICS


def test_every_example_alert_names_only_metrics_the_daemon_serves() -> None:
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"][0]["rules"]
    assert len(rules) >= 5
    for rule in rules:
        names = re.findall(r"\b[a-z_]+(?=[\s{)\[]|$)", rule["expr"])
        metrics = [name for name in names if name.startswith("wirewatch_")]
        assert metrics, rule["alert"]
        assert all(served_metric(name) for name in metrics), (rule["alert"], metrics)
        others = set(names) - set(metrics) - PROMQL_WORDS
        assert not others, (rule["alert"], others)  # no metric of another exporter


def test_the_docs_show_the_example_alerts_as_shipped() -> None:
    page = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    assert ALERTS.read_text(encoding="utf-8") in page
