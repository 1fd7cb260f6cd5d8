"""The daemon's HTTP endpoint as Prometheus, a load balancer and an operator use it: a real
HTTP client against `wirewatch run` in a subprocess."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import FAST, Daemon, Project, make_project, wait_for
from tests.postgres import start_cluster
from tests.servers import free_port
from worker.metrics import METRICS

pytestmark = pytest.mark.timeout(180)

TALKS = " date 2024-05-16 Putin and Xi hold talks\n\nVladimir Putin met Xi Jinping for talks.\n"


def served(port: int, state: str = "var/wirewatch.db", root: Path | None = None) -> Project:
    assert root is not None
    # A state that cannot be reached is noticed within a second.
    timing = FAST.replace("}", ", busy_timeout: 1s}")
    return make_project(
        root,
        schedule="every 1s",
        state=state,
        timing=timing,
        extra=f"http:\n  listen: 127.0.0.1:{port}\n",
    )


def get(port: int, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10)


def samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics serves, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(get(port, "/metrics").text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def families(port: int) -> set[str]:
    """The name of each metric family /metrics serves (a counter's without `_total`)."""
    return {family.name for family in text_string_to_metric_families(get(port, "/metrics").text)}


def value(port: int, name: str, **labels: str) -> float:
    return samples(port).get((name, tuple(sorted(labels.items()))), 0.0)


def answers(port: int, path: str) -> int | None:
    try:
        return get(port, path).status_code
    except httpx.TransportError:
        return None


def ready_daemon(root: Path) -> tuple[int, Project, Daemon]:
    """A daemon serving its endpoint on a free port, once it says it is ready."""
    port = free_port()
    project = served(port, root=root)
    daemon = Daemon(project)
    daemon.start()
    wait_for(lambda: answers(port, "/readyz") == 200, "ready")
    return port, project, daemon


def test_metrics_move_when_an_article_is_dropped_and_its_digest_sent(tmp_path: Path) -> None:
    port, project, daemon = ready_daemon(tmp_path)
    wait_for(lambda: value(port, "wirewatch_digests_sent_total", channel="local") > 0, "seeds")
    before = samples(port)
    sent_before = value(port, "wirewatch_digests_sent_total", channel="local")
    (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: daemon.digested("Putin and Xi hold talks") == 1, "the digest")
    wait_for(
        lambda: value(port, "wirewatch_digests_sent_total", channel="local") > sent_before,
        "the digest counted",
    )
    after = samples(port)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("wirewatch_articles_ingested_total") == 1
    assert moved("wirewatch_matches_total", rule="xi-putin-contacts") >= 1
    assert moved("wirewatch_delivery_seconds_count", channel="local") >= 1
    assert after[("wirewatch_last_digest_sent_timestamp_seconds", (("channel", "local"),))] > 0
    assert ("wirewatch_outbox_pending", (("channel", "local"),)) in after
    assert after[("wirewatch_dead_digests", (("channel", "local"),))] == 0
    assert after[("wirewatch_rules", ())] > 0
    assert after[("wirewatch_articles_failed_total", ())] == 0
    [(_, labels)] = [key for key in after if key[0] == "wirewatch_build_info"]
    assert dict(labels)["version"]
    for name in METRICS:  # every metric the docs list is served (some with no sample yet)
        assert any(name == f or name.startswith(f"{f}_") for f in families(port)), name
    assert get(port, "/healthz").json() == {"healthy": True, "troubles": []}
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.log_text()


def test_a_file_that_cannot_be_read_is_counted_failed(tmp_path: Path) -> None:
    port, project, daemon = ready_daemon(tmp_path)
    (project.inbox / "broken.jsonl").write_text("{not json\n", encoding="utf-8")
    wait_for(lambda: value(port, "wirewatch_articles_failed_total") == 1, "the failure counted")
    assert daemon.stop() == 0


def test_healthz_and_readyz_follow_the_state_stopped_and_started(tmp_path: Path) -> None:
    cluster = start_cluster()  # a server of its own, to stop
    try:
        port = free_port()
        database = cluster.new_database()
        cluster.stop()
        daemon = Daemon(served(port, state=database, root=tmp_path))
        daemon.start(wait=False)  # the state cannot be reached: the daemon waits for it
        wait_for(lambda: answers(port, "/readyz") == 503, "the endpoint")
        assert get(port, "/readyz").json()["waiting_for"] == "the state to be opened"
        wait_for(lambda: answers(port, "/healthz") == 503, "the state found unreachable")
        health = get(port, "/healthz")
        assert [t["part"] for t in health.json()["troubles"]] == ["store"]
        assert "cannot be reached" in health.json()["troubles"][0]["problem"]

        cluster.start()
        wait_for(lambda: answers(port, "/readyz") == 200, "ready once the state is back")
        wait_for(lambda: answers(port, "/healthz") == 200, "healthy")

        cluster.stop()  # while it runs: the next heartbeat cannot reach it
        wait_for(lambda: answers(port, "/healthz") == 503, "the outage seen")
        [trouble] = get(port, "/healthz").json()["troubles"]
        assert trouble["part"] == "store"
        assert "cannot be reached" in trouble["problem"]
        assert value(port, "wirewatch_trouble", part="store") == 1

        cluster.start()
        wait_for(lambda: answers(port, "/healthz") == 200, "healthy again")
        assert daemon.stop() == 0
        assert "Traceback" not in daemon.log_text()
    finally:
        cluster.remove()


def test_status_json_tells_what_the_endpoint_knows(tmp_path: Path) -> None:
    port, project, daemon = ready_daemon(tmp_path)
    wait_for(lambda: answers(port, "/healthz") == 200, "healthy")
    report = json.loads(status(project, "--json"))
    assert report["health"] == {
        "endpoint": f"http://127.0.0.1:{port}/healthz",
        "healthy": True,
        "troubles": [],
    }
    assert report["rules"] > 0
    assert report["version"]
    assert "health: healthy" in status(project)
    assert daemon.stop() == 0
    report = json.loads(status(project, "--json"))  # no daemon answers now
    assert report["health"]["healthy"] is None
    assert "is the daemon running?" in report["health"]["error"]


def status(project: Project, *options: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "worker", "status", "-c", str(project.config), *options],
        capture_output=True,
        text=True,
        check=True,
        cwd=project.root,
    )
    return done.stdout


def test_a_taken_port_is_said_in_one_line_at_start(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        project = served(port, root=tmp_path)
        done = subprocess.run(
            [sys.executable, "-m", "worker", "run", "-c", str(project.config)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=project.root,
        )
    assert done.returncode == 2
    [line] = [line for line in done.stderr.splitlines() if "http.listen" in line]
    assert line.startswith(f"{project.config}:")
    assert "the port is taken by another program" in line
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("listen", ["9464", "localhost", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_listen_address_that_is_not_host_and_port_is_refused(tmp_path: Path, listen: str) -> None:
    project = make_project(tmp_path, extra=f'http:\n  listen: "{listen}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "worker", "check", "-c", str(project.config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"http.listen: '{listen}' is not HOST:PORT" in done.stderr
