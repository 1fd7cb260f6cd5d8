"""Noticing complete files: the settler with a fake clock, and a real watchdog observer."""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from worker.settings.config import WatchFolder
from worker.sources.watcher import WRITER_GONE_AFTER, Settler, Watcher, scan


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_closed_file_is_ready_at_once(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("news")
    settler = Settler(quiet=5, clock=Clock())
    settler.complete(path)
    assert settler.ready(timeout=0) == [path]
    assert settler.ready(timeout=0) == []


def test_without_close_events_a_file_waits_for_quiet(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("news")
    clock = Clock()
    settler = Settler(quiet=5, clock=clock)
    settler.changed(path, close_follows=False)
    clock.now += 4
    assert settler.ready(timeout=0) == []
    clock.now += 1
    assert settler.ready(timeout=0) == [path]


def test_a_file_still_growing_is_not_ready(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("news")
    clock = Clock()
    settler = Settler(quiet=5, clock=clock)
    settler.changed(path, close_follows=False)
    clock.now += 5
    path.write_text("news, and more news")
    assert settler.ready(timeout=0) == []
    clock.now += 5
    assert settler.ready(timeout=0) == [path]


def test_with_close_events_a_change_alone_does_not_make_it_ready(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("news")
    clock = Clock()
    settler = Settler(quiet=5, clock=clock)
    settler.changed(path, close_follows=True)
    clock.now += 60
    assert settler.ready(timeout=0) == []


def test_scan_takes_patterns_and_skips_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.txt", "b.pdf", ".c.txt", "sub/d.md"):
        (tmp_path / name).write_text("x")
    folder = WatchFolder(path=tmp_path, patterns=("*.txt", "*.md"))
    assert list(scan(folder)) == [tmp_path / "a.txt", tmp_path / "sub" / "d.md"]
    flat = WatchFolder(path=tmp_path, patterns=("*.txt", "*.md"), recursive=False)
    assert list(scan(flat)) == [tmp_path / "a.txt"]


def ready_within(settler: Settler, seconds: float) -> list[Path]:
    deadline = time.monotonic() + seconds
    found: list[Path] = []
    while time.monotonic() < deadline:
        found += settler.ready(timeout=0.2)
    return found


def test_real_observer_sees_written_and_renamed_files(tmp_path: Path) -> None:
    watcher = Watcher([WatchFolder(path=tmp_path)], quiet=0.3)
    watcher.start()
    try:
        with (tmp_path / "slow.txt").open("w") as file:
            for chunk in ("one ", "two ", "three"):
                file.write(chunk)
                file.flush()
                time.sleep(0.5)  # longer than the quiet period
                assert watcher.settler.ready(timeout=0) == []
        (tmp_path / ".partial").write_text("renamed in")
        os.rename(tmp_path / ".partial", tmp_path / "renamed.txt")
        (tmp_path / "ignored.pdf").write_text("not an article")
        found = ready_within(watcher.settler, 2)
    finally:
        watcher.stop()
    assert sorted(set(found)) == [tmp_path / "renamed.txt", tmp_path / "slow.txt"]
    assert (tmp_path / "slow.txt").read_text() == "one two three"


def test_polling_observer_takes_a_file_once_quiet(tmp_path: Path) -> None:
    watcher = Watcher([WatchFolder(path=tmp_path, polling=True)], quiet=0.5)
    watcher.start()
    try:
        (tmp_path / "a.txt").write_text("news")
        found = ready_within(watcher.settler, 4)
    finally:
        watcher.stop()
    assert found == [tmp_path / "a.txt"]


def test_a_file_written_to_and_not_closed_is_being_written(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("news")
    clock = Clock()
    settler = Settler(quiet=5, clock=clock)
    assert not settler.writing(path)
    settler.changed(path, close_follows=True)
    assert settler.writing(path)  # a rescan leaves it alone
    settler.complete(path)
    assert not settler.writing(path)
    assert settler.ready(timeout=0) == [path]


def test_a_lost_close_event_does_not_hold_a_file_for_ever(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("news")
    clock = Clock()
    settler = Settler(quiet=5, clock=clock)
    settler.changed(path, close_follows=True)
    clock.now += WRITER_GONE_AFTER + 1
    assert not settler.writing(path)


def test_a_hidden_staging_folder_is_not_watched_until_files_leave_it(tmp_path: Path) -> None:
    staging = tmp_path / ".staging"
    staging.mkdir()
    watcher = Watcher([WatchFolder(path=tmp_path)], quiet=0.3)
    watcher.start()
    try:
        (staging / "a.txt").write_text("half done")
        assert ready_within(watcher.settler, 1) == []
        os.rename(staging / "a.txt", tmp_path / "a.txt")
        found = ready_within(watcher.settler, 1.5)
    finally:
        watcher.stop()
    assert found == [tmp_path / "a.txt"]


def test_a_folder_moved_in_whole_brings_its_files(tmp_path: Path) -> None:
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    (outside / "day" / "deeper").mkdir(parents=True)
    for name in ("day/a.txt", "day/deeper/b.md", "day/c.pdf", "day/.d.txt"):
        (outside / name).write_text("news")
    flat = tmp_path / "flat"
    flat.mkdir()
    watcher = Watcher([WatchFolder(path=inbox), WatchFolder(path=flat, recursive=False)], 0.3)
    watcher.start()
    try:
        os.rename(outside / "day", inbox / "day")
        (outside / "other").mkdir()
        (outside / "other" / "e.txt").write_text("news")
        os.rename(outside / "other", flat / "other")  # not recursive: not taken
        found = ready_within(watcher.settler, 1.5)
    finally:
        watcher.stop()
    assert sorted(found) == [inbox / "day" / "a.txt", inbox / "day" / "deeper" / "b.md"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_when_the_kernel_cannot_watch_the_folders_are_polled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from watchdog.observers.inotify import InotifyObserver  # Linux only

    class OutOfWatches(InotifyObserver):  # type: ignore[misc]
        """The platform's observer on a busy machine: the user's watches are used up."""

        def schedule(self, *args: Any, **kwargs: Any) -> Any:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    watcher = Watcher(
        [WatchFolder(path=tmp_path)],
        quiet=0.3,
        observer=lambda: (OutOfWatches(generate_full_events=True), True),
    )
    watcher.start()
    try:
        (tmp_path / "a.txt").write_text("news")
        found = ready_within(watcher.settler, 4)
    finally:
        watcher.stop()
    assert found == [tmp_path / "a.txt"]
    assert "the kernel cannot watch these (inotify watch limit reached)" in caplog.text
    assert "they are polled instead" in caplog.text
