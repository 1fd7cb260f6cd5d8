"""What the mutes let through to a channel's digest: a pure function of the matches
pending for the channel, the mutes, and the time.

A mute covers a match when its target is the match's rule, a participant the article
names, or the channel, and the match was stored before the mute ended (a match stored
after it ended goes out as usual). A covered match is left out of the digest: dropped for
good when a mute covering it says `drop`, else held while a `deliver` mute covering it
lasts, and let through once none does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from worker.model import Mute, StoredMatch

__all__ = ["KINDS", "LeftOut", "Sifted", "parse_target", "sift"]

KINDS = ("rule", "participant", "channel")

# The participant ids an article of a match names (the rule's hits and everyone else).
Named = Callable[[StoredMatch], Collection[str]]


@dataclass(frozen=True)
class LeftOut:
    """A match kept out of the digest, by which mute, and what becomes of it."""

    match: StoredMatch
    mute: Mute

    @property
    def dropped(self) -> bool:
        """Dropped for good, rather than held until the mute ends."""
        return self.mute.afterwards == "drop"


@dataclass(frozen=True)
class Sifted:
    """Pending matches sorted by the mutes: those that go, and those left out."""

    passed: tuple[StoredMatch, ...]
    left_out: tuple[LeftOut, ...] = ()


def parse_target(text: str) -> tuple[str, str]:
    """(kind, name) of `rule:ID`, `participant:ID` or `channel:NAME`; ValueError if not one."""
    kind, colon, name = text.partition(":")
    if not colon or kind not in KINDS or not name.strip():
        raise ValueError(
            f"'{text}' is not a mute target; give rule:ID, participant:ID or channel:NAME"
        )
    return kind, name.strip()


def sift(
    channel: str,
    pending: Sequence[StoredMatch],
    mutes: Sequence[Mute],
    now: datetime,
    named: Named,
) -> Sifted:
    """The pending matches of `channel` the mutes let through at `now`, and those they keep
    out (a `drop` mute first, then a `deliver` mute still on)."""
    if not mutes:
        return Sifted(tuple(pending))
    passed: list[StoredMatch] = []
    left_out: list[LeftOut] = []
    for match in pending:
        mute = _keeping_out(channel, match, mutes, now, named)
        if mute is None:
            passed.append(match)
        else:
            left_out.append(LeftOut(match, mute))
    return Sifted(tuple(passed), tuple(left_out))


def _keeping_out(
    channel: str, match: StoredMatch, mutes: Sequence[Mute], now: datetime, named: Named
) -> Mute | None:
    covering = [mute for mute in mutes if _covers(mute, channel, match, named)]
    dropping = [mute for mute in covering if mute.afterwards == "drop"]
    holding = [mute for mute in covering if mute.afterwards == "deliver" and mute.active(now)]
    return next(iter(dropping + holding), None)


def _covers(mute: Mute, channel: str, match: StoredMatch, named: Named) -> bool:
    if match.matched_at >= mute.end:
        return False
    if mute.kind == "rule":
        return match.rule_id == mute.name
    if mute.kind == "channel":
        return channel == mute.name
    return mute.name in named(match)
