"""Several `wirewatch run` workers on one PostgreSQL database and one shared folder, as a
team runs them: every article delivered, none under two digest ids, a worker killed with
SIGKILL losing nothing, and the database stopped and started again losing nothing."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers import Daemon, Project, make_project, wait_for
from tests.postgres import Cluster, start_cluster

pytestmark = pytest.mark.timeout(240)

TIMING = "{lease: 2s, sweep: 1s, stop_grace: 1s, batch: 0.5s, busy_timeout: 1s}"


def article(n: int) -> str:
    return (
        f" date 2024-05-16 Putin and Xi hold talks, round {n}\n\n"
        f"Vladimir Putin met Xi Jinping for talks in Beijing, round {n}.\n"
    )


class Receiver:
    """A webhook receiver on 127.0.0.1 keeping every digest it took."""

    def __init__(self, server: HTTPServer) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server.expect_request("/hook").respond_with_handler(self._take)
        self.url = server.url_for("/hook")

    def _take(self, request: Request) -> Response:
        with self._lock:
            self.bodies.append(json.loads(request.get_data()))
        return Response("ok")

    def titles(self) -> set[str]:
        with self._lock:
            return {item["article"]["title"] for body in self.bodies for item in body["items"]}

    def digest_ids_of_each_match(self) -> dict[tuple[str, str], set[str]]:
        """For each (article, rule), the digest ids it came under."""
        held: dict[tuple[str, str], set[str]] = defaultdict(set)
        with self._lock:
            for body in self.bodies:
                for item in body["items"]:
                    held[(item["article"]["title"], item["rule"])].add(body["digest_id"])
        return held

    def same_body_for_each_id(self) -> bool:
        """A digest sent again (at least once) is sent unchanged."""
        first: dict[str, dict[str, Any]] = {}
        with self._lock:
            for body in self.bodies:
                if first.setdefault(body["digest_id"], body) != body:
                    return False
        return True


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> Iterator[Receiver]:
    yield Receiver(httpserver_ipv4)
    httpserver_ipv4.clear()


def team(root: Path, state: str, receiver: Receiver, workers: int) -> tuple[Project, list[Daemon]]:
    """A project with a webhook channel on `state`, and its workers (not started)."""
    # A section per rule, every match listed, not counted: each match is an item, the
    # receiver sees each article it was sent, and the rounds of one story stay apart.
    hook = (
        f"  hook:\n    type: webhook\n    url: {receiver.url}\n    schedule: every 2s\n"
        "    group_by: rule\n    max_items: 1000\n"
    )
    project = make_project(
        root, schedule="0 0 1 1 *", extra=hook, rescan_seconds=1, timing=TIMING, state=state
    )
    return project, [Daemon(project, f"worker-{n}") for n in range(workers)]


def drop(project: Project, numbers: range) -> None:
    for n in numbers:
        (project.inbox / f"{n:03}.txt").write_text(article(n), encoding="utf-8")


def titles(numbers: range) -> set[str]:
    return {f"Putin and Xi hold talks, round {n}" for n in numbers}


def test_three_workers_and_a_killed_one_deliver_every_article_once(
    tmp_path: Path, postgres: Cluster, receiver: Receiver
) -> None:
    project, workers = team(tmp_path, postgres.new_database(), receiver, 3)
    for worker in workers:
        worker.start()
    for batch in range(5):
        drop(project, range(batch * 100, batch * 100 + 100))
        if batch in (1, 2, 3):  # lost mid-way, and back
            workers[0].kill_hard()
            workers[0].start()
    wanted = titles(range(500))
    wait_for(lambda: wanted <= receiver.titles(), "every article delivered", timeout=120)
    for worker in workers:
        assert worker.stop() == 0
    doubled = {
        match: ids for match, ids in receiver.digest_ids_of_each_match().items() if len(ids) > 1
    }
    assert doubled == {}  # no match under two digest ids
    assert receiver.same_body_for_each_id()


def test_a_database_stopped_for_ten_seconds_loses_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    cluster = start_cluster()  # a server of its own, to stop
    try:
        project, workers = team(tmp_path, cluster.new_database(), receiver, 2)
        for worker in workers:
            worker.start()
        drop(project, range(100))
        wait_for(lambda: titles(range(100)) <= receiver.titles(), "the first hundred")
        cluster.stop()
        drop(project, range(100, 200))  # they arrive while the database is down
        threading.Event().wait(10)
        cluster.start()
        wait_for(lambda: titles(range(200)) <= receiver.titles(), "all of them", timeout=120)
        for worker in workers:
            assert worker.stop() == 0
    finally:
        cluster.remove()
    assert {m: i for m, i in receiver.digest_ids_of_each_match().items() if len(i) > 1} == {}
    for worker in workers:
        log = worker.log_text()
        assert log.count("cannot be reached: ") == 1  # one line for the outage
        assert log.count(" is back after ") == 1
        assert "Traceback" not in log
        assert "error connecting" not in log  # the pool's own warnings are not repeated


def test_a_worker_killed_while_sending_leaves_the_digest_to_another_with_its_id(
    tmp_path: Path, postgres: Cluster, httpserver_ipv4: HTTPServer
) -> None:
    requests: list[Request] = []
    project, (first, second) = team(tmp_path, postgres.new_database(), Receiver(httpserver_ipv4), 2)

    def kill_the_sender(request: Request) -> Response:
        requests.append(request)
        if len(requests) == 1 and first.process is not None:
            first.kill_hard()  # it never hears the answer
        return Response("ok")

    httpserver_ipv4.clear()
    httpserver_ipv4.expect_request("/hook").respond_with_handler(kill_the_sender)
    drop(project, range(3))
    first.start()
    wait_for(lambda: requests, "the first worker's send")
    wait_for(lambda: first.process is None, "the kill")
    second.start()  # takes the digest over once the dead worker's claim has run out
    wait_for(lambda: len(requests) == 2, "the other worker's send", timeout=30)
    assert second.stop() == 0
    one, two = (json.loads(request.get_data()) for request in requests)
    assert one == two  # the same digest, id and all, for the receiver to drop
    assert len(requests) == 2
