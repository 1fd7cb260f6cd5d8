"""The SQLite backend's own promises: its layout upgraded in place, a file that is not its
own refused, two processes on one file, and one daemon per file."""

from __future__ import annotations

import multiprocessing
import re
import shutil
import sqlite3
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import wait_for
from worker.errors import StateError, StateGone, StateUnavailable
from worker.health import Health
from worker.model import Article, Delivery, Digest, DigestCounts, Match, Period
from worker.store import daemon_lock, open_store, sqlite

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures"


def delivery(digest_id: str) -> Delivery:
    counts = DigestCounts(articles=1, matches=1)
    period = Period(start=NOW, end=NOW)
    return Delivery(
        Digest(digest_id=digest_id, channel="local", generated_at=NOW, period=period, counts=counts)
    )


def article(n: int) -> Article:
    return Article(f"article-{n}", f"Title {n}", f"Body {n}", date(2024, 5, 1), f"/in/{n}.txt")


def test_a_state_file_of_the_first_layout_is_upgraded_with_what_it_had_pending(
    tmp_path: Path,
) -> None:
    # Written by wirewatch before pending matches were written down: channels local and
    # mail took the rule before articles 1-3, local was sent article 1, and late took
    # the rule before article 4.
    state = tmp_path / "state.db"
    shutil.copy(FIXTURES / "state-v1.db", state)
    store = open_store(str(state))
    try:
        pending = {
            channel: [m.article.id for m in store.pending(channel)]
            for channel in ("local", "mail", "late")
        }
        assert pending == {
            "local": ["article-2", "article-3", "article-4"],
            "mail": ["article-1", "article-2", "article-3", "article-4"],
            "late": ["article-4"],
        }
        assert store.channel_totals("local").sent == 1
        store.add_article(article(5), [Match("rule", ())], NOW)
        assert [m.article.id for m in store.pending("late")] == ["article-4", "article-5"]
    finally:
        store.close()


def test_a_state_file_of_a_newer_wirewatch_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = str(tmp_path / "state.db")
    newer = (*sqlite.MIGRATIONS, "CREATE TABLE later (id INTEGER)")
    monkeypatch.setattr(sqlite, "MIGRATIONS", newer)
    open_store(state).close()  # as the newer wirewatch leaves it
    monkeypatch.undo()
    schema = len(sqlite.MIGRATIONS) + 1
    with pytest.raises(StateError, match=rf"newer wirewatch \(schema {schema}\); upgrade"):
        open_store(state)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_text("my notes", encoding="utf-8")
    with pytest.raises(StateError, match="cannot be used as the state file"):
        open_store(str(tmp_path / "state.db"))
    assert (tmp_path / "state.db").read_text(encoding="utf-8") == "my notes"


def test_a_state_given_as_a_sqlite_address_is_the_same_file(tmp_path: Path) -> None:
    open_store(str(tmp_path / "state.db")).close()
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")  # four slashes: absolute
    try:
        store.add_article(article(1), [], NOW)
    finally:
        store.close()
    reopened = open_store(str(tmp_path / "state.db"))
    assert reopened.has_article("article-1")
    reopened.close()


def test_an_unknown_kind_of_state_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"'mysql://' is not a state wirewatch can use"):
        open_store("mysql://localhost/news")


def _add_articles(state: str, start: int) -> None:
    store = open_store(state)
    for n in range(start, start + 200):
        store.add_article(article(n), [Match("rule", ())], NOW)
    store.close()


def test_two_processes_on_one_state_file_lose_nothing(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    open_store(state).close()
    context = multiprocessing.get_context("spawn")
    # Overlapping ranges: both processes store articles 100-199; each is kept once.
    workers = [context.Process(target=_add_articles, args=(state, s)) for s in (0, 100)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    store = open_store(state)
    assert store.counts() == {"ingested": 300, "failed": 0, "matches": 300}
    store.close()


def test_one_daemon_holds_a_state_file_at_a_time(tmp_path: Path) -> None:
    state = str(tmp_path / "var" / "state.db")
    with (
        daemon_lock(state),
        pytest.raises(StateError, match="another 'wirewatch run' already uses"),
        daemon_lock(state),
    ):
        pass
    with daemon_lock(state):  # free again once the first has let go
        pass
    assert not (tmp_path / "var" / "state.db").exists()  # the lock comes before the state


def test_a_stored_digest_that_cannot_be_read_back_is_dead_and_holds_back_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(str(tmp_path / "state.db"))
    store.channel_since("local", NOW)
    store.select_rules("local", ["rule"])
    for n in (1, 2):
        store.add_article(article(n), [Match("rule", ())], NOW)
    first, second = store.pending("local")
    store.create_digest(delivery("old"), [first.id])
    store.create_digest(delivery("new"), [second.id])
    readable = Digest.from_document

    def written_by_another_version(document: object) -> Digest:
        digest = readable(document)
        if digest.digest_id == "old":
            raise ValueError("period: field required")
        return digest

    monkeypatch.setattr(Digest, "from_document", written_by_another_version)
    assert [d.id for d in store.unsent_digests("local")] == ["new"]
    totals = store.channel_totals("local")
    assert totals.dead == 1
    assert totals.last_error == "the stored digest cannot be read: period: field required"
    store.close()


def test_the_state_locked_past_the_busy_timeout_is_told_to_health_until_a_write_goes_through(
    tmp_path: Path,
) -> None:
    health = Health()
    path = tmp_path / "state.db"
    store = open_store(str(path), timedelta(seconds=0.1), health)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StateUnavailable):
        store.beat("w", "host", 1, datetime.now(UTC))
    assert store.files() == {}  # reads go on meanwhile, and do not say it is over
    trouble = health.trouble("store")
    assert trouble is not None
    assert "database is locked" in trouble.problem
    other.execute("ROLLBACK")
    other.close()
    store.beat("w", "host", 1, datetime.now(UTC))
    assert health.trouble("store") is None
    store.close()


def test_an_outage_is_as_old_as_the_first_wait_for_the_state(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = open_store(str(path), timedelta(seconds=1.2))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StateUnavailable):
        store.beat("w", "host", 1, datetime.now(UTC))  # waited 1.2 s, then gave up
    problem = store.unreachable()
    other.execute("ROLLBACK")
    other.close()
    store.close()
    assert problem is not None
    waited = re.search(r"\(for (\d+) s\)", problem)
    assert waited is not None, problem
    assert int(waited.group(1)) >= 1  # not "for 0 s": the wait counts (more under load)


def test_a_glance_at_the_channels_does_not_wait_behind_a_write_waiting_on_a_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    store = open_store(str(path), timedelta(seconds=30))
    assert store.channel_totals_at_once(["local"]) == {"local": store.channel_totals("local")}
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writes; this one's write waits on it
    writer = threading.Thread(target=store.beat, args=("w", "host", 1, datetime.now(UTC)))
    writer.start()
    try:
        wait_for(lambda: store.channel_totals_at_once(["local"]) is None, "the write waiting")
        assert writer.is_alive()  # a scrape answered (without the gauges) while it waits
    finally:
        other.execute("ROLLBACK")
        other.close()
        writer.join(timeout=30)
    assert store.channel_totals_at_once(["local"]) is not None
    store.close()


def test_a_state_file_deleted_while_open_takes_no_more_writes(tmp_path: Path) -> None:
    health = Health()
    path = tmp_path / "state.db"
    store = open_store(str(path), health=health)
    assert store.lost() is None
    path.unlink()
    lost = store.lost()
    assert lost is not None
    assert "deleted or replaced" in lost
    with pytest.raises(StateGone):
        store.beat("w", "host", 1, datetime.now(UTC))
    trouble = health.trouble("store")
    assert trouble is not None
    assert trouble.problem == lost
    store.close()
