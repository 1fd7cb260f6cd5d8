"""`wirewatch ingest` killed with SIGKILL in the middle of a backfill, then run again: every
article is stored once, and each match is sent once."""

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


def stored_articles(state: Path) -> int:
    """Articles the state holds now, as another process reads them."""
    if not state.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:  # not made yet
        return 0


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
    ingest = [sys.executable, "-m", "worker", "ingest", "-q", "-c", config, str(archive)]
    killed = subprocess.Popen(ingest, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: stored_articles(state) > before, "the first batch stored")
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.wait()
    assert killed.returncode == -signal.SIGKILL, "the ingest ended before it could be killed"
    stored_when_killed = stored_articles(state) - before
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
