"""A process's claim on a digest it delivers: taken before an attempt, renewed while the
attempt lasts, and left to run out if the process dies, so that another takes over."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType

from worker.deliver.outcome import fields_of
from worker.errors import StateUnavailable
from worker.model import Delivery
from worker.store import Deliveries

__all__ = ["Lease"]

log = logging.getLogger(__name__)


class Lease:
    """Renews a claim on a digest, three times within each lease, until the block ends."""

    def __init__(
        self,
        deliveries: Deliveries,
        delivery: Delivery,
        holder: str,
        clock: Callable[[], datetime],
        lease: timedelta,
        claimed: float,  # time.monotonic() when the claim was taken
    ) -> None:
        self._deliveries, self._delivery, self._holder = deliveries, delivery, holder
        self._clock, self._lease = clock, lease
        self.until = clock() + lease  # when the claim runs out, as the store has it (or later)
        self.expires = claimed + lease.total_seconds()  # the same, as this process counts it
        self._done = threading.Event()
        self._renewer = threading.Thread(
            target=self._renew, name=f"lease:{delivery.id}", daemon=True
        )

    def __enter__(self) -> Lease:
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
                kept = self._deliveries.renew_claim(self._delivery.id, self._holder, until)
            except StateUnavailable:  # said once by the store; renewed again in a while
                continue
            except Exception as error:
                log.warning(
                    "channel %s: digest %s: its claim cannot be renewed: %s",
                    self._delivery.channel,
                    self._delivery.id,
                    error,
                    extra=fields_of(self._delivery, "claim.not_renewed", error=str(error)),
                )
                continue
            if not kept:  # marked sent meanwhile, or taken over after a long stall
                return
            self.until, self.expires = until, started + self._lease.total_seconds()
