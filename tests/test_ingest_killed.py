"""`wirewatch ingest` killed with SIGKILL in the middle of a backfill, and `run --once` in the
middle of its start-up scan, then run again: every article is stored once, and each match
is sent once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Project, make_project, titles_in, wait_for
from worker.cli import main

FILES = 1500
ARTICLE = """\
Putin and Xi hold talks number {n}

Russian President Vladimir Putin met Chinese President Xi Jinping in Beijing, meeting {n}.
"""

SCANNED = 300  # files a start finds in the watched folder, each this much longer:
LONG = "\nThe talks went on into the night, and on into the next day.\n" * 300


def stored_articles(state: Path) -> int:
    """Articles the state holds now, as another process reads them."""
    if not state.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:  # not made yet
        return 0


def killed_once_stored(args: list[str], state: Path) -> int:
    """`wirewatch ARGS` killed with SIGKILL once its first articles are stored: how many."""
    before = stored_articles(state)
    argv = [sys.executable, "-m", "worker", *args]
    killed = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: stored_articles(state) > before, "the first batch stored")
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.wait()
    assert killed.returncode == -signal.SIGKILL, f"{args[0]} ended before it could be killed"
    return stored_articles(state) - before


def test_ingest_killed_mid_batch_stores_each_article_once_and_sends_it_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project: Project = make_project(tmp_path / "project")
    config, state = str(project.config), project.root / "var" / "wirewatch.db"
    assert main(["run", "--once", "-c", config]) == 0  # the seeds, sent first
    seeds = len(project.digests())
    archive = tmp_path / "archive"
    archive.mkdir()
    for n in range(FILES):
        (archive / f"{n:05}.txt").write_text(ARTICLE.format(n=n), encoding="utf-8")
    before = stored_articles(state)
    stored_when_killed = killed_once_stored(["ingest", "-q", "-c", config, str(archive)], state)
    assert 0 < stored_when_killed < FILES
    capsys.readouterr()

    assert main(["ingest", "-c", config, str(archive)]) == 0
    summary = capsys.readouterr().out
    # What the killed run stored is known, its file recorded with it; nothing half-stored
    # is read again as "already known".
    unchanged = f"{stored_when_killed} files unchanged since ingested"
    assert f"{FILES - stored_when_killed} new articles" in summary
    assert "already known" not in summary
    assert unchanged in summary
    assert stored_articles(state) - before == FILES

    assert main(["status", "--json", "-c", config]) == 0
    assert json.loads(capsys.readouterr().out)["channels"]["local"]["pending"] == FILES
    assert main(["run", "--once", "-c", config]) == 0
    (digest,) = project.digests()[seeds:]
    titles = titles_in(digest)
    assert len(titles) == len(set(titles)) == digest["counts"]["matches"]  # none twice


def test_run_once_killed_mid_scan_then_run_again_takes_every_file_and_sends_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file's claim outlives a killed process by four leases: what the killed run had
    # claimed and not stored would wait that long.
    timing = "{lease: 60s, sweep: 1s, stop_grace: 1s, batch: 1s}"
    project: Project = make_project(tmp_path / "project", timing=timing)
    config, state = str(project.config), project.root / "var" / "wirewatch.db"
    assert main(["run", "--once", "-c", config]) == 0  # the seeds, sent first
    seeds = len(project.digests())
    for n in range(SCANNED):
        text = ARTICLE.format(n=n) + LONG  # long: the run is mostly reading and matching
        (project.inbox / f"{n:05}.txt").write_text(text, encoding="utf-8")
    before = stored_articles(state)
    assert 0 < killed_once_stored(["run", "--once", "-q", "-c", config], state) < SCANNED
    assert project.digests()[seeds:] == []

    assert main(["run", "--once", "-c", config]) == 0
    assert stored_articles(state) - before == SCANNED
    (digest,) = project.digests()[seeds:]
    titles = titles_in(digest)
    assert len(titles) == len(set(titles)) == digest["counts"]["matches"]  # none twice
    capsys.readouterr()
    assert main(["status", "--json", "-c", config]) == 0
    assert json.loads(capsys.readouterr().out)["channels"]["local"]["pending"] == 0
    assert len(titles) + digest["more"]["count"] == SCANNED  # each matched once, all sent
