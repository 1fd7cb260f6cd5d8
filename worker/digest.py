"""Build a channel's digest from its pending matches: a pure function over stored data.

The digest is a JSON-ready document (the webhook body of the SPEC, plus the rule titles
the templates need). It is stored before delivery and every retry sends it unchanged.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from worker.rules import RuleSet
from worker.store import StoredMatch
from worker.summary import summarize

__all__ = ["build_digest", "digest_id"]

Document = dict[str, Any]

_PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}


def build_digest(
    channel: str,
    matches: Sequence[StoredMatch],
    rules: RuleSet,
    now: datetime,
    since: datetime | None,
) -> Document:
    """The digest of `matches` for `channel`, grouped by rule, high priority first."""
    ordered = sorted(matches, key=lambda m: _section_key(m, rules))
    items = [_item(match, rules) for match in ordered]
    first = min((m.matched_at for m in matches), default=now)
    return {
        "digest_id": digest_id(channel, [m.id for m in matches]),
        "channel": channel,
        "generated_at": now.isoformat(),
        "period": {"from": (since or first).isoformat(), "to": now.isoformat()},
        "counts": _counts(items),
        "rules": _rule_sections(ordered, rules),
        "items": items,
    }


def digest_id(channel: str, match_ids: Sequence[int]) -> str:
    """A stable id for the digest of exactly these matches on this channel."""
    key = channel + ":" + ",".join(str(i) for i in sorted(match_ids))
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _section_key(match: StoredMatch, rules: RuleSet) -> tuple[int, int, int]:
    rule = rules.rule(match.rule_id)
    newest_first = -match.article.date.toordinal()
    return (_PRIORITY_ORDER[rule.priority], rules.rules.index(rule), newest_first)


def _item(match: StoredMatch, rules: RuleSet) -> dict[str, Any]:
    article = match.article
    summary = summarize(article.body, match.hits)
    names = dict.fromkeys(
        rules.participants[h.participant].name
        for h in match.hits
        if h.participant and h.participant in rules.participants
    )
    terms = dict.fromkeys(h.term for h in match.hits if h.participant is None)
    return {
        "rule": match.rule_id,
        "article": {
            "id": article.id,
            "title": article.title,
            "date": article.date.isoformat(),
            "source": article.source,
            "url": article.url,
            "path": article.path,
        },
        "participants": list(names),
        "terms": list(terms),
        "summary": summary.text,
        "highlights": [list(span) for span in summary.highlights],
    }


def _counts(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    # An article counts once per participant, whichever of its rules found the person.
    by_article: dict[str, set[str]] = {}
    for item in items:
        by_article.setdefault(item["article"]["id"], set()).update(item["participants"])
    participants = Counter(name for names in by_article.values() for name in names)
    return {
        "articles": len(by_article),
        "matches": len(items),
        "rules": dict(Counter(item["rule"] for item in items)),
        "participants": dict(participants.most_common()),
    }


def _rule_sections(matches: Sequence[StoredMatch], rules: RuleSet) -> list[dict[str, str]]:
    ids = dict.fromkeys(match.rule_id for match in matches)
    sections = []
    for rule_id in ids:
        rule = rules.rule(rule_id)
        sections.append({"id": rule.id, "title": rule.title or rule.id, "priority": rule.priority})
    return sections
