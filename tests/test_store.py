"""The SQLite store on a real file: what a restart or a second process must find."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from worker.articles import Article
from worker.match import Hit, Match
from worker.store import DigestRecord, FileRecord, SqliteStore

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
    for n in range(count):
        store.add_article(article(n), NOW)
        store.add_matches(article(n).id, [Match("rule", (Hit("talks", "body", 0, 5),))], NOW)
    return store


def test_an_article_is_stored_once(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    assert store.add_article(article(1), NOW) is True
    assert store.add_article(article(1), NOW) is False
    assert store.counts()["ingested"] == 1


def test_matches_and_hits_survive_a_restart(tmp_path: Path) -> None:
    store_with_matches(tmp_path / "state.db", 2).close()
    reopened = SqliteStore(tmp_path / "state.db")
    pending = reopened.pending("local", ["rule"])
    assert [m.article.title for m in pending] == ["Title 0", "Title 1"]
    assert pending[0].hits == (Hit("talks", "body", 0, 5),)
    assert reopened.pending("local", ["other-rule"]) == []


def test_a_digest_claims_its_matches_for_its_channel_only(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 3)
    ids = [m.id for m in store.pending("local", ["rule"])]
    record = DigestRecord("d1", "local", NOW, "pending", 0, {"items": []})
    assert store.create_digest(record, ids)
    assert store.pending("local", ["rule"]) == []
    assert len(store.pending("mail", ["rule"])) == 3
    again = DigestRecord("d2", "local", NOW, "pending", 0, {"items": []})
    assert not store.create_digest(again, ids[:1])  # a match goes in one digest per channel


def test_unsent_digest_is_kept_until_marked_sent(tmp_path: Path) -> None:
    store = store_with_matches(tmp_path / "state.db", 1)
    ids = [m.id for m in store.pending("local", ["rule"])]
    store.create_digest(DigestRecord("d1", "local", NOW, "pending", 0, {"n": 1}), ids)
    store.mark_failed("d1", "disk full")
    store.close()
    store = SqliteStore(tmp_path / "state.db")
    (unsent,) = store.unsent_digests("local")
    assert (unsent.id, unsent.attempts, unsent.last_error, unsent.document) == (
        "d1",
        1,
        "disk full",
        {"n": 1},
    )
    store.mark_sent("d1", NOW)
    assert store.unsent_digests("local") == []
    totals = store.channel_totals("local", ["rule"])
    assert (totals.sent, totals.pending, totals.last_sent) == (1, 0, NOW)


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
        store.add_article(article(n), NOW)
        store.add_matches(article(n).id, [Match("rule", ())], NOW)
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


def test_articles_are_listed_all_or_from_some_files_and_folders(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    paths = ["/inbox/a.txt", "/inbox/news/b.txt", "/inbox/newsletter.txt", "/archive/c.txt"]
    for n, path in enumerate(paths):
        store.add_article(replace(article(n), path=path), NOW)
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
        store.add_article(article(n), NOW)
    listed = list(store.articles())
    assert len(listed) == 1203
    assert len({a.id for a in listed}) == 1203
    assert listed[0] == article(0)
