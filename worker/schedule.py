"""When each channel sends: parse `schedule:` strings into APScheduler triggers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

__all__ = ["Schedule", "parse_duration", "parse_schedule"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# How soon an `immediate` channel sends after a match: long enough to batch the
# articles of one burst (a scraper dropping ten files) into one digest.
IMMEDIATE_DELAY = timedelta(seconds=2)


@dataclass(frozen=True)
class Schedule:
    """A parsed `schedule:` value: a cron line, a fixed interval or `immediate`."""

    text: str
    cron: str | None = None
    interval: timedelta | None = None

    @property
    def immediate(self) -> bool:
        return self.cron is None and self.interval is None

    def trigger(self, timezone: ZoneInfo) -> BaseTrigger:
        """The APScheduler trigger for this schedule in `timezone`."""
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=timezone)
        return IntervalTrigger(seconds=self.every.total_seconds(), timezone=timezone)

    @property
    def every(self) -> timedelta:
        return self.interval if self.interval is not None else IMMEDIATE_DELAY

    def next_due(self, last_run: datetime, timezone: ZoneInfo) -> datetime:
        """The first time this schedule fires after `last_run` (an aware datetime)."""
        if self.cron is None:
            return last_run + self.every
        fire: datetime | None = self.trigger(timezone).get_next_fire_time(None, last_run)
        assert fire is not None  # a valid crontab always fires again
        return fire


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
        CronTrigger.from_crontab(value, timezone=ZoneInfo("UTC"))
    except ValueError as error:
        raise ValueError(f"'{value}' is not a valid cron line: {error}") from None
    return Schedule(text=value, cron=value)
