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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from worker.deliver.outcome import Outcome
from worker.deliver.scheduler import DigestScheduler
from worker.edits import EditWatcher
from worker.errors import ConfigError, StateGone, StateUnavailable
from worker.health import Health
from worker.model import RawArticle
from worker.pipeline import Pipeline, Setup, open_pipeline
from worker.store import shown_state
from worker.wording import plural

__all__ = ["STATE_GONE", "run_daemon", "run_once"]

log = logging.getLogger(__name__)

# The exit status when the state file is gone (EX_CONFIG): a restart cannot help, and the
# systemd unit does not restart on it (RestartPreventExitStatus=78).
STATE_GONE = 78

# How long the daemon waits for a state it cannot reach at start, twice as long each time.
_FIRST_WAIT = 1.0
_LONGEST_WAIT = 30.0


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
) -> int:
    """Run until `stop` is set, finishing the article in hand and (for `timing.stop_grace`)
    the sends in flight; exit code. A new config (`load` reads it, on an edit or when
    `reload` is set, on SIGHUP) restarts the loop. `health` hears what goes wrong."""
    health = health if health is not None else Health()
    current: Setup | None = setup
    wait = _FIRST_WAIT
    while current is not None and not stop.is_set():
        try:
            with open_pipeline(current, health) as pipeline:
                wait = _FIRST_WAIT
                health.report("store", None)
                reloader = _Reloader(pipeline, current, load, reload)
                current = _Loop(pipeline, stop, reloader).run(burst=False)
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


class _Loop:
    """Articles from the sources into the pipeline, digests out, until the end."""

    def __init__(
        self, pipeline: Pipeline, stop: threading.Event, reloader: _Reloader | None = None
    ) -> None:
        self._pipeline = pipeline
        self._stop = stop
        self._reloader = reloader
        self._scheduler: DigestScheduler | None = None
        self.outcomes: dict[str, Outcome] = {}  # what burst mode sent, by channel

    def run(self, burst: bool) -> Setup | None:
        """Take articles until stopped (None), until the config changed (the new setup),
        or, in burst mode, until what the sources hold is taken and every channel sent."""
        source = self._pipeline.source
        with self._running(burst) as arrivals:
            # A start retries files that failed before: the config (the size limit, say)
            # may be new.
            changed = self._consume(source.scan(retry_failed=True))
            if changed is not None or self._stop.is_set():
                return changed
            if self._scheduler is None:
                self.outcomes = self._pipeline.send_all()
                return None
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
            try:
                yield arrivals
            finally:
                self._reloader.stop()
                self._scheduler.shutdown()

    def _consume(self, items: Iterable[RawArticle | None]) -> Setup | None:
        """Ingest each article handed out; between two, apply an edit or stop."""
        for raw in items:
            if self._stop.is_set():
                return None  # what is not taken yet is found by the next start's scan
            gone = self._pipeline.store.lost()
            if gone is not None:  # looked at between two articles, and each tick when idle
                raise StateGone(gone)
            changed = self._reloader.check() if self._reloader is not None else None
            if changed is not None:
                return changed
            if raw is not None:
                self._ingest(raw)
        return None

    def _ingest(self, raw: RawArticle) -> None:
        try:
            outcome = self._pipeline.ingest(raw)
        except StateUnavailable as error:  # said once by the store: the file waits, comes again
            self._pipeline.source.put_back(raw, error)
            return
        except StateGone:  # said by the store: the daemon stops
            raise
        except Exception:  # the store failed to record it: it is read again at the next scan
            log.exception("%s: not recorded", raw.uri)
            return
        if self._scheduler is not None and outcome.rule_ids():
            self._scheduler.matched(outcome.rule_ids())


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
        self._edits = EditWatcher(setup.edited_files())

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
            log.error("edit not applied; the running config and rules stay in force:\n%s", error)
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
        if new.config.model_dump() != self._setup.config.model_dump():
            log.info("config changed: restarting the watchers and schedules")
            return new
        self._pipeline.use_rules(new.rules, new.renderers)
        self._setup = new
        log.info(
            "rules reloaded: %s, %s",
            plural(len(new.rules.rules), "rule"),
            plural(len(new.rules.participants), "participant"),
        )
        return None
