"""When the real APScheduler triggers fire, with the clock in hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from worker.deliver.schedules import next_due, period, trigger
from worker.settings.schedule import Schedule, parse_schedule

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
POLL = timedelta(seconds=30)


def fire_times(
    schedule: str, zone: ZoneInfo, start: datetime, count: int, asked_in: ZoneInfo | None = None
) -> list[str]:
    """The next `count` fire times after `start`, as local wall-clock times with offsets,
    asked for the way the scheduler asks: each just after the one before has fired, with
    times in the scheduler's zone (`asked_in`, the channel's own unless given)."""
    fires = trigger(parse_schedule(schedule), zone, POLL)
    asked = asked_in or zone
    previous, now, found = None, start.astimezone(asked), []
    for _ in range(count):
        fire = fires.get_next_fire_time(previous, now)
        found.append(fire.strftime("%a %m-%d %H:%M%z"))
        previous = fire.astimezone(asked)
        now = (fire.astimezone(UTC) + timedelta(seconds=1)).astimezone(asked)
    return found


@pytest.mark.parametrize(
    ("schedule", "zone", "start", "expected"),
    [
        (  # the clocks go forward in Berlin on 29 March: 08:00 stays 08:00
            "0 8 * * *",
            BERLIN,
            datetime(2026, 3, 28, 9, 0, tzinfo=UTC),
            ["Sun 03-29 08:00+0200", "Mon 03-30 08:00+0200"],
        ),
        (  # and back on 25 October
            "0 8 * * *",
            BERLIN,
            datetime(2026, 10, 24, 9, 0, tzinfo=UTC),
            ["Sun 10-25 08:00+0100", "Mon 10-26 08:00+0100"],
        ),
        (  # 02:30 comes twice when the clocks go back: one digest, not two
            "30 2 * * *",
            BERLIN,
            datetime(2026, 10, 24, 12, 0, tzinfo=UTC),
            ["Sun 10-25 02:30+0200", "Mon 10-26 02:30+0100"],
        ),
        (  # 02:30 does not exist when they go forward: sent as soon as it has passed
            "30 2 * * *",
            BERLIN,
            datetime(2026, 3, 28, 12, 0, tzinfo=UTC),
            ["Sun 03-29 03:30+0200", "Mon 03-30 02:30+0200"],
        ),
        (
            "0 8 * * *",
            NEW_YORK,
            datetime(2026, 3, 7, 14, 0, tzinfo=UTC),
            ["Sun 03-08 08:00-0400", "Mon 03-09 08:00-0400"],
        ),
        (
            "30 1 * * *",
            NEW_YORK,
            datetime(2026, 10, 31, 12, 0, tzinfo=UTC),
            ["Sun 11-01 01:30-0400", "Mon 11-02 01:30-0500"],
        ),
        (  # weekdays as cron means them: Monday to Friday, across New York's change
            "0 8 * * 1-5",
            NEW_YORK,
            datetime(2026, 10, 30, 14, 0, tzinfo=UTC),
            ["Mon 11-02 08:00-0500", "Tue 11-03 08:00-0500"],
        ),
        (
            "0 9 * * 0",
            BERLIN,
            datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            ["Sun 11-29 09:00+0100", "Sun 12-06 09:00+0100"],
        ),
        (
            "0 9 * * 7",
            BERLIN,
            datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            ["Sun 11-29 09:00+0100", "Sun 12-06 09:00+0100"],
        ),
        (
            "0 9 * * sat,sun",
            BERLIN,
            datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            ["Sat 11-28 09:00+0100", "Sun 11-29 09:00+0100"],
        ),
    ],
)
def test_cron_fires_at_local_times(
    schedule: str, zone: ZoneInfo, start: datetime, expected: list[str]
) -> None:
    assert fire_times(schedule, zone, start, len(expected)) == expected


def test_several_slots_in_the_repeated_hour_are_each_sent_once() -> None:
    start = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert fire_times("*/30 2 * * *", BERLIN, start, 3) == [
        "Sun 10-25 02:00+0200",
        "Sun 10-25 02:30+0200",
        "Mon 10-26 02:00+0100",
    ]


@pytest.mark.parametrize("asked_in", [UTC, ZoneInfo("Asia/Shanghai"), NEW_YORK])
def test_a_channel_zone_other_than_the_schedulers_counts_the_same(asked_in: ZoneInfo) -> None:
    start = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    assert fire_times("30 2 * * *", BERLIN, start, 3, asked_in) == [
        "Sun 10-25 02:30+0200",  # and not again when 02:30 comes round a second time
        "Mon 10-26 02:30+0100",
        "Tue 10-27 02:30+0100",
    ]


def test_weekdays_skip_the_weekend() -> None:
    days = fire_times("0 8 * * 1-5", BERLIN, datetime(2026, 11, 20, 12, 0, tzinfo=UTC), 5)
    assert [day[:3] for day in days] == ["Mon", "Tue", "Wed", "Thu", "Fri"]


def test_hourly_cron_goes_on_through_the_changes() -> None:
    start = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert fire_times("0 * * * *", BERLIN, start, 4) == [
        "Sun 10-25 02:00+0200",
        "Sun 10-25 03:00+0100",  # the repeated 02:00 is not a second slot
        "Sun 10-25 04:00+0100",
        "Sun 10-25 05:00+0100",
    ]


@pytest.mark.parametrize(
    ("last_run", "due"),
    [
        # down since 07:59 on Monday, back at 10:00 on Wednesday: Monday's slot is due once
        (datetime(2026, 11, 23, 6, 59, tzinfo=UTC), datetime(2026, 11, 23, 7, 0, tzinfo=UTC)),
        # it ran at 08:00 today: the next slot is tomorrow
        (datetime(2026, 11, 24, 7, 0, tzinfo=UTC), datetime(2026, 11, 25, 7, 0, tzinfo=UTC)),
    ],
)
def test_next_due_after_the_last_run(last_run: datetime, due: datetime) -> None:
    assert next_due(parse_schedule("0 8 * * *"), last_run, BERLIN, POLL) == due


def test_immediate_and_every_are_intervals() -> None:
    # an immediate channel also looks now and then for what another process matched
    assert period(Schedule("immediate"), POLL) == POLL
    last_run = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    due = next_due(parse_schedule("every 5m"), last_run, BERLIN, POLL)
    assert due == datetime(2026, 11, 24, 9, 5, tzinfo=UTC)


def test_a_period_counts_from_the_last_run_not_from_a_restart() -> None:
    last_run = datetime(2026, 11, 24, 10, 3, tzinfo=UTC)
    restarted = datetime(2026, 11, 24, 10, 53, tzinfo=UTC)
    hourly = trigger(parse_schedule("every 1h"), BERLIN, POLL, last_run)
    assert hourly.get_next_fire_time(None, restarted) == datetime(2026, 11, 24, 11, 3, tzinfo=UTC)
