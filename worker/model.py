"""The vocabulary every stage shares: articles, matches, digests and their deliveries.

Each is frozen: a stage hands it on, and the next one reads it but never changes it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

__all__ = [
    "Alert",
    "Article",
    "ChannelTotals",
    "Delivery",
    "Digest",
    "DigestArticle",
    "DigestCounts",
    "DigestItem",
    "DigestMore",
    "DigestRule",
    "DigestUpdate",
    "FeedRecord",
    "FileClaim",
    "FileRecord",
    "GroupBy",
    "Held",
    "Hit",
    "Match",
    "MatchRecord",
    "Mute",
    "MutedMatch",
    "NewArticle",
    "Period",
    "Pruned",
    "RawArticle",
    "Rendered",
    "StoredMatch",
    "StoryShown",
    "WorkerRecord",
    "is_web_address",
]

Priority = Literal["high", "normal", "low"]


@dataclass(frozen=True)
class RawArticle:
    """The bytes of one or more articles as a source found them, before they are read."""

    uri: str  # where they come from: a file's path
    data: bytes
    format: str  # how to read them: a file's ending, `.txt`, `.md`, `.jsonl`, ...
    modified: datetime  # when they last changed: the date of an article that gives none
    seen_at: datetime  # when the source found them
    path: str | None = None  # the file they were read from, which digests show
    # The identity its source gives its one article (a feed's entry); None: its content.
    # An article with such an identity may be edited: read again, stored anew, matched again.
    identity: str | None = None
    # Why its matches are stored but sent to no channel (`ingest --no-digest`, a folder's
    # archive with `alert_existing: false`); None: they are sent.
    withheld: str | None = None


@dataclass(frozen=True)
class Article:
    """One news article: its text, and where and when it comes from."""

    id: str
    title: str
    body: str
    date: date
    path: str | None = None  # the file it was read from, if it came from one
    source: str | None = None
    url: str | None = None
    author: str | None = None
    language: str | None = None  # a code as in ISO 639: en, ru, zh
    site: str | None = None  # the name of the site that published it: The Daily Courier


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
class NewArticle:
    """An article to store with its matches, and why they are sent to no channel (None:
    they are pending for their channels as usual)."""

    article: Article
    matches: list[Match]
    withheld: str | None = None


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
class FeedRecord:
    """A feed as last polled: its validators, when it is due again, and how it fails."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    next_poll: datetime | None = None  # None: at once
    last_success: datetime | None = None
    last_error: str | None = None  # None: the last poll went well
    error_since: datetime | None = None
    failures: int = 0  # polls failed in a row
    gone: bool = False  # the publisher said 410 Gone: not polled again


@dataclass(frozen=True)
class FileClaim:
    """A worker's claim on a file it is about to read, the same on every host that sees it."""

    key: str  # the file's path in its watch folder, `inbox/2024/a.txt`
    size: int
    mtime_ns: int
    holder: str  # the worker
    retry_failed: bool = False  # take it even though it failed before


@dataclass(frozen=True)
class StoredMatch:
    """A match as stored, with its article: what a digest is made of."""

    id: int
    rule_id: str
    article: Article
    hits: tuple[Hit, ...]
    matched_at: datetime


@dataclass(frozen=True)
class StoryShown:
    """An article a channel's digest showed, and the story it was shown as part of: what a
    later digest groups new articles of the same story with."""

    article_id: str
    signature: str  # its MinHash signature, as `worker.text.minhash.to_text` writes it
    story: Article  # the article that showed the story first (its body is not read back)
    first_sent: datetime  # when the channel's digest showed the story first


@dataclass(frozen=True)
class MatchRecord:
    """A stored match without its article's text: a line of `wirewatch matches`, or one
    of a backlog that a digest counts rather than lists."""

    id: int
    rule_id: str
    article_id: str
    title: str
    date: date
    source: str | None
    url: str | None
    path: str | None
    participants: tuple[str, ...]  # the ids of the participants its rule found
    matched_at: datetime


# --- digests ------------------------------------------------------------------------------
#
# A digest is a document: the JSON a webhook posts, the file channel writes and templates
# read (`Digest.document()`), and what the store keeps to send again unchanged.

# Times as Python writes them (`2026-11-24T07:00:00+00:00`), the documented form.
IsoTime = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str)]


class _Document(BaseModel):
    # A digest stored by another version may carry keys this one does not know.
    model_config = ConfigDict(frozen=True, extra="ignore")


class DigestArticle(_Document):
    """An article as a digest shows it."""

    id: str
    title: str
    date: date
    source: str | None = None
    url: str | None = None
    path: str | None = None


class DigestItem(_Document):
    """One entry of a digest: an article (a story), the rules it matched, and why."""

    rule: str  # the first of `rules`: the section it heads when grouped by rule
    article: DigestArticle
    rules: tuple[str, ...] = ()  # every rule the entry's articles matched, first first
    participants: tuple[str, ...] = ()  # names, those the rule asked for first
    terms: tuple[str, ...] = ()
    summary: str = ""
    highlights: tuple[tuple[int, int], ...] = ()  # spans of the matched terms in `summary`
    also: tuple[DigestArticle, ...] = ()  # the same story from other outlets


class DigestUpdate(_Document):
    """More articles of a story a recent digest of the channel already showed."""

    story: DigestArticle  # the article that showed the story first
    first_sent: IsoTime  # when the channel's digest first showed it
    articles: tuple[DigestArticle, ...]


GroupBy = Literal["article", "rule"]


class DigestRule(_Document):
    """A rule a digest has a section for."""

    id: str
    title: str
    priority: Priority = "normal"


class DigestCounts(_Document):
    """What a digest holds, counted: its items may list fewer (`omitted`)."""

    articles: int
    matches: int
    rules: dict[str, int] = Field(default_factory=dict)
    participants: dict[str, int] = Field(default_factory=dict)  # by name, most first
    omitted: int = 0


class DigestMore(_Document):
    """The matches a digest holds beyond those it lists, counted: delivered by it all the
    same, and listed by `command`."""

    count: int
    by_rule: dict[str, int] = Field(default_factory=dict)
    by_participant: dict[str, int] = Field(default_factory=dict)  # articles, by name
    command: str = ""


class Period(_Document):
    """The time a digest covers."""

    model_config = ConfigDict(populate_by_name=True)

    start: IsoTime = Field(alias="from")
    end: IsoTime = Field(alias="to")


class Held(_Document):
    """What a channel's throttle held back until this digest: its matches, and since when."""

    matches: int
    since: IsoTime


class Digest(_Document):
    """A channel's digest of the matches it holds."""

    digest_id: str  # the same for the same matches on the same channel: receivers drop repeats
    channel: str
    generated_at: IsoTime
    timezone: str = "UTC"  # the channel's, in which the digest shows times
    period: Period
    counts: DigestCounts
    rules: tuple[DigestRule, ...] = ()
    # "article": one entry per story; "rule": a section per rule, an entry per match (and
    # digests stored before entries were grouped read back as such).
    group_by: GroupBy = "rule"
    items: tuple[DigestItem, ...] = ()
    updates: tuple[DigestUpdate, ...] = ()
    held: Held | None = None  # set when the channel's throttle held these matches back
    more: DigestMore | None = None  # a backlog: what the digest holds and does not list

    def document(self) -> dict[str, Any]:
        """The digest as the JSON document of docs/digests.md (`held` only when set, `more` only
        when it has more)."""
        document = self.model_dump(mode="json", by_alias=True)
        for optional in ("held", "more"):
            if document[optional] is None:
                del document[optional]
        return document

    @classmethod
    def from_document(cls, document: object) -> Digest:
        """A digest from its JSON document; ValueError when it is not one."""
        return cls.model_validate(document)


@dataclass(frozen=True)
class Rendered:
    """One digest in every form a channel sends."""

    subject: str
    text: str
    html: str
    json: str
    # Every match of the digest as gzipped CSV, base64 (email, for a backlog), unless too big.
    listing: str | None = None


@dataclass(frozen=True)
class Delivery:
    """A digest written down before it is delivered, and how its delivery stands."""

    digest: Digest
    rendered: Rendered | None = None  # the forms sent, so that every retry is the same
    status: Literal["pending", "sent", "dead"] = "pending"
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None  # None: at once
    first_failure_at: datetime | None = None  # the retry limit counts from here
    claimed_until: datetime | None = None  # a process is delivering it until then, or died

    @property
    def id(self) -> str:
        """The digest's id, the same on every attempt."""
        return self.digest.digest_id

    @property
    def channel(self) -> str:
        """The channel it goes to."""
        return self.digest.channel

    @property
    def created_at(self) -> datetime:
        """When the digest was made."""
        return self.digest.generated_at


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


@dataclass(frozen=True)
class Pruned:
    """What a prune removed (or would): articles with their matches, and sent digests."""

    articles: int = 0
    matches: int = 0
    digests: int = 0
    owed: int = 0  # articles past their window kept, as the outbox still owes them


@dataclass(frozen=True)
class WorkerRecord:
    """A worker on the state, as `status` shows it: who, since when, and what it holds."""

    id: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
    digests: int = 0  # digests it is sending now
    files: int = 0  # files it is reading now
    slots: int = 0  # schedule slots it is building now


# --- mutes -------------------------------------------------------------------------------

MuteKind = Literal["rule", "participant", "channel"]
AfterMute = Literal["drop", "deliver"]


@dataclass(frozen=True)
class Mute:
    """A rule, participant or channel kept out of digests for a while.

    The matches it keeps out are dropped for good (`drop`), or held and sent in the first
    digest after it ends (`deliver`). It ends at `until`, or earlier when unmuted.
    """

    id: int
    target: str  # `rule:ID`, `participant:ID` or `channel:NAME`
    until: datetime
    afterwards: AfterMute = "drop"
    reason: str | None = None
    created_by: str = ""
    created_at: datetime | None = None
    ended_at: datetime | None = None  # when it was unmuted, if it was

    @property
    def kind(self) -> str:
        """What it mutes: rule, participant or channel."""
        return self.target.partition(":")[0]

    @property
    def name(self) -> str:
        """The id of the rule or participant, or the channel's name."""
        return self.target.partition(":")[2]

    @property
    def end(self) -> datetime:
        """When it ends (or ended)."""
        return self.until if self.ended_at is None else min(self.until, self.ended_at)

    def active(self, now: datetime) -> bool:
        """Whether it keeps matches out at `now`."""
        return now < self.end


@dataclass(frozen=True)
class MutedMatch:
    """A match a mute kept out of a channel's digest."""

    channel: str
    match_id: int
    mute: Mute
    released_at: datetime | None = None  # a held match given back to the channel


# --- alerts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """A short message about wirewatch itself: a part is in trouble, or its trouble cleared."""

    part: str  # store, folder:PATH, channel:NAME, ...
    problem: str  # what is (or, once cleared, was) wrong, in one line
    cleared: bool
    since: datetime  # when the trouble began
    at: datetime  # when this was said
    host: str  # the machine wirewatch runs on: several may share one alert channel

    @property
    def id(self) -> str:
        """The same on every attempt to send this alert: receivers drop repeats."""
        said = f"{self.part}\n{self.problem}\n{self.cleared}\n{self.at.isoformat()}"
        return hashlib.sha256(said.encode()).hexdigest()[:32]

    @property
    def subject(self) -> str:
        """The alert in one line."""
        state = f"cleared ({self.problem})" if self.cleared else self.problem
        return f"wirewatch on {self.host}: {self.part}: {state}"

    @property
    def text(self) -> str:
        """The alert as a few lines of plain text."""
        since = self.since.isoformat(sep=" ", timespec="seconds")
        at = self.at.isoformat(sep=" ", timespec="seconds")
        if self.cleared:
            return f"{self.subject}\nIn trouble from {since} to {at}.\n"
        return f"{self.subject}\nSince {since}. It will be said again when it clears.\n"

    def document(self) -> dict[str, Any]:
        """The alert as the JSON a webhook posts: `"type": "alert"`, never a digest."""
        return {
            "type": "alert",
            "alert_id": self.id,
            "state": "cleared" if self.cleared else "trouble",
            "part": self.part,
            "problem": self.problem,
            "since": self.since.isoformat(),
            "at": self.at.isoformat(),
            "host": self.host,
            "text": self.subject,
        }


def is_web_address(url: str) -> bool:
    """Whether `url` is a page a reader can open: http or https, with a host."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
