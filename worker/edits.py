"""Notice edits of the files the user writes: the config, the rule files and the templates."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from worker.sources.observers import Identity, Snapshot, identity, snapshot, stopped

__all__ = ["EditWatcher"]

log = logging.getLogger(__name__)


class EditWatcher:
    """Notices edits to the config, the rule files and the templates (reloaded by the daemon).

    Editors save in bursts (a swap file, a rename, a write), so an edit counts once
    nothing has changed for `quiet` seconds.
    """

    def __init__(
        self, sources: Iterable[Path], quiet: float = 0.5, read: Snapshot | None = None
    ) -> None:
        self._quiet = quiet
        self._read = read  # the files as they were read, if known
        self._last: float | None = None
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        sources = self._sources = list(sources)
        folders = {source for source in sources if source.is_dir()}
        files: dict[Path, set[Path]] = {}  # a folder not watched whole -> the files wanted
        for source in sources:
            if source not in folders and source.parent not in folders:
                files.setdefault(source.parent, set()).add(source)
        self._targets: dict[Path, set[Path] | None] = {**dict.fromkeys(folders), **files}
        self._watched: dict[Path, Identity | None] = {}

    def start(self) -> None:
        """Start watching (non-blocking); without it an edit is applied on SIGHUP only."""
        self._watched = {folder: identity(folder) for folder in self._targets}
        observer = Observer()
        try:
            for folder, wanted in self._targets.items():
                if self._watched[folder] is not None:  # a folder gone is watched once back
                    observer.schedule(_EditHandler(wanted, self._edited), str(folder))
            observer.start()
        except OSError as error:
            observer.stop()
            log.warning(
                "edits of the config, rules and templates are not noticed (%s);"
                " send SIGHUP after an edit to apply it",
                error.strerror or error,
            )
            return
        self._observer = observer
        if self._read is not None and snapshot(self._sources) != self._read:
            self._edited()  # edited after it was read, before the watch began
        self._read = None  # a restart of the watch, after a folder is replaced, is not one

    def stop(self) -> None:
        """Stop watching."""
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=10)
            self._observer = None

    def settled(self) -> bool:
        """Whether an edit was made and has settled; each edit is told once. A folder
        replaced whole (a deploy of the rules, say) is an edit, and is watched anew."""
        if self._replaced():
            self.stop()
            self.start()
            return True
        with self._lock:
            if self._last is None or time.monotonic() - self._last < self._quiet:
                return False
            self._last = None
            return True

    def _edited(self) -> None:
        with self._lock:
            self._last = time.monotonic()

    def _replaced(self) -> bool:
        if self._observer is not None and stopped(self._observer):
            return True
        return any(identity(folder) != known for folder, known in self._watched.items())


class _EditHandler(FileSystemEventHandler):
    """Only notes the time of an edit to one of the files wanted."""

    def __init__(self, files: set[Path] | None, edited: Callable[[], None]) -> None:
        self._files = files
        self._edited = edited

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        paths = (event.src_path, getattr(event, "dest_path", "") or "")
        if any(self._wanted(Path(os.fsdecode(path))) for path in paths if path):
            self._edited()

    def _wanted(self, path: Path) -> bool:
        if path.name.startswith(".") or path.name.endswith("~"):
            return False  # editors' swap, backup and lock files
        return path in self._files if self._files is not None else True
