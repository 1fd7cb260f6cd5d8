"""A backlog in one digest: the first `max_items` matches listed, the rest counted.

However many matches wait for a channel (a backfill, an archive, an outage), one slot
sends one digest. It lists the matches of the highest rule priority, newest first, and
counts the others by rule and by participant; it holds them all, so none is sent again,
and `wirewatch matches --digest ID` lists them. Pure functions over stored data.
"""

from __future__ import annotations

import base64
import csv
import io
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from worker.model import Digest, DigestMore, MatchRecord, StoredMatch
from worker.rules.ruleset import RuleSet

__all__ = [
    "LISTING_COLUMNS",
    "Listing",
    "Tally",
    "match_json",
    "match_line",
    "record_of",
    "top_matches",
    "with_more",
]

_RANK = {"high": 0, "normal": 1, "low": 2}

LISTING_COLUMNS = ("title", "link", "rule", "participants", "published", "source")


def top_matches(matches: Iterable[StoredMatch], rules: RuleSet, limit: int) -> list[StoredMatch]:
    """The `limit` matches a digest lists: highest rule priority first, then newest."""
    known = {rule.id for rule in rules.rules}

    def rank(match: StoredMatch) -> tuple[int, int, int]:
        priority = rules.rule(match.rule_id).priority if match.rule_id in known else "low"
        return (_RANK[priority], -match.article.date.toordinal(), -match.id)

    return sorted(matches, key=rank)[:limit]


def record_of(match: StoredMatch) -> MatchRecord:
    """A match as `wirewatch matches` and the listing show it, without its article's text."""
    article = match.article
    found = dict.fromkeys(hit.participant for hit in match.hits if hit.participant)
    return MatchRecord(
        id=match.id,
        rule_id=match.rule_id,
        article_id=article.id,
        title=article.title,
        date=article.date,
        source=article.source,
        url=article.url,
        path=article.path,
        participants=tuple(found),
        matched_at=match.matched_at,
    )


def _names(record: MatchRecord, rules: RuleSet) -> list[str]:
    """The participants its rule found, by name."""
    people = rules.participants
    return [people[pid].name if pid in people else pid for pid in record.participants]


def _fields(record: MatchRecord, rules: RuleSet) -> dict[str, str]:
    """A match in the columns of the listing, participants by name."""
    return {
        "title": record.title,
        "link": record.url or record.path or "",
        "rule": record.rule_id,
        "participants": "; ".join(_names(record, rules)),
        "published": record.date.isoformat(),
        "source": record.source or "",
    }


def match_line(record: MatchRecord, rules: RuleSet) -> str:
    """A match as one line of `wirewatch matches`."""
    shown = _fields(record, rules)
    people = f" ({shown['participants']})" if shown["participants"] else ""
    return f"{shown['published']}  {shown['rule']}  {shown['title']}{people}  {shown['link']}"


def match_json(record: MatchRecord, rules: RuleSet) -> dict[str, Any]:
    """A match as an object of `wirewatch matches --json`."""
    return {
        "id": record.id,
        "rule": record.rule_id,
        "article": {
            "id": record.article_id,
            "title": record.title,
            "date": record.date.isoformat(),
            "source": record.source,
            "url": record.url,
            "path": record.path,
        },
        "participants": _names(record, rules),
        "matched_at": record.matched_at.isoformat(),
    }


class Tally:
    """The matches a digest holds but does not list, counted by rule and by participant
    (an article once per participant its rules found)."""

    def __init__(self, rules: RuleSet) -> None:
        self._rules = rules
        self.count = 0
        self._by_rule = Counter[str]()
        self._named: set[tuple[str, str]] = set()  # (participant id, article id)

    def add(self, record: MatchRecord) -> None:
        """Count one more match left out of the list."""
        self.count += 1
        self._by_rule[record.rule_id] += 1
        self._named.update((pid, record.article_id) for pid in record.participants)

    def more(self, digest_id: str) -> DigestMore:
        """What the digest says of the matches it does not list."""
        people = self._rules.participants
        by_participant = Counter(
            people[pid].name if pid in people else pid for pid, _ in self._named
        )
        return DigestMore(
            count=self.count,
            by_rule=dict(self._by_rule.most_common()),
            by_participant=dict(by_participant.most_common()),
            command=f"wirewatch matches --digest {digest_id}",
        )


def with_more(digest: Digest, tally: Tally) -> Digest:
    """The digest, saying how many more matches it holds than it lists (when it does)."""
    if not tally.count:
        return digest
    return digest.model_copy(update={"more": tally.more(digest.digest_id)})


class Listing:
    """Every match of a digest as a gzipped CSV, given up once it is bigger than `cap`
    bytes compressed. The same matches always give the same bytes (no time in the header)."""

    def __init__(self, rules: RuleSet, cap: int) -> None:
        self._rules = rules
        self._cap = cap
        self._gzip = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header, mtime 0
        self._parts: list[bytes] = []
        self._size = 0
        self.too_big = False
        self._write(LISTING_COLUMNS)

    def add(self, record: MatchRecord) -> None:
        """One more match, a row of the CSV."""
        if not self.too_big:
            shown = _fields(record, self._rules)
            self._write([shown[column] for column in LISTING_COLUMNS])

    def _write(self, row: Sequence[str]) -> None:
        line = io.StringIO()
        csv.writer(line).writerow(row)
        self._keep(self._gzip.compress(line.getvalue().encode()))

    def _keep(self, data: bytes) -> None:
        self._parts.append(data)
        self._size += len(data)
        self.too_big = self._size > self._cap

    def base64(self) -> str | None:
        """The gzipped CSV as base64, or None when it is bigger than the cap."""
        if self.too_big:
            return None
        self._keep(self._gzip.flush())
        return None if self.too_big else base64.b64encode(b"".join(self._parts)).decode()
