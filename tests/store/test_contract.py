"""What every backend of the store must do, whatever it is built on: each test runs on each
backend (see conftest.py). A second `opened()` store is another process on the same state."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.helpers import HeldMatch
from worker.model import (
    Article,
    Delivery,
    Digest,
    DigestArticle,
    DigestCounts,
    DigestItem,
    FileClaim,
    FileRecord,
    Hit,
    Match,
    NewArticle,
    Period,
    Rendered,
    StoryShown,
)
from worker.store import Store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=15)

Opened = Callable[[], Store]


def article(n: int) -> Article:
    return Article(
        id=f"article-{n}",
        title=f"Title {n}",
        body=f"Body {n}",
        date=date(2024, 5, n % 28 + 1),
        path=f"/inbox/{n}.txt",
        author=f"Author {n}",
        language="en",
        site="The Daily Courier",
    )


def digest(digest_id: str, channel: str = "local", title: str = "Title") -> Delivery:
    """A delivery of a digest with one item: what the store keeps does not depend on it."""
    item = DigestItem(
        rule="rule", article=DigestArticle(id="a", title=title, date=date(2024, 5, 1))
    )
    return Delivery(
        Digest(
            digest_id=digest_id,
            channel=channel,
            generated_at=NOW,
            period=Period(start=NOW - timedelta(hours=1), end=NOW),
            counts=DigestCounts(articles=1, matches=1, rules={"rule": 1}),
            items=(item,),
        )
    )


def with_matches(store: Store, count: int) -> Store:
    """Channels local and mail take rule `rule`, other takes `other-rule`; `count` articles
    matching `rule` are stored."""
    for channel in ("local", "mail"):
        store.channel_since(channel, NOW)
        store.select_rules(channel, ["rule"])
    store.select_rules("other", ["other-rule"])
    for n in range(count):
        store.add_article(article(n), [Match("rule", (Hit("talks", "body", 0, 5),))], NOW)
    return store


def pending_ids(store: Store, channel: str = "local") -> list[str]:
    return [match.article.id for match in store.pending(channel)]


# --- articles and matches ---------------------------------------------------------------


def test_an_article_is_stored_once(store: Store) -> None:
    assert store.add_article(article(1), [Match("rule", ())], NOW) is True
    assert store.add_article(article(1), [Match("rule", ())], NOW) is False
    assert store.has_article("article-1")
    assert store.counts() == {"ingested": 1, "failed": 0, "matches": 1}


def test_the_articles_stored_are_told_among_many(store: Store) -> None:
    for n in (3, 512, 700):
        store.add_article(article(n), [], NOW)
    asked = [f"article-{n}" for n in range(1000)]  # more than one statement asks for
    assert store.known_articles(asked) == {"article-3", "article-512", "article-700"}
    assert store.known_articles([]) == set()


def test_matches_and_hits_survive_a_restart(opened: Opened) -> None:
    with_matches(opened(), 2).close()
    reopened = opened()
    pending = reopened.pending("local")
    assert [m.article.title for m in pending] == ["Title 0", "Title 1"]
    assert pending[0].hits == (Hit("talks", "body", 0, 5),)
    assert pending[0].article == article(0)
    assert pending[0].matched_at == NOW
    assert reopened.pending("other") == []


def test_an_article_is_stored_with_its_matches_or_not_at_all(store: Store) -> None:
    unstorable = Match("rule", (Hit(object(), "body", 0, 1),))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.add_article(article(1), [Match("first", ()), unstorable], NOW)
    assert not store.has_article("article-1")  # so the next try matches it again
    assert store.add_article(article(1), [Match("rule", ())], NOW)
    assert store.counts() == {"ingested": 1, "failed": 0, "matches": 1}


def test_matches_added_later_are_new_ones_only(store: Store) -> None:
    with_matches(store, 1)
    assert store.add_matches("article-0", [Match("rule", ()), Match("wider", ())], NOW) == 1
    assert store.counts()["matches"] == 2


def test_a_match_stored_again_is_not_pending_again(store: Store) -> None:
    with_matches(store, 1)
    (match,) = store.pending("local")
    assert store.create_digest(digest("d1"), [match.id])
    store.mark_sent("d1", NOW)
    assert store.add_matches("article-0", [Match("rule", ())], NOW) == 0  # a rematch
    assert store.pending("local") == []


def test_articles_are_listed_all_or_from_some_files_and_folders(store: Store) -> None:
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


def test_articles_are_listed_from_those_ingested_since(store: Store) -> None:
    for n in range(3):
        store.add_article(article(n), [], NOW - timedelta(hours=n * 24))
    since = NOW - timedelta(hours=30)
    assert [a.id for a in store.articles(since=since)] == ["article-0", "article-1"]
    assert [a.id for a in store.articles(["/inbox/1.txt"], since)] == ["article-1"]


def test_articles_are_read_a_page_at_a_time(store: Store) -> None:
    for n in range(1203):  # more than two pages
        store.add_article(article(n), [], NOW)
    listed = list(store.articles())
    assert len(listed) == 1203
    assert len({a.id for a in listed}) == 1203
    assert listed[0] == article(0)


def test_an_article_from_no_file_is_stored_without_a_path(store: Store) -> None:
    store.add_article(replace(article(1), path=None), [], NOW)
    (stored,) = store.articles()
    assert stored == replace(article(1), path=None)


def test_a_time_without_a_time_zone_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="without a time zone"):
        store.add_article(article(1), [], NOW.replace(tzinfo=None))
    assert not store.has_article("article-1")


# --- files seen ----------------------------------------------------------------------------


def test_failed_files_are_listed_with_their_reason(store: Store) -> None:
    store.record_file(FileRecord("/inbox/a.txt", 0, 1, 1, "empty file"), NOW)
    assert [(f.path, f.error) for f in store.failures()] == [("/inbox/a.txt", "empty file")]
    assert store.counts()["failed"] == 1
    store.record_file(FileRecord("/inbox/a.txt", 10, 2, 3, None), NOW)
    assert store.failures() == []
    assert store.file("/inbox/a.txt") == FileRecord("/inbox/a.txt", 10, 2, 3, None)
    assert store.files() == {"/inbox/a.txt": FileRecord("/inbox/a.txt", 10, 2, 3, None)}
    assert store.file("/inbox/b.txt") is None


# --- what each channel has pending ---------------------------------------------------------


def test_a_digest_takes_its_matches_for_its_channel_only(store: Store) -> None:
    with_matches(store, 3)
    ids = [m.id for m in store.pending("local")]
    assert store.create_digest(digest("d1"), ids)
    assert store.pending("local") == []
    assert len(store.pending("mail")) == 3
    assert not store.create_digest(digest("d2"), ids[:1])  # a match goes in one digest
    assert [d.id for d in store.unsent_digests("local")] == ["d1"]


def test_a_digest_is_written_once_per_id(store: Store) -> None:
    with_matches(store, 2)
    first, second = (m.id for m in store.pending("local"))
    assert store.create_digest(digest("d1"), [first])
    assert not store.create_digest(digest("d1"), [second])  # the id is taken
    assert [m.id for m in store.pending("local")] == [second]  # and the match left pending
    (stored,) = store.unsent_digests("local")
    assert stored.digest == digest("d1").digest


def test_a_digest_that_cannot_take_all_its_matches_takes_none(store: Store) -> None:
    with_matches(store, 3)
    ids = [m.id for m in store.pending("local")]
    assert store.create_digest(digest("d1"), ids[1:2])
    assert not store.create_digest(digest("d2"), ids)  # its second match is taken
    assert [m.id for m in store.pending("local")] == [ids[0], ids[2]]
    assert [d.id for d in store.unsent_digests("local")] == ["d1"]


def test_a_channel_gets_the_matches_stored_since_it_appeared(store: Store) -> None:
    with_matches(store, 2)  # stored at NOW
    later = NOW + timedelta(days=30)
    assert store.channel_since("new", later) == later
    assert store.channel_since("new", later + timedelta(days=1)) == later  # the first time stays
    store.select_rules("new", ["rule"])
    assert store.pending("new") == []
    store.add_article(article(9), [Match("rule", ())], later)
    assert pending_ids(store, "new") == ["article-9"]
    assert len(store.pending("local")) == 3


def test_a_rule_newly_selected_brings_its_matches_from_then_on(store: Store) -> None:
    with_matches(store, 2)
    store.add_article(article(5), [Match("wider", ())], NOW)
    assert [m.rule_id for m in store.pending("local")] == ["rule", "rule"]
    store.select_rules("local", ["rule", "wider"])  # the channel takes one more rule
    assert [m.rule_id for m in store.pending("local")] == ["rule", "rule"]  # not its history
    store.add_article(article(6), [Match("wider", ())], NOW + timedelta(days=1))
    assert pending_ids(store)[-1] == "article-6"
    store.select_rules("local", ["wider"])  # and drops one
    assert [m.rule_id for m in store.pending("local")] == ["wider"]
    store.select_rules("local", ["rule", "wider"])  # back again
    assert [m.rule_id for m in store.pending("local")] == ["wider"]


def test_a_clock_set_back_hides_no_match(store: Store) -> None:
    ahead = NOW + timedelta(hours=1)  # the clock was an hour fast when the channel came
    store.channel_since("local", ahead)
    store.select_rules("local", ["rule"])
    store.add_article(article(1), [Match("rule", ())], NOW + timedelta(minutes=5))
    assert pending_ids(store) == ["article-1"]
    assert store.channel_totals("local").pending == 1


def test_pending_gives_the_oldest_first_a_limited_number_at_a_time(store: Store) -> None:
    with_matches(store, 5)
    oldest = store.pending("local", limit=2)
    assert [m.article.id for m in oldest] == ["article-0", "article-1"]
    store.create_digest(digest("d1"), [m.id for m in oldest])
    store.mark_sent("d1", NOW)
    assert [m.article.id for m in store.pending("local", limit=2)] == ["article-2", "article-3"]
    assert pending_ids(store) == ["article-2", "article-3", "article-4"]
    assert len(store.pending("mail", limit=10)) == 5  # another channel's digest takes nothing


def test_pending_stays_right_across_many_digests_and_rule_changes(store: Store) -> None:
    with_matches(store, 6)
    sent: list[int] = []
    for round_ in range(3):
        batch = store.pending("local", limit=2)
        store.create_digest(digest(f"d{round_}"), [m.id for m in batch])
        sent += [m.id for m in batch]
        if round_ != 1:  # the second digest waits for a retry: its matches stay taken
            store.mark_sent(f"d{round_}", NOW)
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
    assert pending_ids(store) == ["article-20"]
    assert store.channel_totals("local").pending == 1


def test_a_rule_taken_while_a_match_of_it_is_stored_counts_from_the_commit(
    opened: Opened,
) -> None:
    """No watermark over ids. One process stores a match of `rule` (it has its id, and
    has not committed), another stores a later one, and channel `late` takes the rule
    meanwhile. The first match is pending for `late` exactly when the channel took the
    rule before that match was committed; a backend whose writers wait for one another
    commits the match first. A channel that took the rule before gets both."""
    first, second, third = opened(), opened(), opened()
    third.select_rules("local", ["rule"])
    held = HeldMatch("other", ())
    writes = [
        threading.Thread(
            target=first.add_article, args=[article(1), [Match("rule", ()), held], NOW]
        ),
        threading.Thread(target=second.add_article, args=[article(2), [Match("rule", ())], NOW]),
    ]
    writes[0].start()
    assert held.started.wait(10)
    writes[1].start()
    taking = threading.Thread(target=third.select_rules, args=["late", ["rule"]])
    taking.start()
    taking.join(0.5)  # done by now if the backend lets it commit past the open write
    took_first = not taking.is_alive()
    held.release.set()
    for thread in (*writes, taking):
        thread.join(10)
        assert not thread.is_alive()
    assert ("article-1" in pending_ids(third, "late")) == took_first
    # Both, in the order their matches took their ids: of two writers at once, either.
    assert sorted(pending_ids(third, "local")) == ["article-1", "article-2"]


# --- deliveries -------------------------------------------------------------------------------


def test_an_unsent_digest_is_kept_until_marked_sent(opened: Opened) -> None:
    store = with_matches(opened(), 1)
    ids = [m.id for m in store.pending("local")]
    written = digest("d1", title="Gas «deal» signed — 天然气")
    store.create_digest(written, ids)
    store.record_failure("d1", "disk full", NOW, retry_at=NOW + timedelta(seconds=5))
    store.close()
    store = opened()
    (unsent,) = store.unsent_digests("local")
    assert (unsent.id, unsent.attempts, unsent.last_error) == ("d1", 1, "disk full")
    assert unsent.digest == written.digest  # the very digest, to be sent unchanged
    assert (unsent.first_failure_at, unsent.next_attempt_at) == (NOW, NOW + timedelta(seconds=5))
    assert store.last_digest_at("local") == NOW
    store.mark_sent("d1", NOW)
    assert store.unsent_digests("local") == []
    totals = store.channel_totals("local")
    assert (totals.sent, totals.pending, totals.last_sent) == (1, 0, NOW)


def test_the_forms_sent_are_kept_with_the_digest(store: Store) -> None:
    with_matches(store, 1)
    rendered = Rendered(subject="s", text="t", html="<p>h</p>", json="{}")
    store.create_digest(
        replace(digest("d1"), rendered=rendered), [m.id for m in store.pending("local")]
    )
    (unsent,) = store.unsent_digests("local")
    assert unsent.rendered == rendered


def test_a_dead_digest_is_revived(store: Store) -> None:
    with_matches(store, 1)
    store.create_digest(digest("d1"), [m.id for m in store.pending("local")])
    store.record_failure("d1", "400 Bad Request", NOW, retry_at=None)
    assert store.unsent_digests("local") == []
    assert store.channels_with_digests() == ["local"]
    totals = store.channel_totals("local")
    assert (totals.dead, totals.last_error, totals.retrying) == (1, "400 Bad Request", 0)
    assert store.revive_dead("local", NOW) == 1
    (revived,) = store.unsent_digests("local")
    assert (revived.attempts, revived.first_failure_at, revived.next_attempt_at) == (0, None, NOW)


def test_a_digest_is_claimed_by_one_holder_at_a_time(opened: Opened) -> None:
    first = with_matches(opened(), 1)
    second = opened()  # another process
    first.create_digest(digest("d1"), [m.id for m in first.pending("local")])
    assert first.claim_digest("d1", "one", NOW, NOW + LEASE)
    assert not second.claim_digest("d1", "two", NOW + timedelta(seconds=5), NOW + 2 * LEASE)
    assert not first.claim_digest("d1", "one", NOW, NOW + LEASE)  # not twice, even by its holder
    assert first.renew_claim("d1", "one", NOW + 2 * LEASE)
    assert not second.renew_claim("d1", "two", NOW + 2 * LEASE)
    (claimed,) = second.unsent_digests("local")
    assert claimed.claimed_until == NOW + 2 * LEASE


def test_a_claim_runs_out_and_another_takes_the_digest(opened: Opened) -> None:
    first = with_matches(opened(), 1)
    second = opened()
    first.create_digest(digest("d1"), [m.id for m in first.pending("local")])
    assert first.claim_digest("d1", "one", NOW, NOW + LEASE)
    # the holder died: its claim runs out, and then another takes the digest
    assert second.claim_digest("d1", "two", NOW + LEASE, NOW + 2 * LEASE)
    assert not first.renew_claim("d1", "one", NOW + 2 * LEASE)
    second.mark_sent("d1", NOW + LEASE)
    assert not first.claim_digest("d1", "one", NOW + 4 * LEASE, NOW + 5 * LEASE)  # sent


def test_a_failure_ends_the_claim_and_a_digest_is_claimed_only_when_due(store: Store) -> None:
    with_matches(store, 1)
    store.create_digest(digest("d1"), [m.id for m in store.pending("local")])
    assert store.claim_digest("d1", "one", NOW, NOW + LEASE)
    retry_at = NOW + timedelta(seconds=5)
    store.record_failure("d1", "503", NOW, retry_at)
    (waiting,) = store.unsent_digests("local")
    assert waiting.claimed_until is None
    assert store.channel_totals("local").retrying == 1
    assert store.channel_totals("local").next_attempt_at == retry_at
    assert not store.claim_digest("d1", "two", NOW + timedelta(seconds=4), NOW + LEASE)
    assert store.claim_digest("d1", "two", retry_at, retry_at + LEASE)
    store.record_failure("d1", "400", retry_at, None)  # dead: no one claims it
    assert not store.claim_digest("d1", "three", NOW + 2 * LEASE, NOW + 3 * LEASE)


def test_status_counts_the_pending_matches_of_each_channel(store: Store) -> None:
    with_matches(store, 4)
    ids = [m.id for m in store.pending("local")]
    store.create_digest(digest("d1"), ids[:1])
    store.mark_sent("d1", NOW)
    store.create_digest(digest("d2"), ids[1:2])
    store.record_failure("d2", "400 Bad Request", NOW, retry_at=None)  # dead: not pending
    store.add_article(article(7), [Match("other-rule", ())], NOW)
    totals = {name: store.channel_totals(name).pending for name in ("local", "mail", "other")}
    assert totals == {"local": 2, "mail": 4, "other": 1}
    assert totals["local"] == len(store.pending("local"))


# --- schedule runs --------------------------------------------------------------------------


def test_a_schedule_run_is_remembered(opened: Opened) -> None:
    store = opened()
    assert store.last_run("local") is None
    store.record_run("local", NOW)
    store.record_run("local", NOW + timedelta(hours=1))
    store.close()
    assert opened().last_run("local") == NOW + timedelta(hours=1)


# --- workers sharing the state --------------------------------------------------------------


def claim(holder: str, size: int = 10, retry_failed: bool = False) -> FileClaim:
    return FileClaim("inbox/a.txt", size, 1, holder, retry_failed)


def record(error: str | None) -> FileRecord:
    return FileRecord("/srv/inbox/a.txt", 10, 1, 1, error)


def test_a_file_is_read_by_one_worker_until_it_changes(opened: Opened) -> None:
    one, two = opened(), opened()
    assert one.claim_file(claim("one"), NOW, NOW + LEASE)
    assert not two.claim_file(claim("two"), NOW, NOW + LEASE)  # one is reading it
    assert one.claim_file(claim("one"), NOW, NOW + LEASE)  # its own, again
    one.finish_file(claim("one"), record(None), NOW)
    later = NOW + 2 * LEASE
    assert not two.claim_file(claim("two"), later, later + LEASE)  # read: not again
    assert not one.claim_file(claim("one"), later, later + LEASE)
    assert two.claim_file(claim("two", size=20), later, later + LEASE)  # it changed


def test_a_file_whose_reader_died_is_taken_over(opened: Opened) -> None:
    one, two = opened(), opened()
    assert one.claim_file(claim("one"), NOW, NOW + LEASE)
    assert not two.claim_file(claim("two"), NOW + LEASE / 2, NOW + LEASE)
    assert two.claim_file(claim("two"), NOW + LEASE, NOW + 2 * LEASE)  # its claim ran out
    one.finish_file(claim("one"), record(None), NOW + LEASE)  # too late: not its own now
    assert two.claim_file(claim("two"), NOW + LEASE, NOW + 2 * LEASE)


def test_a_file_that_failed_is_taken_again_only_when_asked(store: Store) -> None:
    assert store.claim_file(claim("one"), NOW, NOW + LEASE)
    store.finish_file(claim("one"), record("empty file"), NOW)
    assert [f.error for f in store.failures()] == ["empty file"]
    assert not store.claim_file(claim("two"), NOW, NOW + LEASE)
    assert store.claim_file(claim("two", retry_failed=True), NOW, NOW + LEASE)


def test_a_slot_is_built_by_one_worker_once(opened: Opened) -> None:
    one, two = opened(), opened()
    slot = NOW.replace(hour=8)
    assert one.claim_slot("local", slot, "one", NOW, NOW + LEASE)
    assert not two.claim_slot("local", slot, "two", NOW, NOW + LEASE)
    assert two.claim_slot("other", slot, "two", NOW, NOW + LEASE)  # another channel's
    assert two.claim_slot("local", slot, "two", NOW + LEASE, NOW + 2 * LEASE)  # one died
    two.finish_slot("local", slot, NOW + LEASE)
    assert not one.claim_slot("local", slot, "one", NOW + 9 * LEASE, NOW + 10 * LEASE)
    assert one.claim_slot("local", slot.replace(day=23), "one", NOW, NOW + LEASE)


def test_workers_are_listed_with_what_they_hold_until_they_stop(opened: Opened) -> None:
    one, two = opened(), opened()
    one.beat("w1", "host-a", 101, NOW)
    two.beat("w2", "host-b", 202, NOW + timedelta(seconds=1))
    with_matches(one, 1)
    one.create_digest(digest("d1"), [m.id for m in one.pending("local")])
    assert one.claim_digest("d1", "w1", NOW, NOW + LEASE)
    assert two.claim_file(claim("w2"), NOW, NOW + LEASE)
    assert two.claim_slot("local", NOW, "w2", NOW, NOW + LEASE)
    one.beat("w1", "host-a", 101, NOW + timedelta(seconds=5))
    listed = {w.id: w for w in one.workers(NOW + timedelta(seconds=6))}
    assert sorted(listed) == ["w1", "w2"]
    first, second = listed["w1"], listed["w2"]
    assert (first.host, first.pid, first.started_at) == ("host-a", 101, NOW)
    assert first.last_seen == NOW + timedelta(seconds=5)
    assert (first.digests, first.files, first.slots) == (1, 0, 0)
    assert (second.digests, second.files, second.slots) == (0, 1, 1)
    assert [w.digests for w in one.workers(NOW + LEASE) if w.id == "w1"] == [0]  # ran out
    two.stop_worker("w2", NOW + timedelta(seconds=7))
    assert [w.id for w in one.workers(NOW)] == ["w1"]


def shown(n: int, story: int, at: datetime) -> StoryShown:
    """Article n shown on a digest at `at` as part of the story article `story` began."""
    return StoryShown(f"article-{n}", f"signature {n}", article(story), at)


def test_stories_shown_are_read_back_after_a_restart(opened: Opened) -> None:
    store = with_matches(opened(), 3)
    store.add_stories_shown("local", [shown(0, 0, NOW), shown(1, 0, NOW)])
    store.add_stories_shown("mail", [shown(2, 2, NOW)])
    store.close()
    again = opened()
    rows = again.stories_shown("local", NOW - timedelta(hours=24))
    assert [(r.article_id, r.signature, r.story.title, r.first_sent) for r in rows] == [
        ("article-0", "signature 0", "Title 0", NOW),
        ("article-1", "signature 1", "Title 0", NOW),
    ]
    assert again.stories_shown("local", NOW + timedelta(seconds=1)) == []  # shown before


def test_what_a_digest_showed_is_kept_with_it_or_not_at_all(store: Store) -> None:
    with_matches(store, 2)
    first, second = (m.id for m in store.pending("local"))
    assert store.create_digest(digest("d1"), [first], shown=[shown(0, 0, NOW)])
    assert not store.create_digest(digest("d2"), [first, second], shown=[shown(1, 1, NOW)])
    rows = store.stories_shown("local", NOW - timedelta(hours=1))
    assert [row.article_id for row in rows] == ["article-0"]  # d2 was not made: nor its stories


def test_an_article_keeps_the_story_it_was_first_shown_in(store: Store) -> None:
    with_matches(store, 3)
    store.add_stories_shown("local", [shown(1, 0, NOW)])
    store.add_stories_shown("local", [shown(1, 2, NOW + timedelta(hours=1))])
    (row,) = store.stories_shown("local", NOW - timedelta(hours=1))
    assert (row.story.id, row.first_sent) == ("article-0", NOW)


# --- backlogs: one digest lists some and holds all; matches withheld ----------------------


def test_a_digest_holds_the_backlog_it_counts_and_lists_its_matches(store: Store) -> None:
    with_matches(store, 5)
    through = store.pending_through("local")
    newest = store.pending_newest("local", "rule", 2)
    assert [m.article.id for m in newest] == ["article-4", "article-3"]  # newest date first
    listed = {m.id for m in newest}
    rest = [r for r in store.pending_records("local", through or 0) if r.id not in listed]
    assert [r.title for r in rest] == ["Title 0", "Title 1", "Title 2"]
    assert not store.create_digest(digest("d0"), sorted(listed), through, more=2)  # 3 wait
    assert store.create_digest(digest("d1"), sorted(listed), through, more=3)
    assert store.pending("local") == []
    assert store.pending_through("local") is None
    assert len(store.pending("mail")) == 5  # another channel's backlog is its own
    held = list(store.stored_matches(digest_id="d1"))
    assert sorted(r.title for r in held) == [f"Title {n}" for n in range(5)]
    assert list(store.stored_matches(digest_id="d2")) == []


def test_stored_matches_are_listed_by_rule_and_since(store: Store) -> None:
    with_matches(store, 2)
    later = NOW + timedelta(hours=1)
    store.add_article(article(7), [Match("other-rule", (Hit("Xi", "body", 0, 2, "xi"),))], later)
    assert [r.title for r in store.stored_matches()] == ["Title 0", "Title 1", "Title 7"]
    (other,) = store.stored_matches(rule_id="other-rule")
    assert (other.title, other.participants, other.matched_at) == ("Title 7", ("xi",), later)
    assert [r.title for r in store.stored_matches(since=later)] == ["Title 7"]


def test_matches_withheld_are_stored_but_pending_for_no_channel(store: Store) -> None:
    with_matches(store, 1)
    match = Match("rule", (Hit("talks", "body", 0, 5),))
    assert store.add_article(article(9), [match], NOW, withheld="backfill")
    assert pending_ids(store, "local") == ["article-0"]
    assert pending_ids(store, "mail") == ["article-0"]
    assert [r.title for r in store.stored_matches()] == ["Title 0", "Title 9"]


def test_articles_stored_together_are_each_stored_once_in_order(store: Store) -> None:
    with_matches(store, 1)
    rule, wider = Match("rule", (Hit("talks", "body", 0, 5),)), Match("wider", ())
    stored = store.add_articles(
        [
            NewArticle(article(0), [rule]),  # stored before
            NewArticle(article(5), [wider, rule]),
            NewArticle(article(6), [rule], withheld="backfill"),
            NewArticle(article(5), [rule]),  # the same content twice
            NewArticle(article(7), []),
            NewArticle(article(8), [rule]),
        ],
        NOW,
    )
    assert stored == [False, True, True, False, True, True]
    assert pending_ids(store) == ["article-0", "article-5", "article-8"]
    assert [(r.rule_id, r.title) for r in store.stored_matches()] == [
        ("rule", "Title 0"),
        ("wider", "Title 5"),
        ("rule", "Title 5"),
        ("rule", "Title 6"),
        ("rule", "Title 8"),
    ]
    assert store.counts() == {"ingested": 5, "failed": 0, "matches": 5}


def test_files_finished_together_are_each_recorded(opened: Opened) -> None:
    store = opened()
    claims = [FileClaim(f"inbox/{n}.txt", 10, 1, "w1") for n in range(3)]
    for claim in claims:
        assert store.claim_file(claim, NOW, NOW + LEASE)
    records = [
        FileRecord(f"/srv/inbox/{n}.txt", 10, 1, 1, "bad" if n == 1 else None) for n in range(3)
    ]
    store.finish_files(list(zip(claims, records, strict=True)), NOW)
    assert [store.file(r.path) for r in records] == records
    assert store.failures() == [records[1]]
    other = opened()  # done: no worker takes them again as they are
    assert not any(other.claim_file(replace(c, holder="w2"), NOW, NOW + LEASE) for c in claims)


def test_a_folders_first_scan_is_remembered(opened: Opened) -> None:
    store = opened()
    assert not store.first_scan_done("/srv/archive")
    store.record_first_scan("/srv/archive", NOW)
    store.record_first_scan("/srv/archive", NOW)  # once is enough
    assert opened().first_scan_done("/srv/archive")
    assert not store.first_scan_done("/srv/inbox")
