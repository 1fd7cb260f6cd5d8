"""`wirewatch run`: scan, watch, ingest and send on schedule until told to stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from worker.pipeline import Pipeline
from worker.scheduler import DigestScheduler
from worker.watch import Settler, Watcher, scan

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
    pipeline: Pipeline, stop: threading.Event, reload: Callable[[], None] | None = None
) -> int:
    """Run until `stop` is set; files in flight are finished first. Returns the exit code."""
    config = pipeline.config
    watcher = Watcher(config.watch, quiet=config.ingest.settle_seconds)
    scheduler = DigestScheduler(pipeline)
    ingest = _Ingest(pipeline, scheduler)
    # Watch first, then scan: a file that arrives in between is seen by both, and the
    # store's record of it makes the second look a no-op.
    watcher.start()
    log.info("watching %s", ", ".join(str(folder.path) for folder in config.watch))
    # A start retries files that failed before: the config (the size limit, say) may be new.
    _scan(ingest, watcher.settler, stop, retry_failed=True)
    scheduler.start()
    try:
        _consume(ingest, watcher.settler, stop)
    finally:
        watcher.stop()
        scheduler.shutdown()
    log.info("stopped")
    return 0


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


def _consume(ingest: _Ingest, settler: Settler, stop: threading.Event) -> None:
    """The one consumer: ingest complete files, and rescan now and then for missed events."""
    rescan_every = ingest.pipeline.config.ingest.rescan_seconds
    next_scan = time.monotonic() + rescan_every
    while not stop.is_set():
        for path in settler.ready(timeout=0.5):
            if stop.is_set():
                return  # files not ingested yet are found by the next start's scan
            ingest(path)
        if time.monotonic() >= next_scan:
            # inotify drops events when its queue overflows; a rescan finds what it missed.
            _scan(ingest, settler, stop)
            next_scan = time.monotonic() + rescan_every


def _scan(
    ingest: _Ingest, settler: Settler, stop: threading.Event, retry_failed: bool = False
) -> None:
    """Ingest files not yet seen in their present state; recent ones wait to settle."""
    pipeline = ingest.pipeline
    known = pipeline.store.files()
    quiet_since = time.time() - pipeline.config.ingest.settle_seconds
    for folder in pipeline.config.watch:
        for path in scan(folder):
            if stop.is_set():
                return
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # gone already
            except OSError:
                ingest(path, retry_failed)  # records why it cannot be read
                continue
            record = known.get(str(path))
            if record is not None and record.up_to_date(stat, retry_failed):
                continue
            if settler.writing(path):
                continue  # its close event brings it
            if stat.st_mtime > quiet_since:
                settler.settle(path)  # perhaps still being written: let it settle first
            else:
                ingest(path, retry_failed)
