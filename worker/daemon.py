"""`wirewatch run`: one loop that takes articles from the sources and sends digests, and
`run --once` as its burst mode.

The daemon watches the folders, takes what they hold, then what arrives, and sends each
channel's digest on its schedule until told to stop; an edit of the rules or templates is
applied between two articles, an edit of the rest of the config restarts the loop. In
burst mode the same loop takes what the folders hold, sends every channel's pending
digest now, and ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from worker.deliver.alerts import Alerts
from worker.deliver.outcome import Outcome
from worker.deliver.scheduler import DigestScheduler
from worker.edits import EditWatcher
from worker.errors import ConfigError, StateGone, StateUnavailable
from worker.health import Health
from worker.ingest.batches import FileOutcome, Found, ingest_alone, ingest_together
from worker.ingest.ingestor import Ingested
from worker.logs import log_in_zone
from worker.model import RawArticle
from worker.pipeline import Pipeline, Setup, open_pipeline, pruned_text
from worker.rules.ruleset import RuleSet
from worker.settings.config import Config
from worker.sources.folder import Due, Whole
from worker.status import wirewatch_version
from worker.store import BatchBrokenError, shown_state
from worker.systemd import Systemd
from worker.wording import plural, quoted

if TYPE_CHECKING:
    from worker.metrics import Metrics

__all__ = ["STATE_GONE", "run_daemon", "run_once"]

log = logging.getLogger(__name__)

# The exit status when the state file is gone (EX_CONFIG): a restart cannot help, and the
# systemd unit does not restart on it (RestartPreventExitStatus=78).
STATE_GONE = 78

# How long the daemon waits for a state it cannot reach at start, twice as long each time.
_FIRST_WAIT = 1.0
_LONGEST_WAIT = 30.0
# How often the daemon prunes, when `retention:` gives a window (and once at each start).
_PRUNE_EVERY = timedelta(days=1)


def run_once(pipeline: Pipeline) -> int:
    """One full pass (the loop's burst mode): take every article present, send every
    channel's pending digest now; exit code 0 when all were delivered."""
    loop = _Loop(pipeline, threading.Event())
    loop.run(burst=True)
    for name, outcome in loop.outcomes.items():
        if outcome.retry_at is not None:
            when = outcome.retry_at.isoformat(timespec="seconds")
            log.warning("channel %s: a digest waits for a retry at %s", name, when)
    undelivered = any(o.failed or o.retry_at is not None for o in loop.outcomes.values())
    return 1 if undelivered else 0


def run_daemon(
    setup: Setup,
    load: Callable[[], Setup],
    stop: threading.Event,
    reload: threading.Event,
    health: Health | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run until `stop` is set, finishing the article in hand and (for `timing.stop_grace`)
    the sends in flight; exit code. A new config (`load` reads it, on an edit or when
    `reload` is set, on SIGHUP) restarts the loop. `health` hears what goes wrong; the
    HTTP endpoint (`http:`) and systemd (`$NOTIFY_SOCKET` in `environ`) are told how it goes.
    ConfigError when the endpoint cannot listen."""
    health = health if health is not None else Health()
    alerts = Alerts(health)  # the daemon's own troubles, told to the `alerts:` channels
    systemd = Systemd(environ if environ is not None else {})
    watch = _Watch(setup.config.timing.sweep, health, systemd.ready, setup.config.http is not None)
    with _serving(setup, watch):
        systemd.watch(watch.alive)
        try:
            code = _restarting(setup, load, stop, reload, watch, alerts)
        finally:
            systemd.stopping()
            alerts.close()
    return code


def _restarting(
    setup: Setup,
    load: Callable[[], Setup],
    stop: threading.Event,
    reload: threading.Event,
    watch: _Watch,
    alerts: Alerts,
) -> int:
    health = watch.health
    current: Setup | None = setup
    wait = _FIRST_WAIT
    while current is not None and not stop.is_set():
        if current.config.http != setup.config.http:
            log.warning("%s: http: takes effect at the next restart", current.config.source)
        log_in_zone(current.config.tz)  # a new `timezone:` applies to the log lines too
        try:
            alerts.use(current.config)
            forget_channels_gone(health, current.config)
            with open_pipeline(current, health, watch.metrics) as pipeline:
                wait = _FIRST_WAIT
                health.report("store", None)
                reloader = _Reloader(pipeline, current, load, reload)
                with watch.using(pipeline):
                    current = _Loop(pipeline, stop, reloader, watch.pulse).run(burst=False)
        except StateUnavailable as error:
            # Down or restarting: no crash, no loop of restarts; the state is tried again.
            log.warning("%s; trying again in %g s", error, wait)
            health.report("store", str(error))
            stop.wait(wait)
            wait = min(wait * 2, _LONGEST_WAIT)
        except StateGone as error:  # said by the store; written on, it would all be lost
            health.report("store", str(error))
            log.info("stopped: the state file is gone (exit status %d)", STATE_GONE)
            return STATE_GONE
    log.info("stopped")
    return 0


def forget_channels_gone(health: Health, config: Config) -> None:
    """A channel taken out of the config is in trouble no more: what it did not send waits
    for it to be put back (`status` says so), and no command can send it meanwhile."""
    for trouble in health.troubles():
        kind, _, name = trouble.part.partition(":")
        if kind == "channel" and name not in config.channels:
            health.forget(trouble.part)


@contextmanager
def _serving(setup: Setup, watch: _Watch) -> Iterator[None]:
    """The HTTP endpoint, if the config asks for one, for as long as the daemon runs."""
    if setup.config.http is None or watch.metrics is None:
        yield
        return
    from worker.endpoint import Endpoint

    endpoint = Endpoint(setup.config, watch.metrics, watch.health, watch.waiting_for)
    endpoint.start()
    try:
        yield
    finally:
        endpoint.stop()


class _Watch:
    """What the daemon tells of itself across config restarts: its metrics, whether it is
    ready, and probes of the loop and the state for `/healthz`."""

    def __init__(
        self, sweep: timedelta, health: Health, ready: Callable[[], None], served: bool
    ) -> None:
        self.health = health
        # Counted only for an endpoint to serve (`http:`, read at start): the Prometheus
        # client is not loaded by a daemon that nobody scrapes.
        self.metrics = _metrics(health) if served else None
        self.pulse = _Pulse(sweep, ready)
        self._pipeline: Pipeline | None = None
        health.probe("loop", self.pulse.trouble)
        health.probe("store", self._unreachable)

    @contextmanager
    def using(self, pipeline: Pipeline) -> Iterator[None]:
        """While the loop runs on this pipeline: its store and rules are the ones shown."""
        self._pipeline = pipeline
        if self.metrics is not None:
            self.metrics.use(pipeline)
        try:
            yield
        finally:
            self.pulse.running(False)
            if self.metrics is not None:
                self.metrics.use(None)
            self._pipeline = None

    def waiting_for(self) -> str | None:
        """What the daemon waits for before it is ready (`/readyz`); None once it is."""
        if self._pipeline is None:
            return "the state to be opened"
        return None if self.pulse.scanned else "the start-up scan"

    def alive(self) -> bool:
        """Whether the daemon's own parts run (the watchdog's test): a state that cannot be
        reached is not one a restart mends."""
        return not any(t.part in _OWN_PARTS for t in self.health.troubles())

    def _unreachable(self) -> str | None:
        pipeline = self._pipeline
        return None if pipeline is None else pipeline.store.unreachable()


def _metrics(health: Health) -> Metrics:
    from worker.metrics import Metrics

    return Metrics(health, wirewatch_version())


_OWN_PARTS = ("loop", "watcher", "scheduler")
# The loop is stuck when it has not taken an article or looked up for this many sweeps.
_STUCK_SWEEPS = 3
_STUCK_AT_LEAST = 10.0  # seconds: short test sweeps must not make a busy loop look stuck


class _Pulse:
    """The loop's heartbeat: touched at each article it takes and each look-up between."""

    def __init__(
        self,
        sweep: timedelta,
        ready: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._stuck_after = max(_STUCK_SWEEPS * sweep.total_seconds(), _STUCK_AT_LEAST)
        self._ready = ready
        self._lock = threading.Lock()
        self._beat: float | None = None  # None while the loop does not run
        self._on = ""  # the file in hand
        self.scanned = False  # the first start-up scan is done

    def running(self, running: bool) -> None:
        """The loop starts (its heartbeat from now) or ends (no heartbeat is expected)."""
        with self._lock:
            self._beat = self._clock() if running else None

    def tick(self, on: str = "") -> None:
        """The loop moved: it took the file `on`, or looked up between two."""
        with self._lock:
            self._beat, self._on = self._clock(), on

    def started(self) -> None:
        """The start-up scan is done: ready (said once)."""
        if not self.scanned:
            self.scanned = True
            self._ready()

    def trouble(self) -> str | None:
        """What `/healthz` says of the loop: stuck, and on which file; None while it moves."""
        with self._lock:
            beat, on = self._beat, self._on
        if beat is None:
            return None
        still = self._clock() - beat
        if still <= self._stuck_after:
            return None
        where = f" (on {on})" if on else ""
        return f"the loop has not moved for {still:.0f} s{where}"


class _Loop:
    """Articles from the sources into the pipeline, digests out, until the end."""

    def __init__(
        self,
        pipeline: Pipeline,
        stop: threading.Event,
        reloader: _Reloader | None = None,
        pulse: _Pulse | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._stop = stop
        self._reloader = reloader
        self._pulse = pulse if pulse is not None else _Pulse(timedelta(0), lambda: None)
        self._scheduler: DigestScheduler | None = None
        self.outcomes: dict[str, Outcome] = {}  # what burst mode sent, by channel

    def run(self, burst: bool) -> Setup | None:
        """Take articles until stopped (None), until the config changed (the new setup),
        or, in burst mode, until what the sources hold is taken and every channel sent."""
        with self._running(burst) as arrivals:
            # A start retries files that failed before: the config (the size limit, say)
            # may be new.
            changed = self._take_backlog(self._pipeline.backlog())
            if changed is None and not self._stop.is_set():
                changed = self._consume(self._pipeline.scan_feeds())
            if changed is not None or self._stop.is_set():
                return changed
            if self._scheduler is None:
                self.outcomes = self._pipeline.send_all()
                return None
            self._pulse.started()
            self._scheduler.catch_up()
            return self._consume(arrivals)

    @contextmanager
    def _running(self, burst: bool) -> Iterator[Iterable[RawArticle | None]]:
        """The watchers, the edit watcher and the schedules, for as long as the loop runs;
        none of them in burst mode."""
        if burst:
            yield ()
            return
        assert self._reloader is not None  # the daemon always has one
        # Watch first, then scan: a file that arrives in between is seen by both, and the
        # store's record of it makes the second look a no-op.
        with self._pipeline.source.watch() as arrivals:
            self._reloader.start()
            self._scheduler = self._pipeline.scheduler()
            # Digests and retries due during a long scan go out on time; only the catch-up
            # of a slot missed while stopped waits for the scan, to take what arrived.
            self._scheduler.start(catch_up=False)
            if self._pipeline.config.retention.configured:
                self._scheduler.every("prune", _PRUNE_EVERY, self._prune)
            health, scheduler = self._pipeline.health, self._scheduler
            health.probe("watcher", self._pipeline.folders.trouble)
            health.probe("scheduler", scheduler.trouble)
            self._pulse.running(True)
            try:
                yield arrivals
            finally:
                self._pulse.running(False)
                health.forget("watcher")
                health.forget("scheduler")
                self._reloader.stop()
                self._scheduler.shutdown()

    def _consume(self, items: Iterable[RawArticle | None]) -> Setup | None:
        """Ingest each article handed out; between two, apply an edit or stop."""
        for raw in items:
            end = self._look_up(raw.uri if raw is not None else "")
            if end is not None:
                return end.changed
            if raw is not None:
                self._ingest(raw)
        return None

    def _take_backlog(self, backlog: Iterable[Due | Whole | None]) -> Setup | None:
        """Ingest the files a start finds in batches, as `wirewatch ingest` does (a second
        at most each); at each file passed and between two batches, apply an edit or stop.
        A folder handed out whole is stored whole before the scan goes on (and remembers
        it as scanned)."""
        waiting: list[Due] = []
        for due in backlog:
            if isinstance(due, Whole):
                end = self._store_all(waiting)
                if end is not None:
                    return end.changed
                continue
            end = self._look_up(str(due[0]) if due is not None else "")
            if end is not None:
                return end.changed
            if due is not None:
                waiting.append(due)
            if len(waiting) >= self._pipeline.store.files_per_batch:
                waiting = self._ingest_batch(waiting)
        end = self._store_all(waiting)
        return None if end is None else end.changed

    def _store_all(self, waiting: list[Due]) -> _End | None:
        """Ingest every file waiting, batch by batch (emptying the list); whether the loop
        ends between two batches."""
        while waiting:
            end = self._look_up(str(waiting[0][0]))
            if end is not None:
                return end
            waiting[:] = self._ingest_batch(waiting)
        return None

    def _look_up(self, on: str) -> _End | None:
        """Between two articles (`on`: the file in hand) and at each tick when idle: the
        loop's heartbeat, and whether it ends: stopped, or the config changed."""
        self._pulse.tick(on)
        if self._stop.is_set():
            return _End(None)  # what is not taken yet is found by the next start's scan
        gone = self._pipeline.store.lost()
        if gone is not None:
            raise StateGone(gone)
        changed = self._reloader.check() if self._reloader is not None else None
        return _End(changed) if changed is not None else None

    def _ingest(self, raw: RawArticle) -> None:
        try:
            outcome = self._pipeline.ingest(raw)
        except StateUnavailable as error:  # said once by the store: the file waits, comes again
            self._pipeline.source.put_back(raw, error)
            return
        except StateGone:  # said by the store: the daemon stops
            raise
        except Exception:  # the store failed to record it: it is read again at the next scan
            log.exception("%s: not recorded", quoted(raw.uri), extra={"path": raw.uri})
            return
        self._tell_scheduler([outcome])

    def _ingest_batch(self, files: list[Due]) -> list[Due]:
        """The first of these files ingested together; those left for the next batch.
        While the state cannot be reached or is full (said once by the store), each file
        not stored yet is put back, and comes again."""
        done: list[tuple[Due, FileOutcome]] = []
        left: list[Due] = []
        folders = self._pipeline.folders
        try:
            self._ingest_together(files, done)
            left = files[len(done) :]
        except StateUnavailable as error:
            folders.put_back_all(files[len(done) :], error)
        else:
            folders.taken()
        failed = [due for due, outcome in done if isinstance(outcome, Exception)]
        for (path, _), outcome in done:
            if isinstance(outcome, Exception):  # read again at the next scan; the others go on
                told = "%s: not recorded"
                log.error(told, quoted(path), extra={"path": str(path)}, exc_info=outcome)
        folders.not_stored(failed)
        self._tell_scheduler([o for _, o in done if isinstance(o, Ingested)])
        return left

    def _ingest_together(self, files: list[Due], done: list[tuple[Due, FileOutcome]]) -> None:
        """`ingest_together`, each file's outcome added to `done`; one by one when a
        statement of the batch failed (it is undone), to tell which file fails."""
        tried: list[Due] = []
        try:
            done += ingest_together(self._pipeline, files, self._read, tried)
        except BatchBrokenError:
            for due in tried:
                done.append((due, ingest_alone(self._pipeline, due, self._read)))

    def _read(self, due: Due) -> Found:
        return self._pipeline.read_file(*due)

    def _tell_scheduler(self, ingested: list[Ingested]) -> None:
        """Tell the schedules what matched, or that articles came: a burst of them, matching
        or not, is held together by the immediate channels."""
        if self._scheduler is None or not ingested:
            return
        rule_ids = set().union(*(outcome.rule_ids() for outcome in ingested))
        if rule_ids:
            self._scheduler.matched(rule_ids)
        else:
            self._scheduler.ingested()

    def _prune(self) -> None:
        """Remove what is past the `retention:` windows, in a thread of the scheduler."""
        retention = self._pipeline.config.retention
        try:
            pruned = self._pipeline.prune(retention.articles, retention.digests)
        except StateUnavailable:  # said once by the store; the next prune tries again
            return
        except Exception:  # a fault of ours must not stop the daemon
            log.exception("retention: nothing pruned; tried again tomorrow")
            return
        removed = pruned.articles or pruned.matches or pruned.digests
        log.log(logging.INFO if removed else logging.DEBUG, "retention: %s", pruned_text(pruned))


@dataclass(frozen=True)
class _End:
    """The loop ends: stopped (None), or the config changed (the new setup)."""

    changed: Setup | None


class _Reloader:
    """Applies edits of the config, rules and templates once they have settled."""

    def __init__(
        self,
        pipeline: Pipeline,
        setup: Setup,
        load: Callable[[], Setup],
        requested: threading.Event,
    ) -> None:
        self._pipeline = pipeline
        self._setup = setup
        self._load = load
        self._requested = requested
        # Edits settle as articles do: an editor that empties a file and then writes it
        # leaves no moment in which the rules are gone.
        self._edits = EditWatcher(
            setup.edited_files(), setup.config.ingest.settle_seconds, setup.read
        )

    def start(self) -> None:
        self._edits.start()

    def stop(self) -> None:
        self._edits.stop()

    def check(self) -> Setup | None:
        """Apply an edit if one is due; the new setup when the config itself changed."""
        if not (self._edits.settled() or self._requested.is_set()):
            return None
        self._requested.clear()
        try:
            new = self._load()
        except ConfigError as error:
            for problem in str(error).splitlines():  # one line each, as a log reader expects
                log.error("edit not applied: %s", problem)
            log.error("edit not applied; the running config and rules stay in force")
            return None
        except Exception:  # a fault of ours must not stop the daemon either
            log.exception("edit not applied; the running config and rules stay in force")
            return None
        if new.config.state_url != self._setup.config.state_url:
            # Another state file knows none of what was ingested and sent: everything in
            # the watched folders would be sent again. That needs a deliberate restart.
            log.error(
                "%s: state: edit not applied while running; restart wirewatch to use %s",
                new.config.source,
                shown_state(new.config.state_url),
            )
            return None
        if _changed(self._setup.config, new.config):
            log.info("config changed: restarting the watchers and schedules")
            return new
        before = self._setup.rules
        self._pipeline.use_rules(new.rules, new.renderers)
        self._setup = new
        log.info(
            "rules reloaded: %s, %s",
            plural(len(new.rules.rules), "rule"),
            plural(len(new.rules.participants), "participant"),
        )
        self._rematch(new.rules.changed_since(before))
        return None

    def _rematch(self, changed: RuleSet) -> None:
        """Match the recent articles against the rules added or changed."""
        if not changed.rules:
            return
        ids = ", ".join(rule.id for rule in changed.rules)
        try:
            done = self._pipeline.rematch_recent(changed)
        except Exception as error:  # the rules are in force; only the look back failed
            log.error(
                "rules added or changed (%s): recent articles not matched against them: %s;"
                " run wirewatch ingest --rematch",
                ids,
                error,
            )
            return
        log.info(
            "rules added or changed (%s): %s of the last %g h matched again, %s",
            ids,
            plural(done.articles, "article"),
            self._setup.config.ingest.rematch_window.total_seconds() / 3600,
            plural(done.new_matches, "new match", "new matches"),
        )


def _changed(before: Config, after: Config) -> bool:
    """Whether the config changed: its keys, or the feeds its subscription list names."""
    return before.model_dump() != after.model_dump() or before.feeds != after.feeds
