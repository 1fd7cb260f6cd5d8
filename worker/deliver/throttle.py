"""How many digests a channel's throttle lets out: a pure function of those already made."""

from __future__ import annotations

from datetime import datetime

from worker.settings.config import Throttle

__all__ = ["throttled", "window_start"]


def window_start(throttle: Throttle, now: datetime) -> datetime:
    """Where the trailing window the throttle counts digests in begins."""
    return now - throttle.per


def throttled(throttle: Throttle | None, made_in_window: int) -> bool:
    """Whether a channel that made `made_in_window` digests in the window must wait."""
    return throttle is not None and made_in_window >= throttle.max
