"""The durable outbox: each digest is stored before it is sent, and retried until delivered.

A digest is written to the store with the matches it covers before the first attempt
(builder.py), claimed for a lease while it is sent (send.py, claim.py), and marked sent
only once the receiver took it; a failed attempt is due again after a growing delay, and
after `give_up_after` (or at once, when the receiver refused it for good) it is dead until
`wirewatch digest --retry-dead` (record.py). Every state lives in the store, so any
process that opens it can take over.

Within a channel digests go out in order: a digest waiting for a retry holds back the
next one. Channels never wait for each other: each has its own lock.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from worker.deliver.builder import DigestBuilder
from worker.deliver.outcome import Outcome
from worker.deliver.record import Recorder
from worker.deliver.send import Sender
from worker.digest.build import PeopleFinder
from worker.digest.render import Renderer
from worker.errors import TemplateMistake
from worker.health import Health
from worker.model import Delivery, Digest, Rendered
from worker.notify import Clients
from worker.rules.ruleset import RuleSet
from worker.settings.config import Config
from worker.store import Deliveries, DigestQueue

__all__ = ["Outbox", "OutboxStore"]

Clock = Callable[[], datetime]


class OutboxStore(DigestQueue, Deliveries, Protocol):
    """What the outbox needs of the store: the digest queue and the deliveries."""


class Outbox:
    """Builds, stores and delivers the digests of every channel (the per-delivery boundary)."""

    def __init__(
        self,
        config: Config,
        store: OutboxStore,
        clients: Clients,
        rules: Callable[[], RuleSet],
        renderers: Mapping[str, Renderer] | None = None,
        people: Callable[[], PeopleFinder] = lambda: lambda article: (),
        clock: Clock = lambda: datetime.now(UTC),
        spread: Callable[[], float] = random.random,
        worker: str | None = None,
        health: Health | None = None,
        attempted: Callable[[Delivery, Outcome], None] = lambda delivery, outcome: None,
    ) -> None:
        self._store = store
        self._attempted = attempted  # told what came of each attempt (for /metrics)
        self._clock = clock
        self._builder = DigestBuilder(
            config,
            store,
            rules,
            people,
            renderers or {name: Renderer() for name in config.channels},
            clock,
        )
        self._recorder = Recorder(config, store, clock, spread, health)
        holder = worker or uuid.uuid4().hex  # whose claims these are
        self._sender = Sender(
            config, store, clients, self._builder.render, self._recorder, clock, holder
        )
        self._locks = {name: threading.Lock() for name in config.channels}
        self._builder.take_channels()

    def send(self, name: str, new: bool = True) -> Outcome:
        """Deliver the channel's digests that are due and, with `new`, its new matches."""
        with self._locks[name]:
            due = self._deliver_due(name)
            if due.retry_at is not None:  # the new digest goes out after the one waiting
                return due + Outcome(held=new)
            if not new:
                return due
            sent = self._send_new(name)
            # Matches left behind a digest now waiting go out once it is delivered.
            held = sent.retry_at is not None and self._builder.has_pending(name)
            return due + sent + Outcome(held=held)

    def revive(self, name: str) -> int:
        """Make the channel's dead digests due again; how many there were."""
        return self._store.revive_dead(name, self._clock())

    def take_rules(self) -> None:
        """Record which rules each channel takes now (after the rules changed)."""
        self._builder.take_channels()

    def use_renderers(self, renderers: Mapping[str, Renderer]) -> None:
        """Render from now on with these templates."""
        self._builder.use_renderers(renderers)

    def preview(self, name: str) -> Digest | None:
        """The digest of the channel's new matches, as it would be sent now; None if none."""
        return self._builder.preview(name)

    def render(self, name: str, digest: Digest) -> Rendered:
        """The digest in the forms the channel's templates give."""
        return self._builder.render(name, digest)

    def _deliver_due(self, name: str) -> Outcome:
        """Older digests first; stop at one that waits for a retry (a dead one is passed)."""
        total = Outcome()
        self._recorder.look_for_revived(name)
        for delivery in self._store.unsent_digests(name):
            due = delivery.next_attempt_at
            if due is not None and due > self._clock():
                return total + Outcome(retry_at=due)
            total += self._attempt(delivery)
            if total.retry_at is not None:
                return total
        return total

    def _send_new(self, name: str) -> Outcome:
        """One digest of everything pending for the channel: a backlog never floods it."""
        try:
            delivery = self._builder.next_delivery(name)
        except TemplateMistake:  # it fails on this digest: its matches stay pending
            return Outcome(failed=True)
        return Outcome() if delivery is None else self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> Outcome:
        outcome = self._sender.attempt(delivery)
        self._attempted(delivery, outcome)
        return outcome
