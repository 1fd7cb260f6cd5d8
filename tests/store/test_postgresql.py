"""The PostgreSQL backend's own promises, on a real server: workers starting together
upgrade the layout once, a database of a newer wirewatch is refused, and a password never
shows in a message."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from tests.postgres import Cluster, start_cluster
from worker.errors import StateError, StateUnavailable
from worker.model import Article, Match
from worker.store import Store, open_store, postgresql

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_workers_starting_together_upgrade_the_layout_once(postgres: Cluster) -> None:
    url = postgres.new_database()
    opened: list[Store] = []
    failed: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(open_store(url))
        except BaseException as error:
            failed.append(error)

    workers = [threading.Thread(target=start) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert failed == []
    assert len(opened) == 6
    article = Article("a", "Gas", "Gas.", date(2024, 5, 1), "/in/a.txt")
    assert opened[0].add_article(article, [Match("rule", ())], NOW)
    assert not opened[5].add_article(article, [Match("rule", ())], NOW)
    for store in opened:
        store.close()
    open_store(url).close()  # a later start finds it upgraded: nothing is made twice


def test_a_database_of_a_newer_wirewatch_is_refused(
    postgres: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres.new_database()
    newer = (*postgresql.MIGRATIONS, "CREATE TABLE later (id INTEGER)")
    monkeypatch.setattr(postgresql, "MIGRATIONS", newer)
    open_store(url).close()  # as the newer wirewatch leaves it
    monkeypatch.undo()
    schema = len(postgresql.MIGRATIONS) + 1
    with pytest.raises(StateError, match=rf"newer wirewatch \(schema {schema}\); upgrade"):
        open_store(url)


def test_a_database_that_cannot_be_reached_is_said_without_its_password(
    postgres: Cluster,
) -> None:
    url = f"postgresql://postgres:hunter2-secret@127.0.0.1:{postgres.port}/no_such_database"
    with pytest.raises(StateError) as caught:
        open_store(url)
    said = str(caught.value)
    assert said.startswith(f"postgresql://127.0.0.1:{postgres.port}/no_such_database:")
    assert "cannot be reached" in said
    assert 'database "no_such_database" does not exist' in said
    assert "hunter2-secret" not in said


def stored_once_back(store: Store, article: Article) -> bool:
    """Store the article, trying again while the pool reconnects, as the daemon does."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return store.add_article(article, [Match("rule", ())], NOW)
        except StateUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_server_down_is_said_once_and_the_store_carries_on_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="worker")
    cluster = start_cluster()  # a server of its own: it is stopped and started again
    try:
        store = open_store(cluster.new_database(), busy_timeout=timedelta(seconds=0.5))
        article = Article("a", "Gas", "Gas.", date(2024, 5, 1), "/in/a.txt")
        cluster.stop()
        for _ in range(3):
            with pytest.raises(StateUnavailable):
                store.add_article(article, [Match("rule", ())], NOW)
        cluster.start()
        assert stored_once_back(store, article)
        store.close()
    finally:
        cluster.remove()
    said = [r.getMessage() for r in caplog.records if r.name == "worker.store.sql"]
    assert len(said) == 2
    assert "cannot be reached" in said[0]
    assert " is back after " in said[1]


def test_times_read_back_count_in_real_time_whatever_the_database_time_zone(
    postgres: Cluster,
) -> None:
    url = postgres.new_database()
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE \"{url.rsplit('/', 1)[1]}\" SET TimeZone = 'Europe/Berlin'")
    store = open_store(url)
    try:
        before_the_clocks_go_back = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
        store.record_run("local", before_the_clocks_go_back)
        ran = store.last_run("local")
    finally:
        store.close()
    assert ran == before_the_clocks_go_back
    # an hour later is an hour later: a schedule counting from it is not an hour off
    assert ran is not None
    assert (ran + timedelta(hours=1)).astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
