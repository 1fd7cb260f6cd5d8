"""The vocabulary every stage shares: articles, matches, digests and their deliveries.

Each is frozen: a stage hands it on, and the next one reads it but never changes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "Article",
    "ChannelTotals",
    "DigestRecord",
    "FileRecord",
    "Hit",
    "Match",
    "Rendered",
    "StoredMatch",
    "is_web_address",
]


@dataclass(frozen=True)
class Article:
    """One news article: its text, and where and when it comes from."""

    id: str
    title: str
    body: str
    date: date
    path: str
    source: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Hit:
    """One place in an article where a rule's term or a participant's alias was found."""

    term: str
    field: str  # title or body
    start: int  # character offsets in the field
    end: int
    participant: str | None = None


@dataclass(frozen=True)
class Match:
    """A rule that holds for an article, with the hits that show why."""

    rule_id: str
    hits: tuple[Hit, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        """The terms found, each once, in order of first appearance."""
        return tuple(dict.fromkeys(h.term for h in self.hits if h.participant is None))

    @property
    def participants(self) -> tuple[str, ...]:
        """The participants found, each once, in order of first appearance."""
        return tuple(dict.fromkeys(h.participant for h in self.hits if h.participant))


@dataclass(frozen=True)
class FileRecord:
    """A file as last ingested: size and change times, and why it failed if it did."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int  # changes on chmod too: a file made readable is read again
    error: str | None

    def up_to_date(self, stat: os.stat_result, retry_failed: bool = False) -> bool:
        """Whether the file was read as it is now (and read well, when retrying failures)."""
        unchanged = (self.size, self.mtime_ns, self.ctime_ns) == (
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
        )
        return unchanged and not (retry_failed and self.error is not None)


@dataclass(frozen=True)
class StoredMatch:
    """A match as stored, with its article: what a digest is made of."""

    id: int
    rule_id: str
    article: Article
    hits: tuple[Hit, ...]
    matched_at: datetime


@dataclass(frozen=True)
class Rendered:
    """One digest in every form a channel sends."""

    subject: str
    text: str
    html: str
    json: str


@dataclass(frozen=True)
class DigestRecord:
    """A digest written down before it is delivered; `document` is exactly what is sent."""

    id: str
    channel: str
    created_at: datetime
    status: str  # pending | sent | dead
    attempts: int
    document: dict[str, Any]
    last_error: str | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None  # None: at once
    first_failure_at: datetime | None = None  # the retry limit counts from here
    rendered: dict[str, str] | None = None  # the forms sent, so that every retry is the same
    claimed_until: datetime | None = None  # a process is delivering it until then, or died


@dataclass(frozen=True)
class ChannelTotals:
    """What `status` shows of a channel."""

    pending: int
    sent: int
    dead: int
    retrying: int
    last_sent: datetime | None
    last_error: str | None
    next_attempt_at: datetime | None


def is_web_address(url: str) -> bool:
    """Whether `url` is a page a reader can open: http or https, with a host."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
