"""The durable outbox: each digest is stored before it is sent, and retried until delivered.

A digest is written to the store with the matches it covers before the first attempt,
and marked sent only once the receiver took it. A failed attempt is tried again after a
growing delay, across restarts; after `give_up_after` (or at once, when the receiver
refused it for good) the digest is dead until `wirewatch digest --retry-dead`.
Within a channel digests go out in order: a digest waiting for a retry holds back the
next one. Channels never wait for each other: each has its own lock.

Before each attempt the digest is claimed in the store for a short lease, renewed while
the attempt lasts, so that no other process (a `wirewatch digest`, a second daemon) sends
it meanwhile. A process that dies mid-attempt leaves a claim that runs out by itself.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from worker.digest.build import PeopleFinder, build_digest
from worker.digest.render import Renderer
from worker.errors import DeliveryError, TemplateMistake
from worker.model import DigestRecord, Rendered
from worker.notify import Clients, notifier_for
from worker.rules.ruleset import RuleSet
from worker.settings.config import Channel, Config, RetrySettings
from worker.store import Store
from worker.wording import plural

__all__ = ["Outbox", "Outcome", "channel_rule_ids", "next_attempt"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Outcome:
    """What one send of a channel came to."""

    sent: int = 0  # digests delivered
    failed: bool = False  # an attempt failed
    retry_at: datetime | None = None  # when the digest now waiting is due again
    dead: int = 0  # digests given up on
    held: bool = False  # a new digest was due but waits behind one waiting for a retry
    elsewhere: bool = False  # another process is delivering a digest; retry_at is its lease end

    def __add__(self, later: Outcome) -> Outcome:
        return Outcome(
            sent=self.sent + later.sent,
            failed=self.failed or later.failed,
            retry_at=later.retry_at or self.retry_at,
            dead=self.dead + later.dead,
            held=self.held or later.held,
            elsewhere=self.elsewhere or later.elsewhere,
        )


def next_attempt(
    retry: RetrySettings,
    error: DeliveryError,
    attempts: int,
    first_failure: datetime,
    now: datetime,
    spread: float,
) -> datetime | None:
    """When to try again after `attempts` failed attempts; None to give up.

    `spread` is a number in [0, 1) that varies the delay by up to ±`retry.jitter`, so
    that many digests failing together are not all retried at the same moment.
    """
    if error.permanent:
        return None
    delay = retry.delays[min(attempts, len(retry.delays)) - 1]
    delay *= 1 + retry.jitter * (2 * spread - 1)
    if error.retry_after is not None:
        if error.retry_after > retry.give_up_after.total_seconds():
            return None  # it asks for a wait longer than the channel waits at all
        delay = max(delay, timedelta(seconds=error.retry_after))
    due = now + delay
    return None if due - first_failure > retry.give_up_after else due


_RANK = {"high": 0, "normal": 1, "low": 2}


def channel_rule_ids(channel: Channel, rules: RuleSet) -> list[str]:
    """The rules whose matches go to `channel`: those named by id or `tag:NAME` (all when
    none are named) of at least the channel's `min_priority`."""
    wanted = set(channel.rules or ())
    ceiling = _RANK[channel.min_priority]
    return [
        rule.id
        for rule in rules.rules
        if _RANK[rule.priority] <= ceiling
        and (
            channel.rules is None
            or rule.id in wanted
            or any(f"tag:{tag}" in wanted for tag in rule.tags)
        )
    ]


class Outbox:
    """Builds, stores and delivers the digests of every channel (the per-delivery boundary)."""

    def __init__(
        self,
        config: Config,
        rules: Callable[[], RuleSet],
        store: Store,
        clients: Clients,
        clock: Clock,
        spread: Callable[[], float] = random.random,
        renderers: Mapping[str, Renderer] | None = None,
        lease: timedelta | None = None,
        people: Callable[[], PeopleFinder] = lambda: lambda article: (),
    ) -> None:
        self._config = config
        self._channels = config.channels
        self._renderers = renderers or {name: Renderer() for name in config.channels}
        self._rules = rules
        self._people = people
        self._store = store
        self._clients = clients
        self._clock = clock
        self._spread = spread
        # A claim holds this long unless renewed; it is renewed three times as often.
        self._lease = config.timing.lease if lease is None else lease
        self._holder = uuid.uuid4().hex  # whose claim it is: this outbox, in this process
        # Digests delivered but not yet marked sent (the store failed): marked, never resent.
        self._unmarked: set[str] = set()
        self._locks = {name: threading.Lock() for name in config.channels}
        for name in config.channels:  # a new channel gets what matches from now on
            store.channel_since(name, clock())
        self.select_rules()
        # A digest due while an older one waited for a retry goes out once that one has.
        self._owed: set[str] = set()

    def send(self, name: str, new: bool = True) -> Outcome:
        """Deliver the channel's digests that are due and, with `new`, its new matches."""
        with self._locks[name]:
            due = self._deliver_due(name)
            if due.retry_at is not None:  # the new digest goes out after the one waiting
                if new:
                    self._owed.add(name)
                return due + Outcome(held=new)
            if not (new or name in self._owed):
                return due
            self._owed.discard(name)
            return due + self._send_pending(name)

    def revive(self, name: str) -> int:
        """Make the channel's dead digests due again; how many there were."""
        return self._store.revive_dead(name, self._clock())

    def _deliver_due(self, name: str) -> Outcome:
        """Older digests first; stop at one that waits for a retry (a dead one is passed)."""
        total = Outcome()
        for record in self._store.unsent_digests(name):
            if record.id in self._unmarked:
                total += self._mark_again(record)
            elif record.next_attempt_at is not None and record.next_attempt_at > self._clock():
                return total + Outcome(retry_at=record.next_attempt_at)
            else:
                total += self._attempt(record)
            if total.retry_at is not None:
                return total
        return total

    def select_rules(self) -> None:
        """Record which rules each channel takes now: a rule newly taken brings its
        matches from now on, not its history."""
        rules = self._rules()
        for name, channel in self._channels.items():
            self._store.select_rules(name, channel_rule_ids(channel, rules))

    def preview(self, name: str) -> dict[str, Any] | None:
        """The digest of the channel's new matches, as it would be sent now; None if none."""
        return self._build(name)[0]

    def use_renderers(self, renderers: Mapping[str, Renderer]) -> None:
        """Render from now on with these templates."""
        self._renderers = renderers

    def render(self, name: str, digest: dict[str, Any]) -> Rendered:
        """The digest in the forms the channel's templates give."""
        return self._renderers[name].render(digest)

    def _build(self, name: str) -> tuple[dict[str, Any] | None, list[int]]:
        channel, rules = self._channels[name], self._rules()
        # The oldest matches first, at most as many as a digest holds: the rest follow.
        pending = self._store.pending(name, channel.max_matches)
        if not pending and not channel.send_empty:
            return None, []
        now = self._clock()
        # The period runs from the channel's previous digest, or from when it appeared.
        since = self._store.last_digest_at(name) or self._store.channel_since(name, now)
        document = build_digest(
            name,
            pending,
            rules,
            now,
            since,
            zone=self._config.zone_of(channel).key,
            max_items=channel.max_items,
            people=self._people(),
        )
        return document, [match.id for match in pending]

    def _send_pending(self, name: str) -> Outcome:
        """New digests until none of the channel's matches is left pending, one after
        another, oldest matches first; a failed one stops them."""
        total = self._send_new(name)
        while total.sent and not total.failed and self._store.pending(name, 1):
            total += self._send_new(name)
        if total.retry_at is not None and self._store.pending(name, 1):
            self._owed.add(name)  # the rest go out once the one waiting is delivered
        return total

    def _send_new(self, name: str) -> Outcome:
        document, match_ids = self._build(name)
        if document is None:
            log.debug("channel %s: nothing new to send", name)
            return Outcome()
        created = datetime.fromisoformat(document["generated_at"])
        try:
            rendered = asdict(self.render(name, document))
        except TemplateMistake as mistake:  # it fails on this digest: its matches stay pending
            log.error("channel %s: the digest waits until its template is fixed: %s", name, mistake)
            return Outcome(failed=True)
        record = DigestRecord(
            document["digest_id"], name, created, "pending", 0, document, rendered=rendered
        )
        if not self._store.create_digest(record, match_ids):
            log.info("channel %s: another process took these matches; nothing to send", name)
            return Outcome()
        return self._attempt(record)

    def _attempt(self, record: DigestRecord) -> Outcome:
        started, now = time.monotonic(), self._clock()
        if not self._store.claim_digest(record.id, self._holder, now, now + self._lease):
            return self._not_claimed(record)
        lease = _Lease(self._store, record, self._holder, self._clock, self._lease, started)
        with lease:
            try:
                self._deliver(record)
            except DeliveryError as error:
                return self._failed(record, error, lease)
            except Exception as error:  # a fault of ours must not lose the digest: retry it
                log.exception("channel %s: digest %s", record.channel, record.id)
                error = DeliveryError(f"{type(error).__name__}: {error}")
                return self._failed(record, error, lease)
            counts = record.document["counts"]
            log.info(
                "channel %s: digest %s sent (%s, %s)",
                record.channel,
                record.id,
                plural(counts["articles"], "article"),
                plural(counts["matches"], "match", "matches"),
            )
            self._mark_sent(record, lease)
        return Outcome(sent=1)

    def _deliver(self, record: DigestRecord) -> None:
        rendered = (
            Rendered(**record.rendered)
            if record.rendered is not None
            else self.render(record.channel, record.document)
        )
        channel = self._channels[record.channel]
        notifier_for(channel, self._clients).deliver(record.document, rendered)

    def _not_claimed(self, record: DigestRecord) -> Outcome:
        """Why the digest could not be claimed: sent, not due, or being sent elsewhere."""
        now = self._clock()
        found = [d for d in self._store.unsent_digests(record.channel) if d.id == record.id]
        if not found:
            log.info(
                "channel %s: another process took care of digest %s", record.channel, record.id
            )
            return Outcome()
        claimed_until, due = found[0].claimed_until, found[0].next_attempt_at
        if claimed_until is not None and claimed_until > now:
            log.info(
                "channel %s: digest %s is being sent by another process (its claim runs to %s)",
                record.channel,
                record.id,
                claimed_until.isoformat(timespec="seconds"),
            )
            return Outcome(retry_at=claimed_until, elsewhere=True)
        return Outcome(retry_at=due if due is not None and due > now else now)

    def _mark_sent(self, record: DigestRecord, lease: _Lease) -> None:
        """Mark the delivered digest sent, trying again while its claim keeps others off it;
        if the claim runs out first, this process still never sends it again."""
        pauses = itertools.chain((0.25, 0.5, 1.0), itertools.repeat(2.0))  # seconds
        for tries, pause in enumerate(pauses):
            try:
                self._store.mark_sent(record.id, self._clock())
                return
            except Exception as error:
                if time.monotonic() + pause >= lease.expires:
                    self._unmarked.add(record.id)
                    log.error(
                        "channel %s: digest %s was delivered but cannot be marked sent: %s;"
                        " another process may send it again (with the same id)",
                        record.channel,
                        record.id,
                        error,
                    )
                    return
                if tries == 0:
                    log.warning(
                        "channel %s: digest %s was delivered but is not marked sent yet: %s;"
                        " trying again while it is claimed",
                        record.channel,
                        record.id,
                        error,
                    )
            time.sleep(pause)

    def _mark_again(self, record: DigestRecord) -> Outcome:
        """A digest this process delivered but could not mark sent: mark it, never resend."""
        try:
            self._store.mark_sent(record.id, self._clock())
        except Exception as error:
            log.warning(
                "channel %s: digest %s was delivered; it still cannot be marked sent: %s",
                record.channel,
                record.id,
                error,
            )
            return Outcome(retry_at=self._clock() + self._lease)
        self._unmarked.discard(record.id)
        log.info("channel %s: digest %s is now marked sent", record.channel, record.id)
        return Outcome()

    def _failed(self, record: DigestRecord, error: DeliveryError, lease: _Lease) -> Outcome:
        now = self._clock()
        retry = self._channels[record.channel].retry
        first = record.first_failure_at or now
        due = next_attempt(retry, error, record.attempts + 1, first, now, self._spread())
        try:
            self._store.record_failure(record.id, str(error), now, due)
        except Exception as store_error:  # the claim, left to run out, delays the retry
            log.error(
                "channel %s: digest %s not delivered: %s; the failure cannot be recorded: %s;"
                " next attempt after %s",
                record.channel,
                record.id,
                error,
                store_error,
                lease.until.isoformat(timespec="seconds"),
            )
            return Outcome(failed=True, retry_at=lease.until)
        if due is not None:
            log.warning(
                "channel %s: digest %s not delivered: %s; next attempt at %s",
                record.channel,
                record.id,
                error,
                due.isoformat(timespec="seconds"),
            )
            return Outcome(failed=True, retry_at=due)
        log.error(
            "channel %s: digest %s not delivered, given up: %s;"
            " 'wirewatch digest --retry-dead %s' sends it again",
            record.channel,
            record.id,
            error,
            record.channel,
        )
        return Outcome(failed=True, dead=1)


class _Lease:
    """Renews this process's claim on a digest while it is delivered and marked sent."""

    def __init__(
        self,
        store: Store,
        record: DigestRecord,
        holder: str,
        clock: Clock,
        lease: timedelta,
        claimed: float,  # time.monotonic() when the claim was taken
    ) -> None:
        self._store, self._record, self._holder = store, record, holder
        self._clock, self._lease = clock, lease
        self.until = clock() + lease  # when the claim runs out, as the store has it (or later)
        self.expires = claimed + lease.total_seconds()  # the same, as this process counts it
        self._done = threading.Event()
        self._renewer = threading.Thread(target=self._renew, name=f"lease:{record.id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._renewer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._done.set()
        self._renewer.join()

    def _renew(self) -> None:
        every = self._lease.total_seconds() / 3
        while not self._done.wait(every):
            started, until = time.monotonic(), self._clock() + self._lease
            try:
                kept = self._store.renew_claim(self._record.id, self._holder, until)
            except Exception as error:
                log.warning(
                    "channel %s: digest %s: its claim cannot be renewed: %s",
                    self._record.channel,
                    self._record.id,
                    error,
                )
                continue
            if not kept:  # marked sent meanwhile, or taken over after a long stall
                return
            self.until, self.expires = until, started + self._lease.total_seconds()
