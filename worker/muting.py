"""Mutes and stored matches as a person and a script read them: `wirewatch mute`, `mutes`,
`matches` and the mutes `status` shows; and a mute target checked against the config and
rules before it is stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from worker.deliver.mutes import parse_target
from worker.model import Mute, MutedMatch, StoredMatch
from worker.rules.ruleset import RuleSet
from worker.settings.config import Config
from worker.wording import did_you_mean

__all__ = [
    "checked_target",
    "match_document",
    "match_line",
    "mute_document",
    "mute_line",
]


def checked_target(text: str, config: Config, rules: RuleSet) -> str:
    """`rule:ID`, `participant:ID` or `channel:NAME` as given, when the config and rules
    know it; else ValueError saying in one line what is known."""
    kind, name = parse_target(text)
    known = {
        "rule": [rule.id for rule in rules.rules],
        "participant": list(rules.participants),
        "channel": list(config.channels),
    }[kind]
    if name not in known:
        hint = did_you_mean(name, known)
        if not hint:
            shown = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
            hint = f"; known: {shown or 'none'}"
        raise ValueError(f"unknown {kind} '{name}'{hint}")
    return f"{kind}:{name}"


def mute_document(mute: Mute, zone: ZoneInfo) -> dict[str, Any]:
    """A mute as `mutes --json` and `status --json` give it, times in `zone`."""
    made = mute.created_at
    return {
        "id": mute.id,
        "target": mute.target,
        "until": _iso(mute.until, zone),
        "then": mute.afterwards,
        "reason": mute.reason,
        "by": mute.created_by,
        "at": None if made is None else _iso(made, zone),
    }


def mute_line(mute: Mute, zone: ZoneInfo) -> str:
    """A mute in one line, times in `zone`."""
    then = "dropped" if mute.afterwards == "drop" else "sent when it ends"
    reason = f" ({mute.reason})" if mute.reason else ""
    made = f", muted by {mute.created_by}" if mute.created_by else ""
    if mute.created_at is not None:
        made += f" at {_local(mute.created_at, zone)}"
    return (
        f"#{mute.id} {mute.target} until {_local(mute.until, zone)}{reason}: matches {then}{made}"
    )


def match_document(match: StoredMatch, muted: Sequence[MutedMatch]) -> dict[str, Any]:
    """A stored match as `matches --json` gives it, with what mutes kept it out of."""
    article = match.article
    return {
        "id": match.id,
        "rule": match.rule_id,
        "matched_at": match.matched_at.isoformat(timespec="seconds"),
        "article": {"id": article.id, "title": article.title, "date": article.date.isoformat(),
                    "path": article.path, "url": article.url},
        "muted": [
            {"channel": m.channel, "mute": m.mute.id, "target": m.mute.target,
             "then": m.mute.afterwards, "released": m.released_at is not None}
            for m in muted
        ],
    }  # fmt: skip


def match_line(match: StoredMatch, muted: Sequence[MutedMatch], zone: ZoneInfo) -> str:
    """A stored match in one line, times in `zone`, and what mutes kept it out of."""
    line = f"{_local(match.matched_at, zone)}  {match.rule_id}  {match.article.title}"
    for kept in muted:
        fate = "dropped" if kept.mute.afterwards == "drop" else "held"
        if kept.released_at is not None:
            fate = "sent after the mute"
        line += f"  [muted on {kept.channel} by {kept.mute.target}: {fate}]"
    return line


def _iso(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
