"""`wirewatch run`: scan, watch, ingest and send on schedule until told to stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from worker.deliver.scheduler import DigestScheduler
from worker.errors import ConfigError
from worker.model import FileRecord
from worker.pipeline import Pipeline, Setup, open_pipeline
from worker.sources.edits import EditWatcher
from worker.sources.folder import Settler, Watcher, scan
from worker.wording import plural

__all__ = ["run_daemon", "run_once"]

log = logging.getLogger(__name__)


def run_once(pipeline: Pipeline) -> int:
    """One full pass: ingest every file present, send every channel's digest; exit code."""
    for folder in pipeline.config.watch:
        for path in scan(folder):
            pipeline.ingest(path, retry_failed=True)
    names = list(pipeline.config.channels)
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        outcomes = dict(zip(names, pool.map(pipeline.send_digest, names), strict=True))
    for name, outcome in outcomes.items():
        if outcome.retry_at is not None:
            when = outcome.retry_at.isoformat(timespec="seconds")
            log.warning("channel %s: a digest waits for a retry at %s", name, when)
    undelivered = any(o.failed or o.retry_at is not None for o in outcomes.values())
    return 1 if undelivered else 0


def run_daemon(
    setup: Setup,
    load: Callable[[], Setup],
    stop: threading.Event,
    reload: threading.Event,
) -> int:
    """Run until `stop` is set, finishing the file and (for a few seconds) the sends in
    flight; exit code.

    An edit of the rules or templates (or `reload`, set on SIGHUP) is applied between two
    articles; an edit of the rest of the config restarts the watchers and schedules.
    """
    current: Setup | None = setup
    while current is not None:
        with open_pipeline(current) as pipeline:
            current = _serve(pipeline, _Reloader(pipeline, current, load, reload), stop)
    log.info("stopped")
    return 0


def _serve(pipeline: Pipeline, reloader: _Reloader, stop: threading.Event) -> Setup | None:
    """Watch, ingest and send until stopped (None) or until the config changed (the new)."""
    config = pipeline.config
    watcher = Watcher(config.watch, quiet=config.ingest.settle_seconds)
    scheduler = DigestScheduler(config, pipeline.outbox, pipeline.store, lambda: pipeline.rules)
    ingest = _Ingest(pipeline, scheduler)
    # Watch first, then scan: a file that arrives in between is seen by both, and the
    # store's record of it makes the second look a no-op.
    watcher.start()
    reloader.start()
    log.info("watching %s", ", ".join(str(folder.path) for folder in config.watch))
    # Digests and retries due during a long scan go out on time; only the catch-up of a
    # slot missed while stopped waits for the scan, to take in what arrived meanwhile.
    scheduler.start(catch_up=False)
    try:
        # A start retries files that failed before: the config (the size limit, say) may be new.
        changed = _scan(ingest, watcher.settler, stop, reloader, retry_failed=True)
        if stop.is_set() or changed is not None:
            return changed
        scheduler.catch_up()
        return _consume(ingest, watcher, stop, reloader)
    finally:
        reloader.stop()
        watcher.stop()
        scheduler.shutdown()


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
        self._edits = EditWatcher(setup.sources())

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
                new.config.state,
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


class _Ingest:
    """Ingest a file, and tell the scheduler which rules it matched (immediate channels)."""

    def __init__(self, pipeline: Pipeline, scheduler: DigestScheduler) -> None:
        self.pipeline = pipeline
        self._scheduler = scheduler

    def __call__(self, path: Path, retry_failed: bool = False) -> None:
        outcome = self.pipeline.ingest(path, retry_failed)
        rule_ids = {match.rule_id for found in outcome.matches.values() for match in found}
        if rule_ids:
            self._scheduler.matched(rule_ids)


def _consume(
    ingest: _Ingest, watcher: Watcher, stop: threading.Event, reloader: _Reloader
) -> Setup | None:
    """The one consumer: ingest complete files, apply edits between two of them, and
    rescan now and then for missed events."""
    settler = watcher.settler
    rescan_every = ingest.pipeline.config.ingest.rescan_seconds
    next_scan = time.monotonic() + rescan_every
    while not stop.is_set():
        if watcher.lost():
            log.warning("a watched folder was removed, replaced or is back: watching anew")
            watcher.restart()
            next_scan = time.monotonic()  # what arrived meanwhile is found by a scan
        for path in settler.ready(timeout=0.5):
            changed = reloader.check()
            if stop.is_set() or changed is not None:
                return changed  # files not ingested yet are found by the next scan
            ingest(path)
        changed = reloader.check()
        if changed is not None:
            return changed
        if time.monotonic() >= next_scan:
            # inotify drops events when its queue overflows; a rescan finds what it missed.
            changed = _scan(ingest, settler, stop, reloader)
            if changed is not None:
                return changed
            next_scan = time.monotonic() + rescan_every
    return None


def _scan(
    ingest: _Ingest,
    settler: Settler,
    stop: threading.Event,
    reloader: _Reloader,
    retry_failed: bool = False,
) -> Setup | None:
    """Ingest files not yet seen in their present state; recent ones wait to settle. Edits
    are applied between two files; a new config ends the scan (the new setup)."""
    pipeline = ingest.pipeline
    known = pipeline.store.files()
    quiet_since = time.time() - pipeline.config.ingest.settle_seconds
    for folder in pipeline.config.watch:
        for path in scan(folder):
            changed = reloader.check()
            if stop.is_set() or changed is not None:
                return changed  # the next start's scan takes the files not yet ingested
            _take(ingest, settler, path, known.get(str(path)), quiet_since, retry_failed)
    return None


def _take(
    ingest: _Ingest,
    settler: Settler,
    path: Path,
    record: FileRecord | None,
    quiet_since: float,
    retry_failed: bool,
) -> None:
    """Ingest a file the scan found, unless it is known as it is, or perhaps still written."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return  # gone already
    except OSError:
        ingest(path, retry_failed)  # records why it cannot be read
        return
    if record is not None and record.up_to_date(stat, retry_failed):
        return
    if settler.writing(path):
        return  # its close event brings it
    if stat.st_mtime > quiet_since:
        settler.settle(path)  # perhaps still being written: let it settle first
    else:
        ingest(path, retry_failed)
