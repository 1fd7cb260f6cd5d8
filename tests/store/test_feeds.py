"""What the store keeps of feeds, on every backend: one worker polls a feed at a time,
how each poll went, each entry seen for good, and edited entries stored anew."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.store.test_contract import LEASE, NOW, Opened, article, digest, with_matches
from worker.model import FeedRecord, Hit, Match
from worker.store import Store

URL = "https://courier.example/rss.xml"


def test_one_worker_polls_a_feed_at_a_time(opened: Opened) -> None:
    first, second = opened(), opened()
    assert first.claim_feed(URL, "w1", NOW, NOW + LEASE)
    assert not second.claim_feed(URL, "w2", NOW, NOW + LEASE)
    assert first.claim_feed(URL, "w1", NOW, NOW + LEASE)  # its holder may take it again
    # A worker that died while polling: its claim runs out, and another takes the feed over.
    assert second.claim_feed(URL, "w2", NOW + LEASE, NOW + 2 * LEASE)


def test_a_feed_polled_is_due_again_when_its_record_says(store: Store) -> None:
    assert store.claim_feed(URL, "w1", NOW, NOW + LEASE)
    polled = FeedRecord(
        URL,
        etag='"v1"',
        last_modified="Mon, 06 May 2024 08:00:00 GMT",
        next_poll=NOW + timedelta(minutes=10),
        last_success=NOW,
        last_error="malformed XML",
        error_since=NOW,
        failures=0,
    )
    store.finish_feed(polled, "w1")
    assert store.feed(URL) == polled
    assert store.feeds() == [polled]
    assert not store.claim_feed(URL, "w2", NOW + timedelta(minutes=9), NOW + LEASE)
    assert store.claim_feed(URL, "w2", NOW + timedelta(minutes=10), NOW + LEASE)


def test_a_feed_gone_is_never_claimed_again(store: Store) -> None:
    assert store.claim_feed(URL, "w1", NOW, NOW + LEASE)
    store.finish_feed(FeedRecord(URL, next_poll=NOW, failures=1, gone=True), "w1")
    assert not store.claim_feed(URL, "w1", NOW + timedelta(days=30), NOW + LEASE)


def test_validators_are_kept_once_the_entries_are_in(store: Store) -> None:
    assert store.claim_feed(URL, "w1", NOW, NOW + LEASE)
    store.finish_feed(FeedRecord(URL, next_poll=NOW), "w1")
    store.keep_validators(URL, '"v2"', None)
    record = store.feed(URL)
    assert record is not None
    assert (record.etag, record.last_modified) == ('"v2"', None)


def test_entries_seen_are_kept_through_pruning(store: Store) -> None:
    store.add_article(article(1), [], NOW)
    store.record_entry(URL, "id:a-1", "article-1", "f1", NOW)
    store.record_entry(URL, "id:a-1", "article-1", "f2", NOW)  # edited since
    store.prune(NOW + timedelta(days=1), NOW + timedelta(days=1))
    assert list(store.articles()) == []
    assert store.feed_entries(URL) == {"id:a-1": "f2"}
    assert store.has_article("article-1")


def test_an_edited_article_keeps_its_place_and_adds_new_rules(store: Store) -> None:
    with_matches(store, 1)
    (match,) = store.pending("local")
    assert store.create_digest(digest("d1"), [match.id])
    store.mark_sent("d1", NOW)
    store.select_rules("local", ["rule", "wider"])
    edited = replace(article(0), title="Title 0, edited", body="Body 0 and talks")
    hits = (Hit("talks", "body", 11, 16),)
    assert store.revise_article(edited, [Match("rule", hits), Match("wider", hits)], NOW)
    assert [a.title for a in store.articles()] == ["Title 0, edited"]
    (pending,) = store.pending("local")  # sent before: not again; the new rule's match is
    assert (pending.rule_id, pending.hits) == ("wider", hits)
    assert not store.revise_article(edited, [], NOW)  # as stored: nothing to do


def test_an_edit_of_a_pruned_article_is_not_stored(store: Store) -> None:
    store.add_article(article(1), [], NOW)
    store.prune(NOW + timedelta(days=1), None)
    assert not store.revise_article(replace(article(1), title="New"), [], NOW)
    assert list(store.articles()) == []
