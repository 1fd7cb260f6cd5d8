"""The state's own faults as an operator meets them, with the real daemon: the state file
locked by another process, deleted while the daemon runs, on a disk that is full."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import OPS, Daemon, Project, alerts, make_project, wait_for
from tests.servers import free_port

pytestmark = pytest.mark.timeout(180)

TALKS = " date 2024-05-16 Putin and Xi hold talks\n\nVladimir Putin met Xi Jinping for talks.\n"
BUSY = "{lease: 2s, sweep: 1s, stop_grace: 1s, batch: 1s, busy_timeout: 1s}"


def wirewatch(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """A `wirewatch` command on the project, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "worker", *args, "-c", str(project.config)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=project.root,
    )


def status(project: Project) -> dict[str, Any]:
    done = wirewatch(project, "status", "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_an_article_arriving_while_another_process_holds_the_state_locked_is_taken_later(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path, schedule="every 1s", rescan_seconds=60, timing=BUSY)
    daemon = Daemon(project)
    daemon.start()
    wait_for(project.digests, "the seeds' digest")
    other = sqlite3.connect(project.root / "var" / "wirewatch.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writes, for longer than the busy timeout
    try:
        (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
        wait_for(lambda: "database is locked" in daemon.log_text(), "the wait said")
        time.sleep(3)
    finally:
        other.execute("ROLLBACK")
        other.close()
    wait_for(lambda: daemon.digested("Putin and Xi hold talks"), "the article in a digest")
    assert daemon.articles("talks.txt") == ["Putin and Xi hold talks"]
    report = status(project)
    assert report["failures"] == []
    assert report["articles"]["failed"] == 0
    assert "Traceback" not in daemon.log_text()
    said = "wirewatch.db cannot be reached: database is locked"
    assert daemon.log_text().count(said) == 1  # once for the wait, not once a try
    assert daemon.log_text().count(" is back after ") == 1  # once, when it is
    assert daemon.stop() == 0


def test_ingest_waits_for_a_state_another_process_holds_locked(tmp_path: Path) -> None:
    project = make_project(tmp_path, timing=BUSY)
    (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    assert wirewatch(project, "status").returncode == 0  # the state file is made
    other = sqlite3.connect(project.root / "var" / "wirewatch.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    told = project.root / "ingest.log"
    try:
        with told.open("w", encoding="utf-8") as log_file:
            backfill = subprocess.Popen(
                [sys.executable, "-m", "worker", "ingest", "-c", str(project.config), "inbox"],
                cwd=project.root,
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
            )
        wait_for(lambda: "database is locked" in told.read_text("utf-8"), "the wait said")
        assert backfill.poll() is None  # still waiting, past the busy timeout
    finally:
        other.execute("ROLLBACK")
        other.close()
    out, _ = backfill.communicate(timeout=60)
    err = told.read_text("utf-8")
    assert backfill.returncode == 0, err
    assert "1 new article, 1 matched" in out
    assert "failed" not in out
    assert err.count("database is locked") == 1
    assert status(project)["failures"] == []


GONE = "the state file was deleted or replaced while wirewatch ran"


def test_a_state_file_deleted_while_running_stops_the_daemon_and_a_start_refuses(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path, schedule="every 1s")
    state = project.root / "var" / "wirewatch.db"
    daemon = Daemon(project)
    daemon.start()
    wait_for(project.digests, "the seeds' digest")
    state.unlink()  # a clean-up script, or a slip of the hand
    assert daemon.process is not None
    assert daemon.process.wait(timeout=30) == 78  # EX_CONFIG: systemd does not restart it
    daemon.process = None
    assert daemon.log_text().count(GONE) == 1
    assert "Traceback" not in daemon.log_text()
    assert not state.exists()  # nothing begun anew behind the operator's back

    for command in (["run"], ["status"]):
        refused = wirewatch(project, *command)
        assert refused.returncode == 78, refused.stderr
        (line,) = refused.stderr.splitlines()
        assert "the state file is gone" in line
        assert "restore it from a backup" in line
        assert "wirewatch run --fresh" in line
        assert not state.exists()

    (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    daemon.start("--fresh")  # begins anew: everything in the folders is read and sent again
    wait_for(lambda: daemon.digested("Putin and Xi hold talks"), "the new article in a digest")
    wait_for(lambda: len(project.digests()) >= 2, "the seeds sent again")
    assert daemon.stop() == 0
    again = wirewatch(project, "run", "--fresh")  # the state is there: nothing is begun anew
    assert again.returncode == 2
    assert "run without --fresh" in again.stderr
    daemon.start()
    assert daemon.stop() == 0


def test_a_state_file_gone_after_a_pass_is_noticed_and_a_fresh_pass_begins_anew(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    state = project.root / "var" / "wirewatch.db"
    assert wirewatch(project, "run", "--once").returncode == 0
    sent = len(project.digests())
    assert sent >= 1
    state.unlink()

    refused = wirewatch(project, "run", "--once")  # from cron: a lost state is said, not begun anew
    assert refused.returncode == 78, refused.stderr
    (line,) = refused.stderr.splitlines()
    assert "the state file is gone" in line
    assert not state.exists()
    assert len(project.digests()) == sent

    assert wirewatch(project, "run", "--once", "--fresh").returncode == 0
    assert state.exists()
    assert len(project.digests()) > sent  # begun anew: the seeds are sent again
    again = wirewatch(project, "run", "--once", "--fresh")
    assert again.returncode == 2
    assert "run without --fresh" in again.stderr


@contextmanager
def small_disk() -> Iterator[Path]:
    """A 4 MB tmpfs of its own, unmounted at the end."""
    folder = Path(tempfile.mkdtemp(prefix="wirewatch-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"a tmpfs cannot be mounted here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


def fill(folder: Path) -> Path:
    """A file filling the disk to its last byte."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        size = 1 << 20
        while size:
            try:
                out.write(b"\0" * size)
            except OSError:
                size //= 2
    return filler


def test_a_full_disk_is_said_once_shown_by_status_and_nothing_is_lost(tmp_path: Path) -> None:
    port = free_port()
    with small_disk() as disk:
        project = make_project(
            tmp_path,
            schedule="every 1s",
            state=str(disk / "wirewatch.db"),
            extra=OPS + f"http:\n  listen: 127.0.0.1:{port}\n",
        )
        daemon = Daemon(project)
        daemon.start()
        # Marked sent before the disk fills: a digest delivered and not yet marked is told
        # of on its own, and is not what this test counts.
        wait_for(lambda: status(project)["channels"]["local"]["sent"], "the seeds' digest sent")
        filler = fill(disk)
        titles = [f"Xi and Putin meet, round {n}" for n in range(20)]
        for n, title in enumerate(titles):
            text = f" date 2024-05-16 {title}\n\nXi Jinping met Vladimir Putin, round {n}.\n"
            (project.inbox / f"{n:02}.txt").write_text(text * 50, encoding="utf-8")
        wait_for(lambda: "storage full" in daemon.log_text(), "the full disk said")
        report = status(project)
        assert "storage full" in report["store"]
        assert "store: storage full" in wirewatch(project, "status").stdout
        healthz = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert healthz.status_code == 503
        assert "storage full" in healthz.text
        wait_for(lambda: alerts(tmp_path / "ops"), "the alert of the full disk")
        [told] = alerts(tmp_path / "ops")
        assert (told["part"], told["state"]) == ("store", "trouble")
        assert "storage full" in told["problem"]
        filler.unlink()
        wait_for(lambda: all(daemon.digested(t) for t in titles), "every article in a digest")
        wait_for(lambda: "store: cleared" in daemon.log_text(), "the alert that it cleared")
        assert len(alerts(tmp_path / "ops")) == 2
        log = daemon.log_text()
        said = [line for line in log.splitlines() if "storage full" in line]
        assert len(said) == 3, said  # the error once, and the alert and its clearing sent
        assert sum("ERROR" in line for line in said) == 1
        assert "Traceback" not in log
        assert status(project)["store"] is None
        assert status(project)["failures"] == []
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        assert daemon.stop() == 0


def test_a_digest_the_file_channel_cannot_write_to_a_full_disk_waits_and_is_sent(
    tmp_path: Path,
) -> None:
    with small_disk() as disk:
        project = make_project(tmp_path)
        config = project.config.read_text(encoding="utf-8")
        project.config.write_text(config.replace("path: outbox/", f"path: {disk}"), "utf-8")
        filler = fill(disk)
        full = wirewatch(project, "run", "--once")
        assert full.returncode == 1
        assert "No space left on device" in full.stderr
        assert "Traceback" not in full.stderr
        assert [path.name for path in disk.iterdir()] == ["filler"]  # no half-written file
        filler.unlink()
        daemon = Daemon(project)
        daemon.start()  # the retry, when it is due
        wait_for(lambda: list(disk.glob("*.json")), "the digest written")
        assert daemon.stop() == 0
        assert "Traceback" not in daemon.log_text()
