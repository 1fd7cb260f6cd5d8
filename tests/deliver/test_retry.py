"""The retry policy: when a digest the receiver did not take is tried again (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.deliver.retry import next_attempt
from worker.errors import DeliveryError
from worker.settings.config import RetrySettings

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
DEFAULT = RetrySettings()


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [
        (1, timedelta(seconds=5)),
        (2, timedelta(minutes=1)),
        (3, timedelta(minutes=5)),
        (4, timedelta(minutes=30)),
        (5, timedelta(hours=2)),
        (6, timedelta(hours=6)),
        (7, timedelta(hours=6)),  # the last delay repeats
    ],
)
def test_default_backoff(attempts: int, delay: timedelta) -> None:
    temporary = DeliveryError("503 Service Unavailable")
    assert next_attempt(DEFAULT, temporary, attempts, T0, T0, spread=0.5) == T0 + delay


def test_jitter_spreads_the_delay_by_up_to_a_fifth() -> None:
    temporary = DeliveryError("timed out")
    earliest = next_attempt(DEFAULT, temporary, 2, T0, T0, spread=0.0)
    latest = next_attempt(DEFAULT, temporary, 2, T0, T0, spread=0.999999)
    assert earliest == T0 + timedelta(seconds=48)
    assert latest is not None
    assert latest.replace(microsecond=0) == T0 + timedelta(seconds=71)


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    busy = DeliveryError("429 Too Many Requests", retry_after=120)
    assert next_attempt(DEFAULT, busy, 1, T0, T0, spread=0.5) == T0 + timedelta(minutes=2)
    soon = DeliveryError("429 Too Many Requests", retry_after=1)
    assert next_attempt(DEFAULT, soon, 1, T0, T0, spread=0.5) == T0 + timedelta(seconds=5)


@pytest.mark.parametrize("seconds", [25 * 3600, 10.0**14, float("inf")])
def test_a_retry_after_beyond_the_limit_gives_up_at_once(seconds: float) -> None:
    too_long = DeliveryError("429 Too Many Requests", retry_after=seconds)
    assert next_attempt(DEFAULT, too_long, 1, T0, T0, spread=0.5) is None


def test_permanent_failures_and_the_limit_give_up() -> None:
    assert next_attempt(DEFAULT, DeliveryError("400", permanent=True), 1, T0, T0, 0.5) is None
    late = T0 + timedelta(hours=20)  # a 6-hour delay would pass the day: tried at its end
    assert next_attempt(DEFAULT, DeliveryError("503"), 9, T0, late, 0.5) == T0 + timedelta(days=1)
    over = T0 + timedelta(days=1)  # that last try failed too
    assert next_attempt(DEFAULT, DeliveryError("503"), 10, T0, over, 0.5) is None
