"""When each channel sends: parse `schedule:` strings into APScheduler triggers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

__all__ = ["IMMEDIATE_DELAY", "Schedule", "parse_duration", "parse_schedule"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# How soon an `immediate` channel sends after a match: long enough to batch the
# articles of one burst (a scraper dropping ten files) into one digest.
IMMEDIATE_DELAY = timedelta(seconds=2)
# How often an `immediate` channel looks for matches stored by another process
# (`wirewatch ingest`), which the daemon is not told about.
IMMEDIATE_POLL = timedelta(seconds=30)


@dataclass(frozen=True)
class Schedule:
    """A parsed `schedule:` value: a cron line, a fixed interval or `immediate`."""

    text: str
    cron: str | None = None
    interval: timedelta | None = None

    @property
    def immediate(self) -> bool:
        return self.cron is None and self.interval is None

    def trigger(self, timezone: ZoneInfo, last_run: datetime | None = None) -> BaseTrigger:
        """The APScheduler trigger for this schedule in `timezone`; a period counts from
        `last_run`, so that a restart does not push the next digest back."""
        if self.cron is not None:
            return _cron_trigger(self.cron, timezone)
        start = None if last_run is None else last_run + self.every
        return IntervalTrigger(
            seconds=self.every.total_seconds(), start_date=start, timezone=timezone
        )

    @property
    def every(self) -> timedelta:
        """The interval of an `every` schedule; an immediate one's poll for other processes."""
        return self.interval if self.interval is not None else IMMEDIATE_POLL

    def next_due(self, last_run: datetime, timezone: ZoneInfo) -> datetime:
        """The first time this schedule fires after `last_run` (an aware datetime)."""
        if self.cron is None:
            return last_run + self.every
        fire: datetime | None = self.trigger(timezone).get_next_fire_time(last_run, last_run)
        assert fire is not None  # a valid crontab always fires again
        return fire


class _CronOncePerSlot(CronTrigger):  # type: ignore[misc]  # APScheduler has no type hints
    """A cron trigger that fires once for each wall-clock time the clocks go back over.

    When summer time ends, 02:00 to 03:00 comes twice; a digest due at 02:30 is sent in
    the first pass, and no slot of the second pass is sent again.
    """

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        # APScheduler passes times in the scheduler's zone, which may not be the channel's;
        # across a change of the clocks it only counts right in the trigger's own zone.
        if previous_fire_time is not None:
            previous_fire_time = previous_fire_time.astimezone(self.timezone)
        now = now.astimezone(self.timezone)
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        while fire is not None and _second_pass(fire):
            fire = super().get_next_fire_time(fire, fire)
        # A slot in the hour the clocks skip is a time that never shows on them: 02:30 is
        # an hour after 01:30 and so comes at 03:30, which is what the log should say.
        return None if fire is None else fire.astimezone(UTC).astimezone(self.timezone)


def _second_pass(moment: datetime) -> bool:
    """Whether a wall-clock time is the second of the two it names when clocks go back."""
    local = moment.replace(tzinfo=None)
    first = local.replace(tzinfo=moment.tzinfo, fold=0).utcoffset()
    second = local.replace(tzinfo=moment.tzinfo, fold=1).utcoffset()
    return first != second and moment.utcoffset() == second


def _cron_trigger(line: str, timezone: ZoneInfo) -> CronTrigger:
    minute, hour, day, month, weekday = line.split()
    return _CronOncePerSlot(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekday_names(weekday),
        timezone=timezone,
    )


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
    amount = float(found.group(1)) if found else 0
    if not found or amount <= 0:
        raise ValueError(f"'{text.strip()}' is not a duration; write a number and s, m, h or d")
    return timedelta(**{_UNITS[found.group(2).lower()]: amount})


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
        _cron_trigger(value, ZoneInfo("UTC"))
    except ValueError as error:
        raise ValueError(f"'{value}' is not a valid cron line: {error}") from None
    return Schedule(text=value, cron=value)
