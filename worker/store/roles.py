"""What each stage may ask of the store: one small protocol per role.

A stage depends on the role it needs, not on a backend: the ingestor on `Articles`, the
folder source on `FilesSeen`, the outbox on `DigestQueue` and `Deliveries`, the
scheduler on `RunRecords`. `Store` is all of them, as `open_store` gives it. Times
cross this seam as aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from worker.model import (
    Article,
    ChannelTotals,
    Delivery,
    FeedRecord,
    FileClaim,
    FileRecord,
    Match,
    MatchRecord,
    Mute,
    MutedMatch,
    NewArticle,
    Pruned,
    StoredMatch,
    StoryShown,
    WorkerRecord,
)

__all__ = [
    "Articles",
    "Copying",
    "Deliveries",
    "DigestQueue",
    "FeedsSeen",
    "FilesSeen",
    "Mutes",
    "Pruning",
    "RunRecords",
    "Store",
    "Workers",
]


class FilesSeen(Protocol):
    """Each file read, as it was when read, and why it failed if it did."""

    def file(self, path: str) -> FileRecord | None:
        """The record of one file, if it was seen."""
        ...

    def files(self) -> dict[str, FileRecord]:
        """Every file seen, by path."""
        ...

    def record_file(self, record: FileRecord, at: datetime) -> None:
        """Remember a file as ingested (or failed) as it is now."""
        ...

    def failures(self) -> list[FileRecord]:
        """Files that could not be read, with the reason."""
        ...

    def claim_file(self, claim: FileClaim, at: datetime, until: datetime) -> bool:
        """Take a file to read it, until `until`; False when another worker has it, or it
        was read as it is (or failed so, unless `claim.retry_failed`)."""
        ...

    def finish_file(self, claim: FileClaim, record: FileRecord, at: datetime) -> None:
        """The file is read as `record` says (or failed, with the reason): it is recorded,
        and no worker takes it again until it changes."""
        ...

    def finish_files(self, files: Sequence[tuple[FileClaim, FileRecord]], at: datetime) -> None:
        """`finish_file` for each of these files (claim and record), together."""
        ...

    def first_scan_done(self, folder: str) -> bool:
        """Whether the watched folder's first scan is done (on this state)."""
        ...

    def record_first_scan(self, folder: str, at: datetime) -> None:
        """The watched folder's first scan is done: what it holds from now on is new."""
        ...


class FeedsSeen(Protocol):
    """Each feed as last polled, who polls it now, and each of its entries ever seen."""

    def feed(self, url: str) -> FeedRecord | None:
        """The record of one feed, if it was polled."""
        ...

    def feeds(self) -> list[FeedRecord]:
        """Every feed polled, by url."""
        ...

    def claim_feed(self, url: str, holder: str, at: datetime, until: datetime) -> bool:
        """Take a feed that is due at `at` (and not gone) to poll it, until `until`; False
        when it is not due, or another worker polls it."""
        ...

    def finish_feed(self, record: FeedRecord, holder: str) -> None:
        """The feed was polled as `record` says: recorded, and the holder's claim let go."""
        ...

    def keep_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """What the feed's publisher gave to ask next time whether it changed (kept once
        the entries of that answer are ingested: a crash before reads them again)."""
        ...

    def feed_entries(self, url: str) -> dict[str, str]:
        """The fingerprint of each entry of the feed seen, by the entry's key."""
        ...

    def record_entry(
        self, url: str, entry: str, article_id: str, fingerprint: str, at: datetime
    ) -> None:
        """An entry of the feed was ingested as it reads now (its fingerprint)."""
        ...


class Articles(Protocol):
    """Articles, each stored once, with their matches."""

    def batch(self) -> AbstractContextManager[None]:
        """The files recorded and articles stored in the block, by this thread, commit
        together or not at all (BatchBrokenError when a statement of it failed)."""
        ...

    @property
    def files_per_batch(self) -> int:
        """How many files one `batch` should hold at most."""
        ...

    def has_article(self, article_id: str) -> bool:
        """Whether an article with this id (this content) was ever stored, pruned since or not."""
        ...

    def known_articles(self, article_ids: Sequence[str]) -> set[str]:
        """Those of these articles (their ids) ever stored, pruned since or not."""
        ...

    def add_article(
        self,
        article: Article,
        matches: Sequence[Match],
        at: datetime,
        withheld: str | None = None,
    ) -> bool:
        """Store an article with its matches, together or not at all; False when an article
        with the same content is already stored. With `withheld` (the reason), its matches
        are pending for no channel: recorded as never to be sent."""
        ...

    def add_articles(self, articles: Sequence[NewArticle], at: datetime) -> list[bool]:
        """`add_article` for each of these articles, in order, together; for each, False
        when an article with the same content is already stored."""
        ...

    def add_matches(self, article_id: str, matches: Sequence[Match], at: datetime) -> int:
        """Store more matches of a stored article; how many were new."""
        ...

    def revise_article(self, article: Article, matches: Sequence[Match], at: datetime) -> bool:
        """Store a new version of a stored article (an edited feed entry) with its matches:
        a rule newly matched is pending as usual, one matched before keeps its place (sent
        or not) with the new hits; False when it is not stored (pruned) or unchanged."""
        ...

    def articles(
        self, under: Sequence[str] = (), since: datetime | None = None
    ) -> Iterator[Article]:
        """Every stored article, or those from these files and folders, or ingested since."""
        ...

    def counts(self) -> dict[str, int]:
        """Articles ingested, files failed and matches stored."""
        ...

    def stored_matches(
        self,
        rule_id: str | None = None,
        since: datetime | None = None,
        digest_id: str | None = None,
    ) -> Iterator[MatchRecord]:
        """Stored matches, oldest first: all, or of one rule, matched since, held by a digest."""
        ...


class DigestQueue(Protocol):
    """What each channel has pending, and the digests that take it."""

    def channel_since(self, channel: str, at: datetime) -> datetime:
        """When the channel first appeared (`at`, if it is new)."""
        ...

    def select_rules(self, channel: str, rule_ids: Iterable[str]) -> None:
        """The rules whose matches go to the channel from now on; a rule it newly takes
        brings the matches stored from now on, not its history."""
        ...

    def pending(self, channel: str, limit: int | None = None) -> list[StoredMatch]:
        """The matches pending for the channel, oldest first; the first `limit` of them."""
        ...

    def pending_newest(self, channel: str, rule_id: str, limit: int) -> list[StoredMatch]:
        """The newest `limit` matches of one rule pending for the channel (by article date)."""
        ...

    def pending_through(self, channel: str) -> int | None:
        """The id of the newest match pending for the channel, or None when none is."""
        ...

    def pending_records(self, channel: str, through: int) -> Iterator[MatchRecord]:
        """Every match pending for the channel up to the id `through`, oldest first,
        without its article's text."""
        ...

    def create_digest(
        self,
        delivery: Delivery,
        match_ids: Sequence[int],
        through: int | None = None,
        more: int = 0,
        shown: Sequence[StoryShown] = (),
    ) -> bool:
        """Write a digest with the pending matches it lists, and with `through` the `more`
        others pending up to that id, and what its stories showed, all or none; False when
        one of them is no longer pending (another process took it) or the digest exists."""
        ...

    def last_digest_at(self, channel: str) -> datetime | None:
        """When the channel's latest digest was made, sent or not."""
        ...

    def stories_shown(self, channel: str, since: datetime) -> list[StoryShown]:
        """The articles the channel's digests showed in stories first shown since `since`."""
        ...

    def add_stories_shown(self, channel: str, shown: Sequence[StoryShown]) -> None:
        """Remember what a digest of `channel` showed; an article shown before keeps its story."""
        ...

    def mutes_ending_after(self, since: datetime) -> list[Mute]:
        """The mutes that end (or ended) after `since`: those that may cover a match
        stored since then."""
        ...

    def leave_out(self, channel: str, muted: Sequence[tuple[int, Mute]], at: datetime) -> None:
        """These matches (id, and the mute that keeps each out) are not pending for the
        channel any more: dropped, or held until their mute ends."""
        ...

    def release_held(self, channel: str, at: datetime) -> int:
        """The matches held for the channel by mutes ended at `at` are pending again."""
        ...

    def digests_made_since(self, channel: str, since: datetime) -> int:
        """How many digests the channel made after `since`."""
        ...

    def hold_for_throttle(self, channel: str, at: datetime) -> None:
        """The channel's throttle holds its matches back, from `at` unless it did already."""
        ...

    def throttle_held_since(self, channel: str) -> datetime | None:
        """Since when the channel's throttle has held its matches back, if it has."""
        ...


class Mutes(Protocol):
    """Mutes as a user makes, ends and lists them, and the matches they kept out."""

    def add_mute(self, mute: Mute, at: datetime) -> int:
        """Write a mute down; the id it is given."""
        ...

    def end_mutes(self, target: str, at: datetime) -> int:
        """Unmute a target (`rule:ID`...) or one mute by its id; how many ended."""
        ...

    def active_mutes(self, at: datetime) -> list[Mute]:
        """The mutes on at `at`, those ending soonest first."""
        ...

    def listed_matches(
        self, since: datetime, rule: str | None = None, muted: bool = False, limit: int = 1000
    ) -> list[StoredMatch]:
        """Stored matches since `since`, of one rule, or only those a mute kept out."""
        ...

    def muted_between(self, first: int, last: int) -> list[MutedMatch]:
        """What mutes kept out, of the matches with ids from `first` to `last`."""
        ...


class Deliveries(Protocol):
    """Each digest's delivery: pending, claimed, sent, due again, or dead."""

    def unsent_digests(self, channel: str) -> list[Delivery]:
        """The channel's digests not yet delivered (dead ones aside), oldest first."""
        ...

    def claim_digest(self, digest_id: str, holder: str, at: datetime, until: datetime) -> bool:
        """Take a pending digest that is due at `at` and claimed by no one (or by one whose
        claim has run out) until `until`; whether it was taken."""
        ...

    def renew_claim(self, digest_id: str, holder: str, until: datetime) -> bool:
        """Keep the holder's claim on a digest still pending; False if it lost it."""
        ...

    def mark_sent(self, digest_id: str, at: datetime) -> None:
        """The receiver took the digest."""
        ...

    def record_failure(
        self, digest_id: str, error: str, at: datetime, retry_at: datetime | None
    ) -> None:
        """An attempt failed: due again at `retry_at`, or never (the digest is dead)."""
        ...

    def revive_dead(self, channel: str, at: datetime) -> int:
        """Make the channel's dead digests pending again, due at `at`; how many."""
        ...

    def channel_totals(self, channel: str) -> ChannelTotals:
        """Pending matches, digests by state, and the last send and failure of a channel."""
        ...

    def channel_totals_at_once(self, channels: Iterable[str]) -> dict[str, ChannelTotals] | None:
        """The totals of `channels`, or None if reading them now would wait on another call."""
        ...

    def channels_with_digests(self) -> list[str]:
        """Every channel with digests not delivered, waiting or given up on."""
        ...


class RunRecords(Protocol):
    """When each channel's schedule last fired."""

    def last_run(self, channel: str) -> datetime | None:
        """When the channel's schedule last fired."""
        ...

    def record_run(self, channel: str, at: datetime) -> None:
        """Remember that the channel's schedule fired at `at`."""
        ...

    def claim_slot(
        self, channel: str, slot_at: datetime, holder: str, at: datetime, until: datetime
    ) -> bool:
        """Take a slot of the channel's schedule to build its digest, until `until`; False
        when another worker has it, or it is done."""
        ...

    def finish_slot(self, channel: str, slot_at: datetime, at: datetime) -> None:
        """The slot's digests are built: no worker builds them again."""
        ...


class Workers(Protocol):
    """The workers running on the state, each beating as long as it lives."""

    def beat(self, worker: str, host: str, pid: int, at: datetime) -> None:
        """The worker is alive at `at` (the first beat says it started)."""
        ...

    def stop_worker(self, worker: str, at: datetime) -> None:
        """The worker stopped cleanly."""
        ...

    def workers(self, at: datetime) -> list[WorkerRecord]:
        """The workers that have not stopped cleanly, with what each holds at `at`."""
        ...


class Pruning(Protocol):
    """What is kept for how long (`wirewatch prune`, and the daemon once a day)."""

    def prune(
        self,
        articles_before: datetime | None,
        digests_before: datetime | None,
        dry_run: bool = False,
    ) -> Pruned:
        """Remove the digests sent before `digests_before`, and the articles stored before
        `articles_before` with their matches, keeping what the outbox still owes (pending
        matches, digests not delivered or dead) and every article's identity, so that none
        is ingested again; None keeps all. What was removed, or with `dry_run` would be."""
        ...


class Copying(Protocol):
    """A whole state, copied table by table into another (`wirewatch copy-state`)."""

    def is_empty(self) -> bool:
        """Whether the state holds nothing yet: no article, file, digest or channel."""
        ...

    def table_pages(self, table: str) -> Iterator[list[tuple[Any, ...]]]:
        """Every row of a table, a page at a time."""
        ...

    def add_rows(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows of a table, as another state had them."""
        ...

    def copied(self) -> None:
        """Rows were copied in with their ids: make new ids follow them."""
        ...


class Store(
    FilesSeen,
    FeedsSeen,
    Articles,
    DigestQueue,
    Deliveries,
    RunRecords,
    Workers,
    Pruning,
    Copying,
    Mutes,
    Protocol,
):
    """Every role, as one backend offers them."""

    def unreachable(self) -> str | None:
        """Why the state cannot be reached now (a database down), if it cannot."""
        ...

    def lost(self) -> str | None:
        """Why the state opened is no longer there (its file deleted or replaced), or None."""
        ...

    def close(self) -> None:
        """Close the store; it cannot be used afterwards."""
        ...
