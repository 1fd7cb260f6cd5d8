"""What the folder and edit watchers share: the platform's observer, and telling a folder
replaced by another of its name, or a watch that has stopped."""

from __future__ import annotations

import sys
from pathlib import Path

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

__all__ = ["Identity", "Snapshot", "identity", "native_observer", "snapshot", "stopped"]


def native_observer() -> tuple[BaseObserver, bool]:
    """The platform's observer, and whether it reports files closed after writing."""
    if not sys.platform.startswith("linux"):
        return Observer(), False
    # Imported here: the module exists on Linux only.
    from watchdog.observers.inotify import InotifyObserver

    # Full events tell a file moved in from outside (a move with no source) from a file
    # created here: the first is complete at once, the second when its writer closes it.
    return InotifyObserver(generate_full_events=True), True


Identity = tuple[int, int]  # device and inode: another folder of the same name differs


def identity(folder: Path) -> Identity | None:
    """The folder's device and inode; None when it is not there (or not a folder)."""
    try:
        found = folder.stat()
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if folder.is_dir() else None


Snapshot = dict[Path, tuple[int, int]]  # each file: its size and time of last change


def snapshot(paths: list[Path]) -> Snapshot:
    """The files as they are now, those in folders included, so that an edit made since —
    before a watcher was there to see it — can be told."""
    files = [file for path in paths for file in _files(path)]
    found: Snapshot = {}
    for file in files:
        try:
            stat = file.stat()
        except OSError:  # gone meanwhile: absent from the snapshot, as if never there
            continue
        found[file] = (stat.st_size, stat.st_mtime_ns)
    return found


def _files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    return sorted(file for file in path.rglob("*") if not file.is_dir())


def stopped(observer: BaseObserver) -> bool:
    """Whether an observer, or one of its watches, has stopped by itself."""
    return not observer.is_alive() or any(not emitter.is_alive() for emitter in observer.emitters)
