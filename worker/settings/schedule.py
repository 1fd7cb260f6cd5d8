"""`schedule:` and duration values as the user writes them: `0 8 * * 1-5`, `every 15m`,
`immediate`, `30s`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

__all__ = ["Schedule", "cron_fields", "parse_duration", "parse_schedule"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Schedule:
    """A parsed `schedule:` value: a cron line, a fixed interval or `immediate`."""

    text: str
    cron: str | None = None
    interval: timedelta | None = None

    @property
    def immediate(self) -> bool:
        return self.cron is None and self.interval is None


def cron_fields(line: str) -> dict[str, str]:
    """A 5-field cron line as CronTrigger keyword arguments; ValueError when a field is wrong."""
    minute, hour, day, month, weekday = line.split()
    return {
        "minute": minute,
        "hour": hour,
        "day": day,
        "month": month,
        "day_of_week": _weekday_names(weekday),
    }


# Cron counts weekdays from Sunday (0, and 7 too); APScheduler 3 counts from Monday,
# and its from_crontab passes the numbers through (agronholm/apscheduler#286), so
# "1-5" would mean Tuesday to Saturday. Naming the days says what cron means.
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_WEEKDAY_ITEM = re.compile(r"(\*|\w+)(?:-(\w+))?(?:/(\d+))?")


def _weekday_names(field: str) -> str:
    """A cron day-of-week field (`1-5`, `0,6`, `*/2`, `sun`) as APScheduler day names."""
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        days |= _weekdays_of(item)
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def _weekdays_of(item: str) -> set[int]:
    found = _WEEKDAY_ITEM.fullmatch(item)
    if not found:
        raise ValueError(f"'{item}' is not a day of the week; use 0-7 or sun-sat")
    first, last, step = found.groups()
    start, end = (0, 6) if first == "*" else (_weekday(first), _weekday(last or first))
    if end < start:
        raise ValueError(f"'{item}' runs backwards; write the earlier day first")
    return {day % 7 for day in range(start, end + 1, int(step or 1))}


def _weekday(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text[:3] in _DAY_NAMES:
        return _DAY_NAMES.index(text[:3])
    raise ValueError(f"'{text}' is not a day of the week; use 0-7 or sun-sat")


def parse_duration(text: str) -> timedelta:
    """`30s`, `15m`, `2h` or `1d` (fractions too: `0.5s`); ValueError when it is not one."""
    found = _DURATION.fullmatch(text.strip())
    if not found:
        raise ValueError(
            f"'{text.strip()}' is not a duration; write a number and s, m, h or d{_AS}"
        )
    amount = float(found.group(1))
    if amount <= 0:
        raise ValueError(f"'{text.strip()}' is no time at all; write more than 0{_AS}")
    try:
        duration = timedelta(**{_UNITS[found.group(2).lower()]: amount})
    except OverflowError:
        duration = timedelta.max
    if duration > _LONGEST:
        raise ValueError(f"'{text.strip()}' is more than a century; write at most 36500d")
    return duration


# No window, mute or age needs more; past it, dates cannot be counted back or on.
_LONGEST = timedelta(days=36500)


_AS = ", as 30s, 15m, 2h or 1d"


def parse_schedule(text: str) -> Schedule:
    """Parse `0 8 * * 1-5`, `every 15m` or `immediate`; ValueError says what is wrong."""
    value = text.strip()
    if value.lower() == "immediate":
        return Schedule(text=value)
    if value.lower().startswith("every"):
        try:
            interval = parse_duration(value[len("every") :])
        except ValueError:
            raise ValueError(
                f"'{value}' is not a period; write a number above 0 and a unit, like 'every 15m'"
            ) from None
        return Schedule(text=value, interval=interval)
    if len(value.split()) != 5:
        raise ValueError(
            f"'{value}' is not a schedule; use a 5-field cron line like '0 8 * * 1-5', "
            "'every 15m' (s, m, h, d) or 'immediate'"
        )
    try:
        CronTrigger(**cron_fields(value), timezone=ZoneInfo("UTC"))
    except ValueError as error:
        raise ValueError(f"'{value}' is not a valid cron line: {error}") from None
    return Schedule(text=value, cron=value)
