"""Notice files in the watched folders, and hand each one on once it is complete.

On Linux (inotify) a file is complete when the writer closes it, or when it is renamed or
moved into the folder (the write-then-rename pattern). Other observers, and `polling: true`,
have no close event: there a file is complete once it has not changed for a quiet period.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirMovedEvent,
    EventsLostEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from worker.settings.config import WatchFolder
from worker.sources.observers import Identity, identity, native_observer, stopped
from worker.wording import quoted

__all__ = [
    "WRITER_GONE_AFTER",
    "Settler",
    "Watcher",
    "scan",
    "scan_tree",
    "wanted",
]

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]

# A file written to and not closed since is left to its close event, unless nothing has
# been written for this long: then the close event was lost (an inotify queue overflow).
WRITER_GONE_AFTER = 600.0


@dataclass
class _Waiting:
    due: float
    size: int
    mtime_ns: int


class Settler:
    """Files that changed, each handed out once it is complete. Thread safe."""

    def __init__(self, quiet: float, clock: Monotonic = time.monotonic) -> None:
        self._quiet = quiet
        self._clock = clock
        self._waiting: dict[Path, _Waiting] = {}
        self._writing: dict[Path, float] = {}  # written to, not closed yet: when last written
        self._arrived: list[tuple[Path, tuple[str, ...]]] = []  # folders moved in, to list
        self._lost: set[Path] = set()  # folders whose events were dropped, not scanned yet
        self._changed = threading.Condition()

    def complete(self, path: Path) -> None:
        """The file was closed after writing, or moved in: take it now."""
        with self._changed:
            self._writing.pop(path, None)
        self._put(path, self._clock())

    def changed(self, path: Path, close_follows: bool) -> None:
        """The file changed; wait for its close event where one follows, else for quiet."""
        if not close_follows:
            self._put(path, self._clock() + self._quiet)
            return
        with self._changed:
            self._waiting.pop(path, None)  # written to again: its next close brings it back
            self._writing[path] = self._clock()

    def writing(self, path: Path) -> bool:
        """Whether a writer still has the file open, as far as the events tell."""
        with self._changed:
            since = self._writing.get(path)
            if since is not None and self._clock() - since > WRITER_GONE_AFTER:
                del self._writing[path]  # its close event was lost
                since = None
            return since is not None

    def folder_arrived(self, folder: Path, patterns: tuple[str, ...]) -> None:
        """A folder was moved in whole: its files are complete (listed by the consumer)."""
        with self._changed:
            self._arrived.append((folder, patterns))
            self._changed.notify()

    def events_lost(self, folder: Path) -> None:
        """The observer dropped the folder's events (the kernel's queue overflowed): files
        may have arrived there unseen."""
        with self._changed:
            self._lost.add(folder)
            self._changed.notify()

    def take_events_lost(self) -> list[Path]:
        """The folders whose events were dropped since the last call, for a scan to find
        what those told."""
        with self._changed:
            lost, self._lost = sorted(self._lost), set()
            return lost

    def settle(self, path: Path) -> None:
        """Take the file once it has been quiet for the quiet period (scans use this)."""
        self._put(path, self._clock() + self._quiet)

    def later(self, path: Path, seconds: float) -> None:
        """Take the file again in `seconds` (it could not be taken now)."""
        self._put(path, self._clock() + seconds)

    def _put(self, path: Path, due: float) -> None:
        size, mtime_ns = _fingerprint(path)
        with self._changed:
            self._waiting[path] = _Waiting(due, size, mtime_ns)
            self._changed.notify()

    def ready(self, timeout: float) -> list[Path]:
        """Wait up to `timeout` seconds for files that are complete, and hand them out."""
        deadline = self._clock() + timeout
        self._list_arrived()
        with self._changed:
            while True:
                now = self._clock()
                ready = self._take_ready(now)
                if ready or now >= deadline or self._lost:
                    return ready
                due = min((w.due for w in self._waiting.values()), default=deadline)
                self._changed.wait(max(0.0, min(due, deadline) - now))

    def _list_arrived(self) -> None:
        with self._changed:
            arrived, self._arrived = self._arrived, []
        for folder, patterns in arrived:
            for path in scan_tree(folder, patterns, recursive=True):
                self.complete(path)

    def _take_ready(self, now: float) -> list[Path]:
        ready = []
        for path, waiting in list(self._waiting.items()):
            if waiting.due > now:
                continue
            size, mtime_ns = _fingerprint(path)
            if (size, mtime_ns) != (waiting.size, waiting.mtime_ns):
                # Still changing: a writer without close events is not done yet.
                self._waiting[path] = _Waiting(now + self._quiet, size, mtime_ns)
                continue
            del self._waiting[path]
            ready.append(path)
        return sorted(ready)

    def __len__(self) -> int:
        with self._changed:
            return len(self._waiting)


def _fingerprint(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)


def wanted(path: Path, patterns: Iterable[str]) -> bool:
    """Whether a file name is one to ingest: matches a pattern and is not hidden."""
    name = path.name
    return not name.startswith(".") and any(fnmatch.fnmatch(name, p) for p in patterns)


def scan(folder: WatchFolder) -> Iterator[Path]:
    """Every file in a watched folder that its patterns take, in name order."""
    return scan_tree(folder.path, folder.patterns, folder.recursive)


def scan_tree(top: Path, patterns: Iterable[str], recursive: bool) -> Iterator[Path]:
    """Every file under `top` that `patterns` take, hidden files and folders left out."""
    patterns = tuple(patterns)
    for root, dirs, files in os.walk(top, onerror=_unlisted):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        yield from (Path(root, f) for f in sorted(files) if wanted(Path(f), patterns))


def _unlisted(error: OSError) -> None:
    log.warning("%s: cannot list the folder: %s", quoted(error.filename), error.strerror)


class _Handler(FileSystemEventHandler):
    """Only enqueues: every decision and all I/O happen in the consumer."""

    def __init__(self, folder: WatchFolder, settler: Settler, close_events: bool) -> None:
        self._folder = folder
        self._settler = settler
        self._close_events = close_events

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._enqueue(event)
        except Exception:  # the observer thread must survive anything one event does
            log.exception("watch %s: could not handle %s", self._folder.path, event)

    def _enqueue(self, event: FileSystemEvent) -> None:
        if isinstance(event, EventsLostEvent):
            self._settler.events_lost(self._folder.path)
            return
        if isinstance(event, DirMovedEvent):
            folder = Path(os.fsdecode(event.dest_path))
            if self._folder.recursive and self._visible(folder):
                self._settler.folder_arrived(folder, self._folder.patterns)
            return
        if event.is_directory:
            return
        if isinstance(event, FileMovedEvent):
            self._take(event.dest_path, self._settler.complete)
        elif isinstance(event, FileClosedEvent):
            self._take(event.src_path, self._settler.complete)
        # With close events a bare creation waits for its close, or else (a hard link,
        # which is complete at once but is never closed) for the next rescan.
        elif isinstance(event, FileModifiedEvent) or (
            isinstance(event, FileCreatedEvent) and not self._close_events
        ):
            self._take(event.src_path, self._changed)

    def _changed(self, path: Path) -> None:
        self._settler.changed(path, close_follows=self._close_events)

    def _take(self, raw: bytes | str, into: Callable[[Path], None]) -> None:
        path = Path(os.fsdecode(raw))
        if wanted(path, self._folder.patterns) and self._visible(path.parent):
            into(path)

    def _visible(self, path: Path) -> bool:
        """Not in a hidden folder below the watched one (`.staging/`), as a scan sees it."""
        try:
            parts = path.relative_to(self._folder.path).parts
        except ValueError:
            return False
        return not any(part.startswith(".") for part in parts)


_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirMovedEvent,
    EventsLostEvent,
]


class Watcher:
    """Watchdog observers over the watched folders, feeding one `Settler`."""

    def __init__(
        self,
        folders: Iterable[WatchFolder],
        quiet: float,
        observer: Callable[[], tuple[BaseObserver, bool]] = native_observer,
    ) -> None:
        self._folders = list(folders)
        self._observer = observer  # the platform's, and whether it tells of files closed
        self._observers: list[BaseObserver] = []
        self._watched: dict[Path, Identity | None] = {}
        self.settler = Settler(quiet)

    def start(self) -> None:
        """Start watching (non-blocking); folders the kernel cannot watch are polled."""
        self._watched = {folder.path: identity(folder.path) for folder in self._folders}
        present = [folder for folder in self._folders if self._watched[folder.path] is not None]
        for folder in self._folders:
            if folder not in present:
                log.warning(
                    "%s: the watched folder is gone; watched again once it is back", folder.path
                )
        native = [folder for folder in present if not folder.polling]
        polled = [folder for folder in present if folder.polling]
        if native:
            try:
                self._start_native(native)
            except OSError as error:
                log.warning(
                    "%s: the kernel cannot watch these (%s); they are polled instead. Raise"
                    " fs.inotify.max_user_instances and max_user_watches, or set polling: true",
                    ", ".join(str(folder.path) for folder in native),
                    error.strerror or error,
                )
                polled += native
        for folder in polled:
            self._start(PollingObserver(), False, [folder])

    def _start_native(self, folders: list[WatchFolder]) -> None:
        observer, closes = self._observer()
        try:
            self._start(observer, closes, folders)
        except OSError:
            observer.stop()
            raise

    def _start(self, observer: BaseObserver, closes: bool, folders: list[WatchFolder]) -> None:
        for folder in folders:
            observer.schedule(
                _Handler(folder, self.settler, closes),
                str(folder.path),
                recursive=folder.recursive,
                event_filter=_EVENTS,
            )
        observer.start()
        self._observers.append(observer)

    def stop(self) -> None:
        """Stop watching and wait for the observer threads."""
        for observer in self._observers:
            observer.stop()
        for observer in self._observers:
            observer.join(timeout=10)
        self._observers = []

    def lost(self) -> bool:
        """Whether a folder is no longer watched: removed, replaced by another of its name
        (a deploy, a remount), back after it was gone, or its watch has stopped."""
        if any(stopped(observer) for observer in self._observers):
            return True
        return any(identity(path) != known for path, known in self._watched.items())

    def trouble(self) -> str | None:
        """What `/healthz` says of the watch: a folder whose observer thread has stopped."""
        for observer in self._observers:
            if stopped(observer):
                folders = ", ".join(emitter.watch.path for emitter in observer.emitters)
                return f"the watch of {folders or 'the folders'} has stopped"
        return None

    def restart(self) -> None:
        """Watch the folders again, as they are now."""
        self.stop()
        self.start()
