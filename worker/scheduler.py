"""Send each channel's digest on its schedule, and its retries when they fall due.

APScheduler 3 runs the jobs in a thread pool with room for every channel at once, so one
slow or failing channel never delays another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from worker.outbox import Outcome, channel_rule_ids
from worker.pipeline import Pipeline
from worker.schedule import IMMEDIATE_DELAY, Schedule

__all__ = ["DigestScheduler"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


# How often each channel looks for digests whose retry is due, whoever stored them
# (another process's `wirewatch digest`, say); its own failures are retried on time.
SWEEP = timedelta(seconds=30)


class DigestScheduler:
    """One job per channel on its schedule, one for its next retry, one sweeping."""

    def __init__(self, pipeline: Pipeline, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._pipeline = pipeline
        self._clock = clock
        channels = pipeline.config.channels
        # A channel may have its scheduled send, a retry and an immediate send at once;
        # its outbox lock lets one of them send at a time.
        pool = ThreadPoolExecutor(max_workers=3 * len(channels) + 1)
        self._scheduler = BackgroundScheduler(
            timezone=pipeline.config.tz,
            executors={"default": pool},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        # A job adds jobs (a retry, say); once shutdown has begun it must not, or it would
        # wait for the lock that shutdown holds while it waits for the job.
        self._guard = threading.Lock()
        self._stopping = False

    def start(self) -> None:
        """Start the schedules; digests left undelivered by an earlier run are sent at once."""
        now = self._clock()
        for name in self._pipeline.config.channels:
            self._schedule(name, now)
            self._add(
                self._retry,
                IntervalTrigger(seconds=SWEEP.total_seconds()),
                f"sweep:{name}",
                [name],
                next_run_time=now,
            )
        self._scheduler.start()
        for job in self._scheduler.get_jobs():
            if job.id.startswith("digest:") and job.next_run_time is not None:
                when = job.next_run_time.isoformat(sep=" ", timespec="seconds")
                log.info("channel %s: next digest at %s", job.id.removeprefix("digest:"), when)

    def _schedule(self, name: str, now: datetime) -> None:
        config, store = self._pipeline.config, self._pipeline.store
        channel = config.channels[name]
        schedule, zone = channel.schedule_spec, config.zone_of(channel)
        last_run = store.last_run(name)
        # A cron channel that never ran counts from when it appeared: a slot since then
        # that the daemon was down for is still sent.
        since = last_run or (store.channel_since(name, now) if schedule.cron else None)
        due_now = _due_at_start(schedule, since, now, zone)
        self._add(
            self._scheduled,
            schedule.trigger(zone, last_run),
            f"digest:{name}",
            [name, not schedule.immediate],
            **({"next_run_time": now} if due_now else {}),
        )

    def matched(self, rule_ids: Collection[str]) -> None:
        """New matches of these rules: each immediate channel that takes them sends soon,
        together with whatever else matches before then."""
        rules = self._pipeline.rules
        soon = {job.id for job in self._scheduler.get_jobs() if job.id.startswith("soon:")}
        for name, channel in self._pipeline.config.channels.items():
            if not channel.schedule_spec.immediate or f"soon:{name}" in soon:
                continue
            if set(rule_ids) & set(channel_rule_ids(channel, rules)):
                run_date = self._clock() + IMMEDIATE_DELAY
                # One may run while the next waits: a slow send must not skip the next.
                self._add(
                    self._scheduled,
                    "date",
                    f"soon:{name}",
                    [name, False],
                    max_instances=2,
                    run_date=run_date,
                )

    def shutdown(self) -> None:
        """Stop scheduling and wait for the sends in flight."""
        with self._guard:
            self._stopping = True
        self._scheduler.shutdown(wait=True)

    def _scheduled(self, name: str, remember_run: bool) -> None:
        outcome = self._send(name, new=True)
        self._follow(name, outcome)
        # A slot whose digest waits behind one being retried is not done: if the daemon
        # stops before it goes out, the next start sends it.
        if remember_run and not outcome.held:
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
            self._add(self._retry, "date", f"retry:{name}", [name], run_date=outcome.retry_at)

    def _add(
        self,
        job: Callable[..., None],
        trigger: BaseTrigger | str,
        job_id: str,
        args: list[object],
        **options: Any,
    ) -> None:
        with self._guard:
            if self._stopping:
                return  # the next start reads what is due from the store
            self._scheduler.add_job(
                job,
                trigger=trigger,
                id=job_id,
                name=job_id,
                args=args,
                replace_existing=True,
                **options,
            )


def _due_at_start(
    schedule: Schedule, last_run: datetime | None, now: datetime, timezone: ZoneInfo
) -> bool:
    """A slot that fell due while the daemon was down is sent once, right away; a new
    period or immediate channel sends at once."""
    return last_run is None or schedule.next_due(last_run, timezone) <= now
