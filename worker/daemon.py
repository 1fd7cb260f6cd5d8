"""`wirewatch run`: scan, watch, ingest and send on schedule until told to stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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
    # Watch first, then scan: a file that arrives in between is seen by both, and the
    # store's record of it makes the second look a no-op.
    watcher.start()
    log.info("watching %s", ", ".join(str(folder.path) for folder in config.watch))
    # A start retries files that failed before: the config (the size limit, say) may be new.
    _scan(pipeline, watcher.settler, stop, retry_failed=True)
    scheduler = DigestScheduler(pipeline)
    scheduler.start()
    try:
        _consume(pipeline, watcher.settler, stop)
    finally:
        watcher.stop()
        scheduler.shutdown()
    log.info("stopped")
    return 0


def _consume(pipeline: Pipeline, settler: Settler, stop: threading.Event) -> None:
    """The one consumer: ingest complete files, and rescan now and then for missed events."""
    rescan_every = pipeline.config.ingest.rescan_seconds
    next_scan = time.monotonic() + rescan_every
    while not stop.is_set():
        for path in settler.ready(timeout=0.5):
            if stop.is_set():
                return  # files not ingested yet are found by the next start's scan
            pipeline.ingest(path)
        if time.monotonic() >= next_scan:
            # inotify drops events when its queue overflows; a rescan finds what it missed.
            _scan(pipeline, settler, stop)
            next_scan = time.monotonic() + rescan_every


def _scan(
    pipeline: Pipeline, settler: Settler, stop: threading.Event, retry_failed: bool = False
) -> None:
    """Ingest files not yet seen in their present state; recent ones wait to settle."""
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
                pipeline.ingest(path, retry_failed)  # records why it cannot be read
                continue
            record = known.get(str(path))
            if record is not None and record.up_to_date(stat, retry_failed):
                continue
            if settler.writing(path):
                continue  # its close event brings it
            if stat.st_mtime > quiet_since:
                settler.settle(path)  # perhaps still being written: let it settle first
            else:
                pipeline.ingest(path, retry_failed)
