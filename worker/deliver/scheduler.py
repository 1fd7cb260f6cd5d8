"""Send each channel's digest on its schedule, and its retries when they fall due.

APScheduler 3 runs each channel's jobs in threads of that channel's own, so one slow or
failing channel never delays another. A stop waits a few seconds for the sends in flight,
then leaves them: each digest is stored before its first attempt, so one cut short is sent
again by the next start.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from worker.deliver.builder import rules_for
from worker.deliver.outbox import Outbox
from worker.deliver.outcome import Outcome
from worker.deliver.schedules import next_due, period, trigger
from worker.errors import StateError
from worker.rules.ruleset import RuleSet
from worker.settings.config import Config
from worker.store import DigestQueue, RunRecords, Workers

__all__ = ["DigestScheduler", "ScheduleStore"]

log = logging.getLogger(__name__)

# A worker claims a slot for this many leases: building the digest and sending it may
# take that long; a worker that died is replaced once the claim has run out.
_SLOT_LEASES = 4

Clock = Callable[[], datetime]


class ScheduleStore(RunRecords, DigestQueue, Workers, Protocol):
    """What the scheduler needs of the store: when each channel ran and appeared, its
    slots, and the workers' heartbeats."""


class DigestScheduler:
    """One job per channel on its schedule, one for its next retry, one sweeping.

    The sweep (`timing.sweep`) finds digests whose retry is due, whoever stored them
    (another process's `wirewatch digest`, say); a channel's own failures are retried on
    time. An `immediate` channel sends once no new article has come for `timing.quiet`, and
    at the latest `timing.batch` after the first match it holds: a lone article goes out
    at once, the articles of one burst (a scraper dropping ten files) in one digest. It
    looks for matches stored by another process (`wirewatch ingest`) at each sweep.
    """

    def __init__(
        self,
        config: Config,
        outbox: Outbox,
        store: ScheduleStore,
        rules: Callable[[], RuleSet],
        clock: Clock = lambda: datetime.now(UTC),
        worker: str | None = None,
    ) -> None:
        self._config = config
        self._worker = worker or uuid.uuid4().hex  # whose claims and heartbeats these are
        self._timing = config.timing
        self._outbox = outbox
        self._store = store
        self._rules = rules
        self._clock = clock
        # A channel may have its scheduled send, a retry and an immediate send at once;
        # its outbox lock lets one of them send at a time, while other channels' go on.
        self._threads = {name: _ChannelThreads() for name in config.channels}
        self._scheduler = BackgroundScheduler(
            timezone=config.tz,
            executors={_executor(name): threads for name, threads in self._threads.items()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        # A job adds jobs (a retry, say); once the stop has begun it must not: the next
        # start reads what is due from the store.
        self._guard = threading.Lock()
        self._stopping = False
        self._late: set[str] = set()  # channels whose catch-up waits for `catch_up()`
        self._since: dict[str, datetime] = {}  # when each channel first appeared
        self._holding: dict[str, datetime] = {}  # immediate channels: since when matches wait
        # Slots this worker builds now: the schedule and a sweep may both find one due,
        # and the store lets the same worker claim it again.
        self._building: set[tuple[str, datetime]] = set()

    def start(self, catch_up: bool = True) -> None:
        """Start the schedules; digests left undelivered by an earlier run are sent at once,
        and so are slots missed while stopped, unless `catch_up` is False: then those wait
        for `catch_up()`."""
        now = self._clock()
        for name, channel in self._config.channels.items():
            if not catch_up and self._slot_due(name, now):
                self._late.add(name)
            if not channel.schedule_spec.immediate:
                self._schedule(name)
            # Digests left undelivered by an earlier run, and a slot missed while stopped,
            # go out at once; then each sweep looks again.
            self._add(name, self._retry, "date", "retry", [name], run_date=now)
            sweep = IntervalTrigger(seconds=self._timing.sweep.total_seconds())
            self._add(name, self._retry, sweep, "sweep", [name])
        self._beat()
        beats = IntervalTrigger(seconds=self._timing.sweep.total_seconds())
        self._scheduler.add_job(self._beat, beats, id="heartbeat", name="heartbeat")
        self._scheduler.start()
        for job in self._scheduler.get_jobs():
            if job.id.startswith("digest:") and job.next_run_time is not None:
                when = job.next_run_time.isoformat(sep=" ", timespec="seconds")
                name = job.id.removeprefix("digest:")
                fields = {"event": "digest.scheduled", "channel": name, "next_digest": when}
                log.info("channel %s: next digest at %s", name, when, extra=fields)

    def trouble(self) -> str | None:
        """What `/healthz` says of the schedules: not running, or their thread has stopped."""
        if not self._scheduler.running:
            return "the schedules are not running"
        thread = getattr(self._scheduler, "_thread", None)  # APScheduler's own
        if thread is not None and not thread.is_alive():
            return "the thread that runs the schedules has stopped"
        return None

    def _beat(self) -> None:
        """Say in the store that this worker is alive (`wirewatch status` lists it)."""
        try:
            self._store.beat(self._worker, socket.gethostname(), os.getpid(), self._clock())
        except Exception:  # the store failed: the next beat says it again
            log.debug("the heartbeat is not recorded", exc_info=True)

    def every(self, name: str, period: timedelta, job: Callable[[], None]) -> None:
        """Run `job` now and then every `period` while the schedules run (the daily prune)."""
        with self._guard:
            if self._stopping:
                return
            every = IntervalTrigger(seconds=period.total_seconds())
            self._scheduler.add_job(job, every, id=name, name=name, next_run_time=self._clock())

    def catch_up(self) -> None:
        """Send now the slots missed while stopped that wait since `start(catch_up=False)`;
        a channel that has sent its new matches since has nothing to catch up."""
        now = self._clock()
        with self._guard:
            if self._stopping:
                return
            late, self._late = self._late, set()
        for name in late:
            self._add(name, self._retry, "date", "retry", [name], run_date=now)

    def _schedule(self, name: str) -> None:
        """The channel's job on its own schedule (an immediate one sends on matches)."""
        channel = self._config.channels[name]
        schedule, zone = channel.schedule_spec, self._config.zone_of(channel)
        # A period counts from the last run; a new channel's first turn is when it appeared.
        start = self._store.last_run(name)
        if start is None and schedule.cron is None:
            start = self._appeared(name, self._clock())
        fires = trigger(schedule, zone, self._timing.sweep, start)
        self._add(name, self._scheduled, fires, "digest", [name, True])

    def matched(self, rule_ids: Collection[str]) -> None:
        """New matches of these rules: each immediate channel that takes them sends once the
        articles stop coming for `timing.quiet`, and at the latest `timing.batch` after the
        first match it holds."""
        rules, now = self._rules(), self._clock()
        for name, channel in self._config.channels.items():
            if channel.schedule_spec.immediate and set(rule_ids) & set(rules_for(channel, rules)):
                with self._guard:
                    self._holding.setdefault(name, now)
        self.ingested(now)

    def ingested(self, now: datetime | None = None) -> None:
        """An article was taken: the rest of a burst may still match, so each channel holding
        matches waits `timing.quiet` more, up to its cap. A scraper's ten files, of which
        only some match and one is slow to read, still go out in one digest."""
        now = self._clock() if now is None else now
        with self._guard:
            holding = list(self._holding.items())
        for name, first in holding:
            self._send_after_quiet(name, first, now)

    def _send_after_quiet(self, name: str, first: datetime, now: datetime) -> None:
        run_date = min(now + self._timing.quiet, first + self._timing.batch)
        # Each article moves the send later, up to the cap; one send may run while the next
        # waits: a slow send must not skip the next. Once the send has taken what was held
        # (since `first`), a late article has nothing of that burst to move.
        self._add(
            name,
            self._soon,
            "date",
            "soon",
            [name],
            holding=first,
            max_instances=2,
            run_date=run_date,
        )

    def _soon(self, name: str) -> None:
        """An immediate channel's send: the matches held so far; any that come from now on
        wait for the next."""
        with self._guard:
            self._holding.pop(name, None)
        self._scheduled(name, remember_run=False)

    def shutdown(self, grace: timedelta | None = None) -> None:
        """Stop scheduling; wait up to `grace` (`timing.stop_grace` unless given) for the
        sends in flight, then leave them."""
        grace = self._timing.stop_grace if grace is None else grace
        with self._guard:
            self._stopping = True
        self._scheduler.shutdown(wait=False)
        try:
            self._store.stop_worker(self._worker, self._clock())
        except Exception:  # it is listed as dead once its heartbeats stop
            log.debug("the worker's stop is not recorded", exc_info=True)
        deadline = time.monotonic() + grace.total_seconds()
        for name, threads in self._threads.items():
            if not threads.wait(deadline):
                log.warning(
                    "channel %s: still sending after %g s; left unfinished, its digest is "
                    "sent again at the next start",
                    name,
                    grace.total_seconds(),
                    extra={"event": "delivery.unfinished", "channel": name},
                )

    def _scheduled(self, name: str, remember_run: bool) -> None:
        """Send the channel's new matches: an immediate channel's at once, a scheduled
        one's for the slot that is due, if this worker is the one to build it."""
        with self._guard:
            self._late.discard(name)  # this send takes the new matches: nothing to catch up
        slot = self._taken_slot(name) if remember_run else None
        if remember_run and slot is None:
            # No slot is due (another worker did it), or another worker is building it.
            self._follow(name, self._send(name, new=False))
            return
        if slot is None:  # an immediate channel's send: no slot to it
            self._build(name, None)
            return
        try:
            self._build(name, slot)
        finally:
            with self._guard:
                self._building.discard((name, slot))

    def _build(self, name: str, slot: datetime | None) -> None:
        """Send the channel's new matches, and record the slot (if any) as done."""
        outcome = self._send(name, new=True)
        self._follow(name, outcome)
        # A slot whose digest waits behind one being retried is not done: if the daemon
        # stops before it goes out, the next start (or another worker) sends it.
        if slot is not None and not outcome.held:
            try:
                now = self._clock()
                self._store.record_run(name, self._turn(name, slot, now))
                self._store.finish_slot(name, slot, now)
            except Exception:  # the slot stays owed: the next sweep sends what is left
                _fault("channel %s: the slot's run cannot be recorded", name)

    def _taken_slot(self, name: str) -> datetime | None:
        """The channel's slot that is due, claimed for this worker; None when none is due
        or another worker builds it. Every worker names a slot alike, by the store's
        record of the last run, so each slot is built once."""
        now = self._clock()
        try:
            slot = self._due_slot(name, now)
        except Exception:  # the store failed: the next sweep tries again
            _fault("channel %s: cannot tell whether a slot is due", name)
            return None
        if slot is None or not self._mine(name, slot):
            return None
        until = now + _SLOT_LEASES * self._timing.lease
        try:
            if self._store.claim_slot(name, slot, self._worker, now, until):
                return slot
        except Exception:  # the store failed: the next sweep tries again
            _fault("channel %s: its slot cannot be claimed now", name)
        with self._guard:
            self._building.discard((name, slot))
        return None

    def _mine(self, name: str, slot: datetime) -> bool:
        """Take the slot for this worker to build; False when it is being built already."""
        with self._guard:
            if (name, slot) in self._building:
                return False
            self._building.add((name, slot))
            return True

    def _turn(self, name: str, slot: datetime, now: datetime) -> datetime:
        """The run to record for a slot sent by `now`. A period's is the last of its turns
        (slot, slot + period, …) by then, not the end of the send: the next turn then falls
        due when the schedule fires, not a moment after. A crontab's slots are its own."""
        schedule = self._config.channels[name].schedule_spec
        if schedule.cron is not None:
            return now
        every = period(schedule, self._timing.sweep)
        return slot + (now - slot) // every * every

    def _retry(self, name: str) -> None:
        """A retry or a sweep: the digests due and, once none waits any more, the new
        matches of a slot still owed (its digest was held behind one waiting for a retry)."""
        with self._guard:
            late = name in self._late  # a missed slot waits for the start-up scan
        channel = self._config.channels[name]
        try:
            owed = not late and self._owed(name)
        except Exception:  # the store failed: the next sweep looks again
            _fault("channel %s: cannot tell whether a slot is owed", name)
            return
        if owed:
            self._scheduled(name, remember_run=not channel.schedule_spec.immediate)
        else:
            self._follow(name, self._send(name, new=False))

    def _owed(self, name: str) -> bool:
        """Whether the channel's new matches are due: an immediate channel's are unless it
        holds a burst (sent once the burst goes quiet), a scheduled one's when its last
        slot has not been recorded as done."""
        if self._config.channels[name].schedule_spec.immediate:
            with self._guard:
                return name not in self._holding
        return self._slot_due(name, self._clock())

    def _appeared(self, name: str, now: datetime) -> datetime:
        """When the channel first appeared: asked of the store once, it never changes."""
        if name not in self._since:
            self._since[name] = self._store.channel_since(name, now)
        return self._since[name]

    def _slot_due(self, name: str, now: datetime) -> bool:
        """Whether a slot of the channel fell due since its schedule last fired and was done."""
        return self._due_slot(name, now) is not None

    def _due_slot(self, name: str, now: datetime) -> datetime | None:
        """The first slot of the channel since its schedule last fired and was done, if it
        is due: one missed while the daemon was down is sent once, right away, and a new
        period channel sends at once."""
        channel = self._config.channels[name]
        schedule, zone = channel.schedule_spec, self._config.zone_of(channel)
        last_run = self._store.last_run(name)
        if last_run is None and schedule.cron is None:
            return self._appeared(name, now)
        # A cron channel that never ran counts from when it appeared: a slot since then
        # that the daemon was down for is still sent.
        slot = next_due(schedule, last_run or self._appeared(name, now), zone, self._timing.sweep)
        return slot if slot <= now else None

    def _send(self, name: str, new: bool) -> Outcome:
        """The per-delivery error boundary: a fault is logged and the schedule carries on."""
        try:
            return self._outbox.send(name, new)
        except Exception:
            _fault("channel %s: digest not sent", name)
            return Outcome(failed=True)

    def _follow(self, name: str, outcome: Outcome) -> None:
        if outcome.retry_at is not None:
            self._add(name, self._retry, "date", "retry", [name], run_date=outcome.retry_at)

    def _add(
        self,
        name: str,
        job: Callable[..., None],
        trigger: BaseTrigger | str,
        kind: str,
        args: list[object],
        holding: datetime | None = None,
        **options: Any,
    ) -> None:
        with self._guard:
            if self._stopping:
                return  # the next start reads what is due from the store
            if holding is not None and self._holding.get(name) != holding:
                return  # the matches held since then are being sent already
            self._scheduler.add_job(
                job,
                trigger=trigger,
                id=f"{kind}:{name}",
                name=f"{kind}:{name}",
                args=args,
                executor=_executor(name),
                replace_existing=True,
                **options,
            )


def _fault(message: str, name: str) -> None:
    """Log the fault being handled, unless the state cannot be reached or is gone: the store
    says that once, and the next sweep tries again (or the daemon stops)."""
    fields = {"event": "channel.fault", "channel": name, "error": str(sys.exc_info()[1])}
    if isinstance(sys.exc_info()[1], StateError):
        log.debug(message, name, exc_info=True, extra=fields)
    else:
        log.exception(message, name, extra=fields)


def _executor(name: str) -> str:
    return f"channel {name}"


class _ChannelThreads(BaseExecutor):  # type: ignore[misc]  # APScheduler has no type hints
    """An APScheduler executor that runs each of one channel's jobs in a thread of its own."""

    def __init__(self) -> None:
        super().__init__()
        self._running: set[threading.Thread] = set()
        self._changed = threading.Condition()

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        # A daemon thread: Python would wait for any other at exit, a stuck send included.
        thread = threading.Thread(target=self._run, args=[job, run_times], daemon=True)
        with self._changed:
            self._running.add(thread)
        thread.start()

    def _run(self, job: Any, run_times: list[datetime]) -> None:
        try:
            events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
        except BaseException as error:
            self._run_job_error(job.id, error, error.__traceback__)
        else:
            self._run_job_success(job.id, events)
        finally:
            with self._changed:
                self._running.discard(threading.current_thread())
                self._changed.notify_all()

    def wait(self, deadline: float) -> bool:
        """Wait until no job runs, or `time.monotonic()` reaches `deadline`; whether none runs."""
        with self._changed:
            left = deadline - time.monotonic()
            return self._changed.wait_for(lambda: not self._running, timeout=max(0.0, left))
