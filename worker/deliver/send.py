"""One attempt at a digest: claim it, hand it to the channel's notifier, record the outcome.
The per-delivery error boundary: whatever the attempt does, the digest is not lost."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from worker.deliver.claim import Lease
from worker.deliver.outcome import Outcome, fields_of
from worker.deliver.record import Recorder
from worker.errors import DeliveryError
from worker.model import Delivery, Digest, Rendered
from worker.notify import Clients, notifier_for
from worker.settings.config import Config
from worker.store import Deliveries
from worker.wording import plural

__all__ = ["Sender"]

log = logging.getLogger(__name__)


class Sender:
    """Attempts deliveries, each under a claim in the store."""

    def __init__(
        self,
        config: Config,
        deliveries: Deliveries,
        clients: Clients,
        render: Callable[[str, Digest], Rendered],
        recorder: Recorder,
        clock: Callable[[], datetime],
        holder: str,
    ) -> None:
        self._config = config
        self._deliveries = deliveries
        self._clients = clients
        self._render = render  # for a digest stored without its rendered forms
        self._recorder = recorder
        self._clock = clock
        self._lease = config.timing.lease
        self._holder = holder  # whose claim it is: this worker

    def attempt(self, delivery: Delivery) -> Outcome:
        """Deliver the digest once, if it can be claimed; what came of it."""
        if self._recorder.delivered_before(delivery):
            return self._recorder.sent_again(delivery, self._lease)
        started, now = time.monotonic(), self._clock()
        if not self._deliveries.claim_digest(delivery.id, self._holder, now, now + self._lease):
            return self._not_claimed(delivery)
        lease = Lease(self._deliveries, delivery, self._holder, self._clock, self._lease, started)
        with lease:
            try:
                self._notify(delivery)
            except DeliveryError as error:
                return self._recorder.failed(delivery, error, lease)
            except Exception as error:  # a fault of ours must not lose the digest: retry it
                fault = DeliveryError(f"{type(error).__name__}: {error}")
                fields = fields_of(delivery, "delivery.fault", error=str(fault))
                log.exception("channel %s: digest %s", delivery.channel, delivery.id, extra=fields)
                return self._recorder.failed(delivery, fault, lease)
            counts = delivery.digest.counts
            log.info(
                "channel %s: digest %s sent (%s, %s)",
                delivery.channel,
                delivery.id,
                plural(counts.articles, "article"),
                plural(counts.matches, "match", "matches"),
                extra=fields_of(
                    delivery,
                    "digest.sent",
                    attempt=delivery.attempts + 1,
                    articles=counts.articles,
                    matches=counts.matches,
                ),
            )
            self._recorder.sent(delivery, lease)
        return Outcome(sent=1)

    def _notify(self, delivery: Delivery) -> None:
        rendered = delivery.rendered or self._render(delivery.channel, delivery.digest)
        channel = self._config.channels[delivery.channel]
        notifier_for(channel, self._clients).deliver(delivery.digest, rendered)

    def _not_claimed(self, delivery: Delivery) -> Outcome:
        """Why the digest could not be claimed: sent, not due, or being sent elsewhere."""
        now = self._clock()
        found = [
            d for d in self._deliveries.unsent_digests(delivery.channel) if d.id == delivery.id
        ]
        if not found:
            log.info(
                "channel %s: another process took care of digest %s",
                delivery.channel,
                delivery.id,
                extra=fields_of(delivery, "digest.sent_elsewhere"),
            )
            return Outcome()
        claimed_until, due = found[0].claimed_until, found[0].next_attempt_at
        if claimed_until is not None and claimed_until > now:
            log.info(
                "channel %s: digest %s is being sent by another process (its claim runs to %s)",
                delivery.channel,
                delivery.id,
                claimed_until.isoformat(timespec="seconds"),
                extra=fields_of(delivery, "digest.claimed_elsewhere"),
            )
            return Outcome(retry_at=claimed_until, elsewhere=True)
        return Outcome(retry_at=due if due is not None and due > now else now)
