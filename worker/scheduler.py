"""Send each channel's digest on its schedule, and its retries when they fall due.

APScheduler 3 runs the jobs in a thread pool with room for every channel at once, so one
slow or failing channel never delays another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from worker.outbox import Outcome, channel_rule_ids
from worker.pipeline import Pipeline
from worker.schedule import IMMEDIATE_DELAY, Schedule

__all__ = ["DigestScheduler"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class DigestScheduler:
    """One job per channel on its schedule, and one for the channel's next retry."""

    def __init__(self, pipeline: Pipeline, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._pipeline = pipeline
        self._clock = clock
        channels = pipeline.config.channels
        # A channel may have its scheduled job and a retry running at once.
        pool = ThreadPoolExecutor(max_workers=2 * len(channels) + 1)
        self._scheduler = BackgroundScheduler(
            timezone=pipeline.config.tz,
            executors={"default": pool},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def start(self) -> None:
        """Start the schedules; digests left undelivered by an earlier run are sent at once."""
        config = self._pipeline.config
        now = self._clock()
        for name, channel in config.channels.items():
            schedule, zone = channel.schedule_spec, config.zone_of(channel)
            due_now = _due_at_start(schedule, self._pipeline.store.last_run(name), now, zone)
            self._scheduler.add_job(
                self._scheduled,
                trigger=schedule.trigger(zone),
                args=[name, not schedule.immediate],
                id=f"digest:{name}",
                name=f"digest for {name}",
                **({"next_run_time": now} if due_now else {}),
            )
            if not due_now:
                self._retry_at(name, now)
        self._scheduler.start()
        for job in self._scheduler.get_jobs():
            if job.id.startswith("digest:") and job.next_run_time is not None:
                when = job.next_run_time.isoformat(sep=" ", timespec="seconds")
                log.info("channel %s: next digest at %s", job.id.removeprefix("digest:"), when)

    def matched(self, rule_ids: Collection[str]) -> None:
        """New matches of these rules: each immediate channel that takes them sends soon,
        together with whatever else matches before then."""
        rules = self._pipeline.rules
        for name, channel in self._pipeline.config.channels.items():
            if not channel.schedule_spec.immediate or f"soon:{name}" in self._soon():
                continue
            if set(rule_ids) & set(channel_rule_ids(channel, rules)):
                self._scheduler.add_job(
                    self._scheduled,
                    trigger="date",
                    run_date=self._clock() + IMMEDIATE_DELAY,
                    args=[name, False],
                    id=f"soon:{name}",
                    name=f"immediate digest for {name}",
                )

    def _soon(self) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs() if job.id.startswith("soon:")}

    def shutdown(self) -> None:
        """Stop scheduling and wait for the sends in flight."""
        self._scheduler.shutdown(wait=True)

    def _scheduled(self, name: str, remember_run: bool) -> None:
        self._follow(name, self._send(name, new=True))
        if remember_run:
            self._pipeline.store.record_run(name, self._clock())

    def _retry(self, name: str) -> None:
        self._follow(name, self._send(name, new=False))

    def _send(self, name: str, new: bool) -> Outcome:
        """The per-delivery error boundary: a fault is logged and the schedule carries on."""
        try:
            return self._pipeline.send_digest(name, new)
        except Exception:
            log.exception("channel %s: digest not sent", name)
            return Outcome(failed=True)

    def _follow(self, name: str, outcome: Outcome) -> None:
        if outcome.retry_at is not None:
            self._retry_at(name, outcome.retry_at)

    def _retry_at(self, name: str, when: datetime) -> None:
        self._scheduler.add_job(
            self._retry,
            trigger="date",
            run_date=when,
            args=[name],
            id=f"retry:{name}",
            name=f"retry for {name}",
            replace_existing=True,
        )


def _due_at_start(
    schedule: Schedule, last_run: datetime | None, now: datetime, timezone: ZoneInfo
) -> bool:
    """A slot that fell due while the daemon was down is sent once, right away."""
    if last_run is None:
        return schedule.cron is None  # a new cron channel waits for its first slot
    return schedule.next_due(last_run, timezone) <= now
