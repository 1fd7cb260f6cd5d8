"""When a digest the receiver did not take is tried again: the retry policy, pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from worker.errors import DeliveryError
from worker.settings.config import RetrySettings

__all__ = ["next_attempt"]


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
    due, last = now + delay, first_failure + retry.give_up_after
    if now >= last or (error.retry_after is not None and due > last):
        return None  # its window is over, or the receiver asks for a wait past it
    return min(due, last)  # a delay past the window ends in a last try when it closes
