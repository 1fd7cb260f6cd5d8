"""Mutes, what they keep out and the throttle's hold, on every backend."""

from __future__ import annotations

from datetime import timedelta

from tests.store.test_contract import NOW, digest, pending_ids, with_matches
from worker.model import Mute
from worker.store import Store

HOUR = timedelta(hours=1)


def mute(target: str, afterwards: str = "drop", hours: float = 1) -> Mute:
    then = "deliver" if afterwards == "deliver" else "drop"
    return Mute(0, target, NOW + timedelta(hours=hours), then, "noisy", "ana@desk")


def test_a_mute_is_on_until_its_time_or_until_unmuted(store: Store) -> None:
    first = store.add_mute(mute("rule:rule"), NOW)
    second = store.add_mute(mute("channel:local", hours=2), NOW)
    assert first != second
    (shown, _) = store.active_mutes(NOW)
    assert (shown.id, shown.target, shown.until, shown.reason) == (
        first,
        "rule:rule",
        NOW + HOUR,
        "noisy",
    )
    assert (shown.created_by, shown.created_at) == ("ana@desk", NOW)
    assert [m.target for m in store.active_mutes(NOW + HOUR)] == ["channel:local"]
    assert store.end_mutes(str(second), NOW + timedelta(minutes=5)) == 1
    assert [m.id for m in store.active_mutes(NOW + timedelta(minutes=6))] == [first]
    assert store.end_mutes("rule:rule", NOW + 2 * HOUR) == 0  # over already
    # Still seen by a digest covering matches stored before it ended.
    ended = store.mutes_ending_after(NOW)
    assert [m.end for m in ended] == [NOW + HOUR, NOW + timedelta(minutes=5)]


def test_matches_kept_out_are_listed_and_held_ones_come_back_once_the_mute_ends(
    store: Store,
) -> None:
    with_matches(store, 3)
    drop_id = store.add_mute(mute("rule:rule"), NOW)
    hold_id = store.add_mute(mute("rule:rule", "deliver"), NOW)
    drop, hold = sorted(store.active_mutes(NOW), key=lambda m: m.id)
    assert (drop.id, hold.id) == (drop_id, hold_id)
    first, second, third = store.pending("local")
    store.leave_out("local", [(first.id, drop), (second.id, hold)], NOW)
    assert pending_ids(store) == [third.article.id]
    assert pending_ids(store, "mail") == [m.article.id for m in (first, second, third)]
    muted = store.listed_matches(NOW - HOUR, muted=True)
    assert [m.id for m in muted] == [first.id, second.id]
    kept = store.muted_between(first.id, third.id)
    assert [(k.match_id, k.mute.id, k.released_at) for k in kept] == [
        (first.id, drop_id, None),
        (second.id, hold_id, None),
    ]
    assert store.release_held("local", NOW + timedelta(minutes=30)) == 0
    assert store.release_held("local", NOW + HOUR) == 1
    assert pending_ids(store) == [second.article.id, third.article.id]
    assert store.muted_between(second.id, second.id)[0].released_at == NOW + HOUR
    assert [m.rule_id for m in store.listed_matches(NOW - HOUR, rule="other")] == []


def test_a_throttle_hold_lasts_until_the_channel_makes_a_digest(store: Store) -> None:
    with_matches(store, 1)
    assert store.digests_made_since("local", NOW - HOUR) == 0
    store.hold_for_throttle("local", NOW)
    store.hold_for_throttle("local", NOW + HOUR)  # held since the first time
    assert store.throttle_held_since("local") == NOW
    assert store.throttle_held_since("mail") is None
    assert store.create_digest(digest("d1"), [m.id for m in store.pending("local")])
    assert store.throttle_held_since("local") is None
    assert store.digests_made_since("local", NOW - HOUR) == 1
    assert store.digests_made_since("local", NOW) == 0
