"""Schedules as written: parsing cron lines, periods and durations, and what is wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from worker.settings.schedule import parse_duration, parse_schedule


@pytest.mark.parametrize(
    ("text", "cron", "interval"),
    [
        ("0 8 * * 1-5", "0 8 * * 1-5", None),
        ("every 15m", None, timedelta(minutes=15)),
        ("every 2h", None, timedelta(hours=2)),
        ("every 30s", None, timedelta(seconds=30)),
        ("Every 1d", None, timedelta(days=1)),
        ("immediate", None, None),
    ],
)
def test_parse_schedule(text: str, cron: str | None, interval: timedelta | None) -> None:
    schedule = parse_schedule(text)
    assert (schedule.cron, schedule.interval) == (cron, interval)
    assert schedule.immediate is (text == "immediate")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hourly", "'hourly' is not a schedule; use a 5-field cron line like '0 8 * * 1-5', "),
        ("every 0m", "'every 0m' is not a period; write a number above 0 and a unit"),
        ("every fortnight", "'every fortnight' is not a period"),
        ("0 25 * * *", "'0 25 * * *' is not a valid cron line"),
        ("0 8 * * 5-1", "'0 8 * * 5-1' is not a valid cron line: '5-1' runs backwards"),
        ("0 8 * * funday", "'0 8 * * funday' is not a valid cron line: 'funday' is not a day"),
    ],
)
def test_bad_schedules_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("*", r"\*")):
        parse_schedule(text)


def test_durations() -> None:
    assert parse_duration("0.5s") == timedelta(milliseconds=500)
    assert parse_duration(" 6h ") == timedelta(hours=6)
    with pytest.raises(ValueError, match="'5 minutes' is not a duration"):
        parse_duration("5 minutes")
    assert parse_duration("36500d") == timedelta(days=36500)
    for endless in ("36501d", "99999999999d"):  # no date lies that far back or on
        with pytest.raises(ValueError, match=f"'{endless}' is more than a century"):
            parse_duration(endless)
