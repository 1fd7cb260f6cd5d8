"""What one send of a channel came to: the deliveries made, and what waits; and the
fields of a log line about one delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from worker.model import Delivery

__all__ = ["Outcome", "fields_of"]


@dataclass(frozen=True)
class Outcome:
    """What one send of a channel came to."""

    sent: int = 0  # digests delivered
    failed: bool = False  # an attempt failed
    retry_at: datetime | None = None  # when the digest now waiting is due again
    dead: int = 0  # digests given up on
    held: bool = False  # new matches wait behind a digest waiting for a retry
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


def fields_of(delivery: Delivery, event: str, **more: object) -> dict[str, object]:
    """What a log line about `delivery` says in fields (`--log-format json`)."""
    return {"event": event, "channel": delivery.channel, "digest": delivery.id, **more}
