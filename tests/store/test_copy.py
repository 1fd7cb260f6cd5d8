"""`wirewatch copy-state`: a SQLite state into an empty PostgreSQL database and back, its
history, its outbox and its dead letters with it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.postgres import Cluster
from tests.store.test_contract import NOW, article, digest, with_matches
from worker.cli import main
from worker.model import FeedRecord, FileRecord, Match, Mute, StoryShown
from worker.store import Store, open_store


def filled(state: str) -> None:
    """A state with history: a digest sent, one dead, one waiting for a retry, pending
    matches, a failed file and a schedule run."""
    store = with_matches(open_store(state), 5)
    ids = [m.id for m in store.pending("local")]
    for name, held in (("sent", ids[:1]), ("dead", ids[1:2]), ("waiting", ids[2:3])):
        store.create_digest(digest(name), held)
    store.mark_sent("sent", NOW)
    store.record_failure("dead", "400 Bad Request", NOW, None)
    store.record_failure("waiting", "503", NOW, NOW + timedelta(minutes=5))
    store.record_file(FileRecord("/inbox/bad.txt", 0, 1, 1, "empty file"), NOW)
    store.record_run("local", NOW)
    story = StoryShown("article-1", "1 2 3", article(0), NOW)
    store.add_stories_shown("local", [story, replace(story, article_id="article-0")])
    hold = Mute(0, "rule:rule", NOW + timedelta(hours=2), "deliver", "noisy", "ana@desk")
    store.add_mute(hold, NOW)
    (held,) = store.active_mutes(NOW)
    store.leave_out("local", [(ids[3], held)], NOW)
    store.hold_for_throttle("mail", NOW)
    store.claim_feed("https://courier.example/rss.xml", "w1", NOW, NOW)
    polled = FeedRecord("https://courier.example/rss.xml", etag='"v1"', next_poll=NOW, failures=2)
    store.finish_feed(polled, "w1")
    store.record_entry("https://courier.example/rss.xml", "id:1", "article-1", "f1", NOW)
    store.close()


def seen(state: str) -> tuple[object, ...]:
    """What a user sees of a state: status, what is pending and waiting, the history."""
    store = open_store(state)
    try:
        return (
            store.counts(),
            [f.path for f in store.failures()],
            {name: store.channel_totals(name) for name in ("local", "mail", "other")},
            [(m.article, m.hits) for m in store.pending("local")],
            [(d.id, d.digest, d.next_attempt_at) for d in store.unsent_digests("local")],
            store.last_run("local"),
            sorted(a.id for a in store.articles()),
            store.stories_shown("local", NOW - timedelta(days=1)),
            store.active_mutes(NOW),
            store.muted_between(0, 1000),
            store.throttle_held_since("mail"),
            store.feeds(),
            store.feed_entries("https://courier.example/rss.xml"),
        )
    finally:
        store.close()


def test_a_state_moves_to_postgresql_and_back_unchanged(
    tmp_path: Path, postgres: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite = str(tmp_path / "state.db")
    filled(sqlite)
    database = postgres.new_database()
    assert main(["copy-state", sqlite, database]) == 0
    assert capsys.readouterr().out.startswith("copied ")
    assert seen(database) == seen(sqlite)
    back = str(tmp_path / "back.db")
    assert main(["copy-state", database, back]) == 0
    assert seen(back) == seen(sqlite)
    store: Store = open_store(database)
    try:  # a match stored after the copy takes an id of its own
        store.add_article(replace(article(9), id="article-9"), [Match("rule", ())], NOW)
        assert [m.article.id for m in store.pending("local")][-1] == "article-9"
        assert store.add_mute(Mute(0, "channel:local", NOW + timedelta(hours=1)), NOW) == 2
    finally:
        store.close()


def test_a_state_is_copied_only_into_an_empty_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = str(tmp_path / "one.db"), str(tmp_path / "two.db")
    filled(first)
    filled(second)
    assert main(["copy-state", first, second]) == 2
    assert capsys.readouterr().err.strip() == (
        "wirewatch copy-state: the state to copy into is not empty; give a new, empty one"
    )


def test_a_state_that_is_not_there_is_not_copied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mistyped, target = tmp_path / "typo" / "state.db", tmp_path / "new.db"
    assert main(["copy-state", str(mistyped), str(target)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"wirewatch copy-state: {mistyped}: no state there to copy; give the state file or"
        " database workers used"
    )
    assert not mistyped.parent.exists()  # nothing made where it was looked for
    assert not target.exists()  # and no empty state for workers to start on


def test_a_state_is_not_copied_into_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = str(tmp_path / "one.db")
    filled(state)
    assert main(["copy-state", state, str(tmp_path / "." / "one.db")]) == 2
    assert capsys.readouterr().err.strip() == "wirewatch copy-state: FROM and TO are the same state"
