"""Mutes and throttles as a channel's reader notices them: what a mute keeps out (pure),
and the digests an outbox writes over a real SQLite file and folder, on a fake clock."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from worker.deliver.mutes import parse_target, sift
from worker.deliver.outbox import Outbox
from worker.model import Article, Hit, Match, Mute, StoredMatch
from worker.notify import Clients
from worker.rules.ruleset import Keywords, Participant, Rule, RuleSet
from worker.settings.config import Config, load_config
from worker.store import Store

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULES = RuleSet(
    {"putin": Participant(name="Vladimir Putin"), "xi": Participant(name="Xi Jinping")},
    (
        Rule(id="gas", keywords=Keywords(any=("gas",))),
        Rule(id="oil", keywords=Keywords(any=("oil",))),
    ),
)


def stored(rule: str, at: datetime, who: str | None = None) -> StoredMatch:
    article = Article("a", "Gas deal", "China buys gas.", date(2024, 5, 1), "/in/a")
    return StoredMatch(1, rule, article, (Hit("gas", "body", 11, 14, who),), at)


def muting(target: str, then: str = "drop", until: datetime = T0 + HOUR) -> Mute:
    return Mute(7, target, until, "deliver" if then == "deliver" else "drop")


def named(match: StoredMatch) -> set[str]:
    return {hit.participant for hit in match.hits if hit.participant}


@pytest.mark.parametrize(
    ("mute", "match", "kept_out"),
    [
        (muting("rule:gas"), stored("gas", T0), "drop"),
        (muting("rule:gas"), stored("oil", T0), None),
        (muting("channel:local"), stored("oil", T0), "drop"),
        (muting("channel:other"), stored("oil", T0), None),
        (muting("participant:putin"), stored("gas", T0, "putin"), "drop"),
        (muting("participant:putin"), stored("gas", T0, "xi"), None),
        # A match stored after the mute ended goes out.
        (muting("rule:gas"), stored("gas", T0 + 2 * HOUR), None),
        # One stored during a `drop` mute stays dropped after it ended.
        (muting("rule:gas", until=T0 + HOUR / 2), stored("gas", T0), "drop"),
        (muting("rule:gas", "deliver"), stored("gas", T0), "deliver"),
        # ... a `deliver` mute ended lets it through.
        (muting("rule:gas", "deliver", T0 + HOUR / 2), stored("gas", T0), None),
    ],
)
def test_what_a_mute_keeps_out(mute: Mute, match: StoredMatch, kept_out: str | None) -> None:
    sifted = sift("local", [match], [mute], T0 + HOUR - timedelta(minutes=1), named)
    assert [out.mute.afterwards for out in sifted.left_out] == ([kept_out] if kept_out else [])
    assert sifted.passed == (() if kept_out else (match,))


def test_a_drop_mute_wins_over_a_deliver_mute() -> None:
    mutes = [muting("rule:gas", "deliver"), muting("channel:local")]
    (out,) = sift("local", [stored("gas", T0)], mutes, T0, named).left_out
    assert out.dropped


@pytest.mark.parametrize("text", ["gas", "rules:gas", "rule:", "rule: "])
def test_a_target_that_is_not_one(text: str) -> None:
    with pytest.raises(ValueError, match="give rule:ID, participant:ID or channel:NAME"):
        parse_target(text)


# --- over a real store ------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def project(root: Path, local: str = "") -> Config:
    (root / "inbox").mkdir()
    (root / "rules").mkdir()
    text = f"""\
        watch: [{{path: inbox}}]
        channels:
          local: {{type: file, path: out, schedule: immediate{local}}}
          other: {{type: file, path: other-out, schedule: immediate}}
        """
    (root / "config.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(root / "config.yaml", {})


class Desk:
    """An outbox on a fake clock, the articles that arrive, and the digests written."""

    def __init__(self, root: Path, store: Store, clients: Clients, local: str = "") -> None:
        self.root, self.store, self.clock = root, store, Clock()
        config = project(root, local)
        self.outbox = Outbox(config, store, clients, lambda: RULES, clock=self.clock)
        self.n = 0

    def arrives(self, rule: str = "gas", who: str | None = None) -> str:
        self.n += 1
        title = f"{rule} news {self.n}"
        article = Article(f"a{self.n}", title, f"China buys {rule}.", date(2024, 5, 1), "/in")
        hit = Hit(rule, "body", 11, 11 + len(rule), who)
        self.store.add_article(article, [Match(rule, (hit,))], self.clock.now)
        return title

    def mute(self, target: str, then: str = "drop", hours: float = 2) -> int:
        until = self.clock.now + timedelta(hours=hours)
        mute = Mute(0, target, until, "deliver" if then == "deliver" else "drop", None, "ana")
        return self.store.add_mute(mute, self.clock.now)

    def later(self, delta: timedelta) -> None:
        self.clock.now += delta

    def digests(self, channel: str = "local") -> list[dict[str, Any]]:
        folder = self.root / ("out" if channel == "local" else "other-out")
        files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        return [json.loads(p.read_text(encoding="utf-8")) for p in files] if files else []

    def sent_titles(self, channel: str = "local") -> list[str]:
        return [item["article"]["title"] for d in self.digests(channel) for item in d["items"]]

    def muted(self) -> list[str]:
        return [m.article.title for m in self.store.listed_matches(T0 - HOUR, muted=True)]


@pytest.fixture
def desk(tmp_path: Path, store: Store, clients: Clients) -> Desk:
    return Desk(tmp_path, store, clients)


def test_a_muted_rule_stays_out_of_the_next_digest_and_is_listed_as_muted(desk: Desk) -> None:
    desk.mute("rule:gas")
    muted, kept = desk.arrives("gas"), desk.arrives("oil")
    assert desk.outbox.send("local").sent == 1
    assert desk.sent_titles() == [kept]
    assert desk.muted() == [muted]
    assert desk.store.channel_totals("local").pending == 0  # dropped: nothing owed
    desk.later(3 * HOUR)  # the mute has ended: what it dropped stays dropped
    after = desk.arrives("gas")
    desk.outbox.send("local")
    assert desk.sent_titles() == [kept, after]


def test_a_mute_ends_by_itself(desk: Desk) -> None:
    desk.mute("rule:gas", hours=1)
    desk.later(HOUR)
    title = desk.arrives("gas")
    assert desk.outbox.send("local").sent == 1
    assert desk.sent_titles() == [title]
    assert desk.muted() == []


def test_then_deliver_sends_the_muted_matches_after_the_mute(desk: Desk) -> None:
    desk.mute("rule:gas", "deliver", hours=1)
    held = desk.arrives("gas")
    assert desk.outbox.send("local").sent == 0
    assert desk.digests() == []
    assert desk.muted() == [held]
    desk.later(HOUR)
    assert desk.outbox.send("local").sent == 1
    assert desk.sent_titles() == [held]
    assert desk.outbox.send("local").sent == 0  # once only


def test_unmuting_ends_a_deliver_mute_at_once(desk: Desk) -> None:
    mute_id = desk.mute("rule:gas", "deliver")
    held = desk.arrives("gas")
    desk.outbox.send("local")
    desk.later(timedelta(minutes=5))
    assert desk.store.end_mutes(str(mute_id), desk.clock.now) == 1
    desk.later(timedelta(seconds=1))
    desk.outbox.send("local")
    assert desk.sent_titles() == [held]


def test_a_muted_channel_sends_nothing_and_the_others_go_on(desk: Desk) -> None:
    desk.mute("channel:local")
    title = desk.arrives("gas")
    desk.outbox.send("local")
    desk.outbox.send("other")
    assert desk.digests() == []
    assert desk.sent_titles("other") == [title]


def test_a_muted_participant_keeps_out_the_articles_naming_them(desk: Desk) -> None:
    desk.mute("participant:putin")
    desk.arrives("gas", who="putin")
    kept = desk.arrives("gas", who="xi")
    desk.outbox.send("local")
    assert desk.sent_titles() == [kept]
    assert desk.muted() == ["gas news 1"]


def test_the_throttle_holds_the_seventh_message_and_the_next_says_what_it_gathered(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    desk = Desk(tmp_path, store, clients, ", throttle: {max: 6, per: 1h}")
    for _ in range(6):
        desk.arrives()
        assert desk.outbox.send("local").sent == 1
        desk.later(timedelta(minutes=5))
    held = [desk.arrives() for _ in range(3)]  # 09:30, six messages since 09:00
    assert desk.outbox.send("local").sent == 0
    assert len(desk.digests()) == 6
    desk.later(timedelta(minutes=10))
    held.append(desk.arrives())
    assert desk.outbox.send("local").sent == 0
    desk.later(timedelta(minutes=20))  # 10:00: the first message is out of the window
    assert desk.outbox.send("local").sent == 1
    last = desk.digests()[-1]
    assert sorted(item["article"]["title"] for item in last["items"]) == sorted(held)
    assert last["held"] == {"matches": 4, "since": "2026-11-22T09:30:00+00:00"}
    said = "4 matches held back by the throttle since 09:30"
    for form in ("txt", "html"):
        (rendered,) = (tmp_path / "out").glob(f"*-{last['digest_id'][:8]}.{form}")
        assert said in rendered.read_text(encoding="utf-8")
    desk.arrives()
    desk.later(timedelta(minutes=6))  # 10:06: the second message is out of the window too
    assert desk.outbox.send("local").sent == 1
    assert "held" not in desk.digests()[-1]
