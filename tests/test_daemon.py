"""The daemon as a user runs it: a subprocess on a temporary folder, real watchdog and SQLite."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Daemon, HeldWrite, make_project, matches_in, wait_for
from worker.settings.config import load_config

pytestmark = pytest.mark.timeout(180)

SLOW_CHUNKS = [
    " date 2024-05-16 Pipeline deal signed in Beijing\n\n",
    "Chinese President Xi Jinping hosted talks on Thursday.\n\n",
    "China and Russia discussed the Power of Siberia 2 pipeline.\n\n",
    "Russian President Vladimir Putin said the meeting was productive.\n",
]

TALKS = " date 2024-05-16 Putin and Xi hold talks\n\nVladimir Putin met Xi Jinping for talks.\n"

BACKLOG = 1000  # files a start finds in the watched folder

RUSSIAN = (
    " date 2024-05-16 Встреча в Пекине\n\n"
    "Президент России Владимир Путин и председатель КНР Си Цзиньпин провели встречу в Пекине. "
    "Стороны обсудили сотрудничество в энергетике и торговлю между двумя странами.\n"
)


@pytest.fixture
def daemon(tmp_path: Path) -> Daemon:
    running = Daemon(make_project(tmp_path, schedule="every 1s", rescan_seconds=1))
    running.start()
    return running


def test_seeds_are_digested_and_sigterm_exits_0(daemon: Daemon) -> None:
    wait_for(lambda: daemon.project.digests(), "the seeds' digest")
    (digest,) = daemon.project.digests()
    assert digest["counts"]["articles"] == 5
    assert daemon.stop() == 0
    assert "SIGTERM received" in daemon.log.read_text(encoding="utf-8")


def status(daemon: Daemon) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "worker", "status", "--json", "-c", str(daemon.project.config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_status_lists_the_running_worker_until_it_stops(daemon: Daemon) -> None:
    assert daemon.process is not None
    (worker,) = status(daemon)["workers"]
    assert (worker["host"], worker["pid"], worker["alive"]) == (
        socket.gethostname(),
        daemon.process.pid,
        True,
    )
    assert set(worker["holds"]) == {"digests", "files", "slots"}
    assert daemon.stop() == 0
    assert status(daemon)["workers"] == []  # stopped cleanly: not a dead one


def test_a_file_written_slowly_is_taken_once_complete(daemon: Daemon) -> None:
    with (daemon.project.inbox / "slow.txt").open("w", encoding="utf-8") as file:
        for chunk in SLOW_CHUNKS:
            file.write(chunk)
            file.flush()
            time.sleep(0.8)  # longer than the quiet period: only the close says it is done
    title = "Pipeline deal signed in Beijing"
    wait_for(lambda: daemon.digested(title), "the slow article in a digest")
    assert daemon.articles("slow.txt") == [title]
    time.sleep(2)
    assert daemon.digested(title) == 2  # xi-putin-contacts and energy-cooperation, once each


def test_a_file_written_then_renamed_in(daemon: Daemon) -> None:
    partial = daemon.project.inbox / ".incoming.txt"  # hidden: not taken while written
    partial.write_text("".join(SLOW_CHUNKS), encoding="utf-8")
    time.sleep(1)
    assert daemon.articles(".incoming.txt") == []
    os.rename(partial, daemon.project.inbox / "renamed.txt")
    wait_for(lambda: daemon.articles("renamed.txt"), "the renamed article")
    wait_for(lambda: daemon.digested("Pipeline deal signed in Beijing"), "its digest")


def test_a_file_arriving_while_the_daemon_is_down(daemon: Daemon) -> None:
    wait_for(lambda: daemon.project.digests(), "the seeds' digest")
    assert daemon.stop() == 0
    sent = sent_matches(daemon)  # on a loaded machine the seeds may span two digests
    (daemon.project.inbox / "offline.txt").write_text("".join(SLOW_CHUNKS), encoding="utf-8")
    daemon.start()
    wait_for(lambda: daemon.digested("Pipeline deal signed in Beijing"), "the offline article")
    assert daemon.articles("offline.txt") == ["Pipeline deal signed in Beijing"]
    again = sent_matches(daemon)
    assert {title: again[title] for title in sent} == sent  # what was sent was not sent again


def sent_matches(daemon: Daemon) -> Counter[str]:
    """How many matches of each article title the digests written so far list."""
    return Counter(title for digest in daemon.project.digests() for title in matches_in(digest))


def test_bad_files_are_recorded_and_nothing_stops(daemon: Daemon) -> None:
    (daemon.project.inbox / "blob.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (daemon.project.inbox / "russian.txt").write_bytes(RUSSIAN.encode("cp1251"))
    wait_for(lambda: daemon.failure("blob.txt"), "the binary file's failure")
    assert daemon.failure("blob.txt") == "binary file"
    assert (daemon.project.inbox / "blob.txt").exists()  # never deleted or moved
    wait_for(lambda: daemon.digested("Встреча в Пекине"), "the cp1251 article")


def test_an_empty_file_later_filled(daemon: Daemon) -> None:
    (daemon.project.inbox / "later.txt").touch()
    wait_for(lambda: daemon.failure("later.txt"), "the empty file's failure")
    assert daemon.failure("later.txt") == "empty file"
    (daemon.project.inbox / "later.txt").write_text("".join(SLOW_CHUNKS), encoding="utf-8")
    wait_for(lambda: daemon.digested("Pipeline deal signed in Beijing"), "the filled article")
    assert daemon.failure("later.txt") is None


def test_a_file_the_watcher_missed_is_found_by_the_rescan(daemon: Daemon, tmp_path: Path) -> None:
    # A hard link makes a complete file appear with no close event: only a rescan sees it,
    # as it sees the files whose events the kernel dropped when its queue overflowed.
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("".join(SLOW_CHUNKS), encoding="utf-8")
    os.utime(outside, (time.time() - 60, time.time() - 60))
    os.link(outside, daemon.project.inbox / "linked.txt")
    wait_for(lambda: daemon.articles("linked.txt"), "the linked article")
    wait_for(lambda: daemon.digested("Pipeline deal signed in Beijing"), "its digest")


def test_files_whose_events_the_kernel_dropped_are_found_at_once(tmp_path: Path) -> None:
    # A real overflow of the daemon's own inotify queue, which touches no one else's: the
    # daemon is stopped (SIGSTOP) while more events than the queue holds happen in its
    # folder, then the articles arrive, their events dropped.
    daemon = Daemon(make_project(tmp_path, schedule="every 1s"))  # a rescan only every 300 s
    daemon.start()
    wait_for(lambda: daemon.project.digests(), "the seeds' digest")
    assert daemon.process is not None
    queue = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text(encoding="ascii"))
    titles = [f"Xi and Putin meet, round {n}" for n in range(3)]
    daemon.process.send_signal(signal.SIGSTOP)
    try:
        noise = daemon.project.inbox / "noise.tmp"  # not an article: only its events count
        for _ in range(queue):  # created and removed: three events or more each
            noise.touch()  # empty: no disk blocks to free, which is slow on some disks
            noise.unlink()
        for n, title in enumerate(titles):
            text = f" date 2024-05-16 {title}\n\nXi Jinping met Vladimir Putin for talks.\n"
            (daemon.project.inbox / f"{n}.txt").write_text(text, encoding="utf-8")
    finally:
        daemon.process.send_signal(signal.SIGCONT)
    wait_for(lambda: all(daemon.digested(title) for title in titles), "every article sent")
    lost = f"{daemon.project.inbox}: file events were lost (the kernel's queue overflowed)"
    assert daemon.log_text().count(lost) == 1
    assert daemon.stop() == 0


def test_ingest_beside_the_daemon_loses_nothing_and_sends_nothing_twice(
    daemon: Daemon, tmp_path: Path
) -> None:
    wait_for(lambda: daemon.project.digests(), "the seeds' digest")
    archive = tmp_path / "archive"
    archive.mkdir()
    titles = [f"Xi and Putin meet, round {n}" for n in range(40)]
    for n, title in enumerate(titles):
        text = f" date 2024-05-16 {title}\n\nXi Jinping met Vladimir Putin for talks, round {n}.\n"
        (archive / f"{n:02}.txt").write_text(text, encoding="utf-8")
        if n % 2:  # half of them also arrive in the watched folder, at the same time
            (daemon.project.inbox / f"{n:02}.txt").write_text(text, encoding="utf-8")
    backfill = subprocess.run(
        [sys.executable, "-m", "worker", "ingest", "-c", str(daemon.project.config), str(archive)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert backfill.returncode == 0, backfill.stderr
    wait_for(lambda: all(daemon.digested(t) for t in titles), "every article in a digest")
    time.sleep(2)  # a few more digest runs: nothing may come twice
    assert [daemon.digested(title) for title in titles] == [1] * len(titles)
    assert daemon.stop() == 0


def test_a_watched_folder_replaced_while_running_is_watched_anew(tmp_path: Path) -> None:
    daemon = Daemon(make_project(tmp_path, schedule="every 1s"))  # a rescan only every 300 s
    daemon.start()
    wait_for(lambda: daemon.project.digests(), "the seeds' digest")
    inbox = daemon.project.inbox
    inbox.rmdir()  # a deploy or a remount puts another folder of the same name in its place
    inbox.mkdir()
    wait_for(lambda: "watching anew" in daemon.log_text(), "the watch renewed")
    (inbox / "talks.txt").write_text("".join(SLOW_CHUNKS), encoding="utf-8")
    wait_for(lambda: daemon.digested("Pipeline deal signed in Beijing"), "the new article sent")
    assert daemon.stop() == 0


def test_a_file_that_cannot_be_recorded_while_the_state_is_locked_waits_until_it_is_free(
    tmp_path: Path,
) -> None:
    timing = "{lease: 2s, sweep: 1s, stop_grace: 1s, batch: 1s, busy_timeout: 0.5s}"
    project = make_project(tmp_path, schedule="every 1s", rescan_seconds=1, timing=timing)
    daemon = Daemon(project)
    daemon.start()
    wait_for(project.digests, "the seeds' digest")
    held = HeldWrite(
        load_config(project.config, {}).state_url
    )  # another process holds the state's write lock meanwhile
    held.take()
    try:
        big = project.inbox / "big.txt"  # over the limit: its failure must be recorded
        big.write_text(" date 2024-05-16 Talks\n\n" + "Putin met Xi. " * 500_000, "utf-8")
        said = "cannot be reached: database is locked; what waits for it is tried again"
        wait_for(lambda: said in daemon.log_text(), "the outage said")
        assert daemon.process is not None
        assert daemon.process.poll() is None  # still running
    finally:
        held.release()
        held.close()
    wait_for(lambda: daemon.failure("big.txt") is not None, "the failure recorded")
    assert daemon.log_text().count(said) == 1  # once for the outage, not once a try
    assert " is back after " in daemon.log_text()
    assert "over the 5 MB limit" in (daemon.failure("big.txt") or "")
    (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: daemon.articles("talks.txt"), "the next file")
    assert daemon.stop() == 0


def test_a_stop_during_a_long_start_up_scan_ends_it_and_the_next_start_takes_the_rest(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path, schedule="every 1s")
    long = "\nThe talks went on into the night, and on into the next day.\n" * 300
    an_hour_ago = time.time() - 3600  # a backlog: no file waits to settle
    for n in range(BACKLOG):
        path = project.inbox / f"{n:05}.txt"
        path.write_text(f" date 2024-05-16 Putin and Xi hold talks, round {n}\n\n{long}", "utf-8")
        os.utime(path, (an_hour_ago, an_hour_ago))
    daemon = Daemon(project)
    daemon.start()
    wait_for(lambda: stored(project.root, "articles") > 5, "the first batch stored")
    assert daemon.stop() == 0
    assert stored(project.root, "articles") < BACKLOG  # stopped in the middle of the scan
    daemon.start()
    wait_for(lambda: stored(project.root, "articles") == BACKLOG + 5, "the rest stored", 120)
    wait_for(lambda: stored(project.root, "pending") == 0, "every match sent")
    assert daemon.stop() == 0
    sent = sum(
        d["counts"]["matches"] + d.get("more", {}).get("count", 0) for d in project.digests()
    )
    assert sent == stored(project.root, "matches")  # each match sent once
    assert stored(project.root, "files") == BACKLOG + 5  # every file recorded
    assert stored(project.root, "file_claims WHERE done_at IS NULL") == 0  # none left held


def stored(root: Path, table: str) -> int:
    """The rows of a table of the project's state, as another process reads them."""
    with sqlite3.connect(f"file:{root / 'var' / 'wirewatch.db'}?mode=ro", uri=True) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
