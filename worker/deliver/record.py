"""What became of an attempt, written down: sent, due again after a back-off, or dead.

The store is the record. The one thing kept in memory is a digest delivered that the
store would not let us mark sent: it is marked as soon as the store takes writes again,
and this process never sends it again meanwhile. Should the process die first, another
sends it once more when the claim runs out, with the same id, for the receiver to drop.

A digest given up on puts its channel in trouble (`channel:NAME`, for `/healthz` and the
`alerts:` channels) until the channel delivers a digest again, or has no dead digest left
(`wirewatch digest --retry-dead` sent them).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from worker.deliver.claim import Lease
from worker.deliver.outcome import Outcome, fields_of
from worker.deliver.retry import next_attempt
from worker.errors import DeliveryError
from worker.health import Health
from worker.model import Delivery
from worker.settings.config import Config
from worker.store import Deliveries

__all__ = ["Recorder"]

log = logging.getLogger(__name__)


class Recorder:
    """Writes the outcome of each attempt to the store."""

    def __init__(
        self,
        config: Config,
        deliveries: Deliveries,
        clock: Callable[[], datetime],
        spread: Callable[[], float],
        health: Health | None = None,
    ) -> None:
        self._config = config
        self._deliveries = deliveries
        self._clock = clock
        self._spread = spread
        self._health = health if health is not None else Health(clock)
        self._unmarked: set[str] = set()  # delivered, not yet marked sent: never resent

    def delivered_before(self, delivery: Delivery) -> bool:
        """Whether this process delivered the digest and has yet to mark it sent."""
        return delivery.id in self._unmarked

    def sent(self, delivery: Delivery, lease: Lease) -> None:
        """Mark the delivered digest sent, trying again while its claim keeps others off it."""
        pauses = itertools.chain((0.25, 0.5, 1.0), itertools.repeat(2.0))  # seconds
        for tries, pause in enumerate(pauses):
            try:
                self._deliveries.mark_sent(delivery.id, self._clock())
                self._health.report(_part(delivery.channel), None)
                return
            except Exception as error:
                if time.monotonic() + pause >= lease.expires:
                    self._unmarked.add(delivery.id)
                    log.error(
                        "channel %s: digest %s was delivered but cannot be marked sent: %s;"
                        " another process may send it again (with the same id)",
                        delivery.channel,
                        delivery.id,
                        error,
                        extra=fields_of(delivery, "digest.unmarked", error=str(error)),
                    )
                    return
                if tries == 0:
                    log.warning(
                        "channel %s: digest %s was delivered but is not marked sent yet: %s;"
                        " trying again while it is claimed",
                        delivery.channel,
                        delivery.id,
                        error,
                        extra=fields_of(delivery, "digest.unmarked", error=str(error)),
                    )
            time.sleep(pause)

    def sent_again(self, delivery: Delivery, lease: timedelta) -> Outcome:
        """Mark sent a digest this process delivered but could not mark; never resend it."""
        try:
            self._deliveries.mark_sent(delivery.id, self._clock())
        except Exception as error:
            log.warning(
                "channel %s: digest %s was delivered; it still cannot be marked sent: %s",
                delivery.channel,
                delivery.id,
                error,
                extra=fields_of(delivery, "digest.unmarked", error=str(error)),
            )
            return Outcome(retry_at=self._clock() + lease)
        self._unmarked.discard(delivery.id)
        self._health.report(_part(delivery.channel), None)
        fields = fields_of(delivery, "digest.marked_sent")
        log.info(
            "channel %s: digest %s is now marked sent", delivery.channel, delivery.id, extra=fields
        )
        return Outcome()

    def failed(self, delivery: Delivery, error: DeliveryError, lease: Lease) -> Outcome:
        """The attempt failed: due again after the channel's back-off, or dead."""
        now = self._clock()
        retry = self._config.channels[delivery.channel].retry
        first = delivery.first_failure_at or now
        attempt = delivery.attempts + 1
        due = next_attempt(retry, error, attempt, first, now, self._spread())
        fields = fields_of(delivery, "delivery.failed", attempt=attempt, error=str(error))
        try:
            self._deliveries.record_failure(delivery.id, str(error), now, due)
        except Exception as store_error:  # the claim, left to run out, delays the retry
            log.error(
                "channel %s: digest %s not delivered: %s; the failure cannot be recorded: %s;"
                " next attempt after %s",
                delivery.channel,
                delivery.id,
                error,
                store_error,
                lease.until.isoformat(timespec="seconds"),
                extra=fields,
            )
            return Outcome(failed=True, retry_at=lease.until)
        if due is not None:
            log.warning(
                "channel %s: digest %s not delivered: %s; next attempt at %s",
                delivery.channel,
                delivery.id,
                error,
                due.isoformat(timespec="seconds"),
                extra=fields | {"next_attempt": due.isoformat(timespec="seconds")},
            )
            return Outcome(failed=True, retry_at=due)
        log.error(
            "channel %s: digest %s not delivered, given up: %s;"
            " 'wirewatch digest --retry-dead %s' sends it again",
            delivery.channel,
            delivery.id,
            error,
            delivery.channel,
            extra=fields | {"event": "digest.dead"},
        )
        self._health.report(
            _part(delivery.channel),
            f"digest {delivery.id} given up: {error};"
            f" 'wirewatch digest --retry-dead {delivery.channel}' sends it again",
        )
        return Outcome(failed=True, dead=1)

    def look_for_revived(self, channel: str) -> None:
        """A channel in trouble for a dead digest is fine once none is dead any more."""
        part = _part(channel)
        in_trouble = self._health.trouble(part) is not None
        if in_trouble and self._deliveries.channel_totals(channel).dead == 0:
            self._health.report(part, None)


def _part(channel: str) -> str:
    return f"channel:{channel}"
