"""When each channel's schedule fires: APScheduler triggers for parsed `schedule:` values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from worker.settings.schedule import Schedule, cron_fields

__all__ = ["next_due", "period", "trigger"]


def period(schedule: Schedule, poll: timedelta) -> timedelta:
    """The interval of an `every` schedule; for an immediate one, how often it looks for
    matches stored by another process (`poll`)."""
    return schedule.interval if schedule.interval is not None else poll


def trigger(
    schedule: Schedule, timezone: ZoneInfo, poll: timedelta, last_run: datetime | None = None
) -> BaseTrigger:
    """The APScheduler trigger of `schedule` in `timezone`; a period counts from `last_run`,
    so that a restart does not push the next digest back."""
    if schedule.cron is not None:
        return _CronOncePerSlot(**cron_fields(schedule.cron), timezone=timezone)
    every = period(schedule, poll)
    start = None if last_run is None else last_run + every
    return IntervalTrigger(seconds=every.total_seconds(), start_date=start, timezone=timezone)


def next_due(
    schedule: Schedule, last_run: datetime, timezone: ZoneInfo, poll: timedelta
) -> datetime:
    """The first time `schedule` fires after `last_run` (an aware datetime)."""
    if schedule.cron is None:
        return last_run + period(schedule, poll)
    cron = trigger(schedule, timezone, poll)
    fire: datetime | None = cron.get_next_fire_time(last_run, last_run)
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
