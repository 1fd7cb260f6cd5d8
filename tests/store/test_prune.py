"""Retention on every backend: what `prune` removes, what it keeps because the outbox
still owes it, and the identity every article keeps so that none comes back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from tests.store.test_contract import NOW, article, digest
from worker.model import Match, Pruned, Rendered, StoryShown
from worker.store import Store, open_store
from worker.store.copy import copy_state
from worker.store.sql import TABLES

OLD = NOW - timedelta(days=100)
WINDOW = NOW - timedelta(days=90)
RENDERED = Rendered(subject="s", text="t" * 1000, html="h" * 1000, json="{}")

Opened = Callable[[], Store]


def history(store: Store) -> Store:
    """Old articles: a0 in a digest sent long ago, a1 in a dead digest, a2 in one waiting
    for a retry, a3 pending, a4 matched no rule; a5 is new and pending."""
    store.channel_since("local", OLD)
    store.select_rules("local", ["rule"])
    for n in range(5):
        store.add_article(article(n), [Match("rule", ())] if n != 4 else [], OLD)
    store.add_article(article(5), [Match("rule", ())], NOW)
    ids = [match.id for match in store.pending("local")]
    for name, held in (("sent", ids[:1]), ("dead", ids[1:2]), ("waiting", ids[2:3])):
        store.create_digest(replace(digest(name), rendered=RENDERED), held)
    store.mark_sent("sent", OLD)
    store.record_failure("dead", "400 Bad Request", OLD, None)
    store.record_failure("waiting", "503", OLD, NOW + timedelta(minutes=5))
    store.create_digest(digest("latest"), [])  # the channel's last sent, within the windows
    store.mark_sent("latest", NOW)
    return store


def test_prune_removes_what_is_past_its_window_and_keeps_what_is_owed(store: Store) -> None:
    history(store)
    assert store.prune(WINDOW, WINDOW) == Pruned(articles=2, matches=1, digests=1, owed=3)
    assert store.counts() == {"ingested": 4, "failed": 0, "matches": 4}
    assert [a.id for a in store.articles()] == [f"article-{n}" for n in (1, 2, 3, 5)]
    assert [m.article.id for m in store.pending("local")] == ["article-3", "article-5"]
    assert [d.id for d in store.unsent_digests("local")] == ["waiting"]
    assert store.unsent_digests("local")[0].rendered == RENDERED  # resent as it was
    totals = store.channel_totals("local")
    assert (totals.sent, totals.dead, totals.retrying) == (1, 1, 1)  # the last sent stays
    assert store.revive_dead("local", NOW) == 1  # a dead digest can still be sent again


def test_prune_forgets_the_stories_of_articles_it_removes(store: Store) -> None:
    history(store)
    shown = [StoryShown(f"article-{n}", "1 2 3", article(n), OLD) for n in (0, 1)]
    store.add_stories_shown("local", shown)
    store.prune(WINDOW, WINDOW)
    assert [row.article_id for row in store.stories_shown("local", OLD)] == ["article-1"]


def test_a_pruned_article_is_never_stored_again(opened: Opened) -> None:
    history(opened()).prune(WINDOW, WINDOW)
    again = opened()  # another process, after a restart
    assert again.has_article("article-0")
    assert again.add_article(article(0), [Match("rule", ())], NOW) is False
    assert again.add_article(article(4), [], NOW) is False
    assert [m.article.id for m in again.pending("local")] == ["article-3", "article-5"]


def test_a_dry_run_counts_and_removes_nothing(store: Store) -> None:
    history(store)
    assert store.prune(WINDOW, WINDOW, dry_run=True) == Pruned(2, 1, 1, 3)
    assert store.counts() == {"ingested": 6, "failed": 0, "matches": 5}
    assert store.channel_totals("local").sent == 2


def test_each_window_is_its_own(store: Store) -> None:
    history(store)
    assert store.prune(None, None) == Pruned()
    assert store.prune(None, WINDOW) == Pruned(digests=1)
    assert store.counts()["ingested"] == 6
    # The digest that held article 0 is gone: nothing owes it any more.
    assert store.prune(WINDOW, None) == Pruned(articles=2, matches=1, owed=3)


def test_an_article_past_its_window_goes_while_its_sent_digest_stays(store: Store) -> None:
    history(store)
    assert store.prune(WINDOW, NOW - timedelta(days=180)) == Pruned(2, 1, 0, 3)
    assert store.channel_totals("local").sent == 2


def test_a_channels_last_sent_digest_stays_however_old(store: Store) -> None:
    history(store)
    store.prune(WINDOW, NOW + timedelta(days=1))  # every sent digest is past its window
    totals = store.channel_totals("local")
    assert (totals.sent, totals.last_sent) == (1, NOW)  # when it last sent is still known


def test_a_sent_digest_keeps_no_rendered_forms(store: Store) -> None:
    history(store)
    (page,) = store.table_pages("digests")
    rendered = {row[0]: row[10] for row in page}
    assert rendered["sent"] is None
    assert rendered["dead"] is not None
    assert rendered["waiting"] is not None


def test_a_copied_state_knows_the_pruned_articles(store: Store, tmp_path: Path) -> None:
    history(store).prune(WINDOW, WINDOW)
    copy = open_store(str(tmp_path / "copy.db"))
    try:
        copy_state(store, copy)
        assert copy.add_article(article(0), [Match("rule", ())], NOW) is False
        assert copy.counts()["ingested"] == 4
    finally:
        copy.close()


def test_copy_state_copies_every_table_of_the_layout(tmp_path: Path) -> None:
    open_store(str(tmp_path / "state.db")).close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    not_copied = {"schema_version", "workers"}  # its own version; the workers of its host
    assert {name for (name,) in rows} - not_copied == set(TABLES)
