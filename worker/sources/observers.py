"""What the folder and edit watchers share: the platform's observer, and telling a folder
replaced by another of its name, or a watch that has stopped."""

from __future__ import annotations

import sys
from pathlib import Path

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

__all__ = ["Identity", "identity", "native_observer", "stopped"]


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


def stopped(observer: BaseObserver) -> bool:
    """Whether an observer, or one of its watches, has stopped by itself."""
    return not observer.is_alive() or any(not emitter.is_alive() for emitter in observer.emitters)
