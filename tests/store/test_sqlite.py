"""The SQLite store on a real file: what a restart or a second process must find."""

from __future__ import annotations

import multiprocessing
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from worker.errors import StateError
from worker.model import Article, DigestRecord, FileRecord, Hit, Match
from worker.store.sqlite import SqliteStore

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def article(n: int) -> Article:
    return Article(
        id=f"article-{n}",
        title=f"Title {n}",
        body=f"Body {n}",
        date=date(2024, 5, n % 28 + 1),
        path=f"/inbox/{n}.txt",
    )


def store_with_matches(path: Path, count: int) -> SqliteStore:
    store = SqliteStore(path)
    for channel in ("local", "mail"):
        store.channel_since(channel, NOW)
        store.select_rules(channel, ["rule"])
    store.select_rules("other", ["other-rule"])
    for n in range(count):
        store.add_article(article(n), [Match("rule", (Hit("talks", "body", 0, 5),))], NOW)
    return store


def test_an_article_is_stored_once(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    assert store.add_article(article(1), [], NOW) is True
    assert store.add_article(article(1), [], NOW) is False
    assert store.counts()["ingested"] == 1


def test_matches_and_hits_survive_a_restart(tmp_path: Path) -> None:
    store_with_matches(tmp_path / "state.db", 2).close()
    reopened = SqliteStore(tmp_path / "state.db")
    pending = reopened.pending("local")
    assert [m.article.title for m in pending] == ["Title 0", "Title 1"]
    assert pending[0].hits == (Hit("talks", "body", 0, 5),)
    assert reopened.pending("other") == []


def test_a_digest_claims_its_matches_for_its_channel_only(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 3)
    ids = [m.id for m in store.pending("local")]
    record = DigestRecord("d1", "local", NOW, "pending", 0, {"items": []})
    assert store.create_digest(record, ids)
    assert store.pending("local") == []
    assert len(store.pending("mail")) == 3
    again = DigestRecord("d2", "local", NOW, "pending", 0, {"items": []})
    assert not store.create_digest(again, ids[:1])  # a match goes in one digest per channel


def test_unsent_digest_is_kept_until_marked_sent(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 1)
    ids = [m.id for m in store.pending("local")]
    store.create_digest(DigestRecord("d1", "local", NOW, "pending", 0, {"n": 1}), ids)
    store.record_failure("d1", "disk full", NOW, retry_at=NOW + timedelta(seconds=5))
    store.close()
    store = SqliteStore(tmp_path / "state.db")
    (unsent,) = store.unsent_digests("local")
    assert (unsent.id, unsent.attempts, unsent.last_error, unsent.document) == (
        "d1",
        1,
        "disk full",
        {"n": 1},
    )
    assert (unsent.first_failure_at, unsent.next_attempt_at) == (NOW, NOW + timedelta(seconds=5))
    store.mark_sent("d1", NOW)
    assert store.unsent_digests("local") == []
    totals = store.channel_totals("local")
    assert (totals.sent, totals.pending, totals.last_sent) == (1, 0, NOW)


def test_a_dead_digest_is_revived(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 1)
    ids = [m.id for m in store.pending("local")]
    store.create_digest(DigestRecord("d1", "local", NOW, "pending", 0, {}), ids)
    store.record_failure("d1", "400 Bad Request", NOW, retry_at=None)
    assert store.unsent_digests("local") == []
    totals = store.channel_totals("local")
    assert (totals.dead, totals.last_error, totals.retrying) == (1, "400 Bad Request", 0)
    assert store.revive_dead("local", NOW) == 1
    (revived,) = store.unsent_digests("local")
    assert (revived.attempts, revived.first_failure_at, revived.next_attempt_at) == (0, None, NOW)


def test_a_digest_is_claimed_by_one_holder_at_a_time(tmp_path: Path) -> None:
    first = store_with_matches(tmp_path / "state.db", 1)
    second = SqliteStore(tmp_path / "state.db")  # another process
    ids = [m.id for m in first.pending("local")]
    first.create_digest(DigestRecord("d1", "local", NOW, "pending", 0, {}), ids)
    lease = timedelta(seconds=15)
    assert first.claim_digest("d1", "one", NOW, NOW + lease)
    assert not second.claim_digest("d1", "two", NOW + timedelta(seconds=5), NOW + 2 * lease)
    assert not first.claim_digest("d1", "one", NOW, NOW + lease)  # not twice, even by its holder
    assert first.renew_claim("d1", "one", NOW + 2 * lease)
    assert not second.renew_claim("d1", "two", NOW + 2 * lease)
    (claimed,) = second.unsent_digests("local")
    assert claimed.claimed_until == NOW + 2 * lease
    # a holder that died: its claim runs out, and then another takes the digest
    assert second.claim_digest("d1", "two", NOW + 2 * lease, NOW + 3 * lease)
    assert not first.renew_claim("d1", "one", NOW + 3 * lease)
    second.mark_sent("d1", NOW + 2 * lease)
    assert not first.claim_digest("d1", "one", NOW + 4 * lease, NOW + 5 * lease)  # sent


def test_a_failure_ends_the_claim_and_a_digest_is_claimed_only_when_due(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 1)
    ids = [m.id for m in store.pending("local")]
    store.create_digest(DigestRecord("d1", "local", NOW, "pending", 0, {}), ids)
    lease = timedelta(seconds=15)
    assert store.claim_digest("d1", "one", NOW, NOW + lease)
    retry_at = NOW + timedelta(seconds=5)
    store.record_failure("d1", "503", NOW, retry_at)
    (waiting,) = store.unsent_digests("local")
    assert waiting.claimed_until is None
    assert not store.claim_digest("d1", "two", NOW + timedelta(seconds=4), NOW + lease)
    assert store.claim_digest("d1", "two", retry_at, retry_at + lease)
    store.record_failure("d1", "400", retry_at, None)  # dead: no one claims it
    assert not store.claim_digest("d1", "three", NOW + 2 * lease, NOW + 3 * lease)


def test_a_state_file_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "state.db").close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StateError, match=r"newer wirewatch \(schema 99\); upgrade wirewatch"):
        SqliteStore(tmp_path / "state.db")


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_text("my notes", encoding="utf-8")
    with pytest.raises(StateError, match="cannot be used as the state file"):
        SqliteStore(tmp_path / "state.db")


def test_failed_files_are_listed_with_their_reason(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.record_file(FileRecord("/inbox/a.txt", 0, 1, 1, "empty file"), NOW)
    assert [(f.path, f.error) for f in store.failures()] == [("/inbox/a.txt", "empty file")]
    store.record_file(FileRecord("/inbox/a.txt", 10, 2, 3, None), NOW)
    assert store.failures() == []
    assert store.file("/inbox/a.txt") == FileRecord("/inbox/a.txt", 10, 2, 3, None)


def _add_articles(path: str, start: int) -> None:
    store = SqliteStore(Path(path))
    for n in range(start, start + 200):
        store.add_article(article(n), [Match("rule", ())], NOW)
    store.close()


def test_two_processes_on_one_state_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStore(path).close()
    context = multiprocessing.get_context("spawn")
    # Overlapping ranges: both processes store articles 100-199; each is kept once.
    workers = [context.Process(target=_add_articles, args=(str(path), s)) for s in (0, 100)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    store = SqliteStore(path)
    assert store.counts() == {"ingested": 300, "failed": 0, "matches": 300}


def test_a_channel_gets_the_matches_stored_since_it_appeared(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 2)  # stored at NOW
    later = NOW + timedelta(days=30)
    assert store.channel_since("new", later) == later
    assert store.channel_since("new", later + timedelta(days=1)) == later  # the first time stays
    store.select_rules("new", ["rule"])
    assert store.pending("new") == []
    store.add_article(article(9), [Match("rule", ())], later)
    assert [m.article.id for m in store.pending("new")] == ["article-9"]
    assert len(store.pending("local")) == 3


def test_an_article_is_stored_with_its_matches_or_not_at_all(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    refused = Match(None, ())  # type: ignore[arg-type]  # the database refuses a match without a rule
    with pytest.raises(sqlite3.IntegrityError):
        store.add_article(article(1), [Match("rule", ()), refused], NOW)
    assert not store.has_article("article-1")  # so the next try matches it again
    assert store.add_article(article(1), [Match("rule", ())], NOW)
    assert store.counts() == {"ingested": 1, "failed": 0, "matches": 1}


def test_articles_are_listed_all_or_from_some_files_and_folders(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    paths = ["/inbox/a.txt", "/inbox/news/b.txt", "/inbox/newsletter.txt", "/archive/c.txt"]
    for n, path in enumerate(paths):
        store.add_article(replace(article(n), path=path), [], NOW)
    assert sorted(a.path for a in store.articles()) == sorted(paths)
    assert sorted(a.path for a in store.articles(["/inbox/news"])) == ["/inbox/news/b.txt"]
    assert sorted(a.path for a in store.articles(["/archive/c.txt", "/inbox/a.txt"])) == [
        "/archive/c.txt",
        "/inbox/a.txt",
    ]
    assert list(store.articles(["/elsewhere"])) == []


def test_articles_are_read_a_page_at_a_time(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    for n in range(1203):  # more than two pages
        store.add_article(article(n), [], NOW)
    listed = list(store.articles())
    assert len(listed) == 1203
    assert len({a.id for a in listed}) == 1203
    assert listed[0] == article(0)


def test_a_rule_newly_selected_brings_its_matches_from_then_on(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 2)  # rule "rule", stored at NOW
    store.add_article(article(5), [Match("wider", ())], NOW)
    assert [m.rule_id for m in store.pending("local")] == ["rule", "rule"]
    later = NOW + timedelta(days=1)
    store.select_rules("local", ["rule", "wider"])  # the channel takes one more rule
    assert [m.rule_id for m in store.pending("local")] == ["rule", "rule"]  # not its history
    store.add_article(article(6), [Match("wider", ())], later)
    assert [m.article.id for m in store.pending("local")][-1] == "article-6"
    store.select_rules("local", ["wider"])  # and drops one
    assert [m.rule_id for m in store.pending("local")] == ["wider"]
    store.select_rules("local", ["rule", "wider"])  # back again
    assert [m.rule_id for m in store.pending("local")] == ["wider"]


def test_a_clock_set_back_hides_no_match(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    ahead = NOW + timedelta(hours=1)  # the clock was an hour fast when the channel came
    store.channel_since("local", ahead)
    store.select_rules("local", ["rule"])
    store.add_article(article(1), [Match("rule", ())], NOW + timedelta(minutes=5))
    assert [m.article.id for m in store.pending("local")] == ["article-1"]
    assert store.channel_totals("local").pending == 1


def test_pending_gives_the_oldest_first_a_limited_number_at_a_time(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 5)
    oldest = store.pending("local", limit=2)
    assert [m.article.id for m in oldest] == ["article-0", "article-1"]
    store.create_digest(DigestRecord("d1", "local", NOW, "pending", 0, {}), [m.id for m in oldest])
    store.mark_sent("d1", NOW)
    assert [m.article.id for m in store.pending("local", limit=2)] == ["article-2", "article-3"]
    assert [m.article.id for m in store.pending("local")] == ["article-2", "article-3", "article-4"]
    assert len(store.pending("mail", limit=10)) == 5  # another channel's digest takes nothing


def test_status_counts_the_pending_matches_of_each_channel(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 4)
    ids = [m.id for m in store.pending("local")]
    store.create_digest(DigestRecord("d1", "local", NOW, "pending", 0, {}), ids[:1])
    store.mark_sent("d1", NOW)
    store.create_digest(DigestRecord("d2", "local", NOW, "pending", 0, {}), ids[1:2])
    store.record_failure("d2", "400 Bad Request", NOW, retry_at=None)  # dead: not pending
    store.add_article(article(7), [Match("other-rule", ())], NOW)
    totals = {name: store.channel_totals(name).pending for name in ("local", "mail", "other")}
    assert totals == {"local": 2, "mail": 4, "other": 1}
    assert totals["local"] == len(store.pending("local"))


def test_pending_stays_right_across_many_digests_and_rule_changes(tmp_path: Path) -> None:
    # pending() reads on from where the channel's delivered matches end; whatever the
    # order of sending, selecting and storing, it must find exactly what no digest holds.
    store = store_with_matches(tmp_path / "state.db", 6)
    sent: list[int] = []
    for round_ in range(3):
        batch = store.pending("local", limit=2)
        digest = DigestRecord(f"d{round_}", "local", NOW, "pending", 0, {})
        store.create_digest(digest, [m.id for m in batch])
        sent += [m.id for m in batch]
        if round_ != 1:  # the second digest waits for a retry: its matches stay claimed
            store.mark_sent(digest.id, NOW)
    assert store.pending("local") == []
    store.select_rules("local", ["rule", "wider"])
    store.add_article(article(20), [Match("wider", ()), Match("rule", ())], NOW)
    store.add_article(article(21), [Match("gone", ())], NOW)
    pending = store.pending("local")
    assert [(m.article.id, m.rule_id) for m in pending] == [
        ("article-20", "wider"),
        ("article-20", "rule"),
    ]
    assert not set(sent) & {m.id for m in pending}
    store.select_rules("local", ["wider"])
    assert [m.rule_id for m in store.pending("local")] == ["wider"]
    store.add_article(article(22), [Match("rule", ())], NOW)
    store.select_rules("local", ["rule", "wider"])  # back again: from now on
    assert [m.article.id for m in store.pending("local")] == ["article-20"]
    assert store.channel_totals("local").pending == 1
