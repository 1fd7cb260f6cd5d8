"""Retention and backup as a user runs them: `wirewatch prune`, the daemon's own prune,
and `wirewatch backup` while the daemon works."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Daemon, Project, make_project, wait_for
from worker.cli import main

NEW_ARTICLE = """\
Putin and Xi hold talks in Beijing

Russian President Vladimir Putin met Chinese President Xi Jinping in Beijing on Thursday.
"""
SEED = "001_d9422b366859b37e.txt"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def wirewatch(project: Project, *args: str) -> int:
    return main([args[0], "-c", str(project.config), *args[1:]])


def status(project: Project, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert wirewatch(project, "status", "--json") == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def past_the_window() -> None:
    """What was stored until now is older than the tests' window of 0.1 s."""
    time.sleep(0.2)


def test_prune_removes_what_was_sent_keeps_what_is_owed_and_says_so(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "run", "--once") == 0  # the seeds, sent
    (project.inbox / "talks.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert wirewatch(project, "ingest", str(project.inbox)) == 0  # pending, not sent
    before = status(project, capsys)
    past_the_window()
    window = ("--articles", "0.1s", "--digests", "0.1s")
    assert wirewatch(project, "prune", *window, "--dry-run") == 0
    counted = capsys.readouterr().out.strip()
    assert status(project, capsys) == before  # a dry run removes nothing
    assert wirewatch(project, "prune", *window) == 0
    removed = capsys.readouterr().out.strip()
    assert removed.startswith("removed 5 articles, ")
    assert removed.endswith(", 0 digests; kept 1 still owed")  # the channel's last sent
    assert counted == removed.replace("removed", "would remove")
    after = status(project, capsys)
    assert after["articles"] == {"ingested": 1, "failed": 0}
    assert after["channels"]["local"]["pending"] == 1  # the new article, still owed
    # the seeds' digest, the last the channel sent, stays: when it last sent is known
    assert after["channels"]["local"]["last_sent"] == before["channels"]["local"]["last_sent"]
    assert wirewatch(project, "prune", *window) == 0
    assert capsys.readouterr().out.strip() == (
        "removed 0 articles, 0 matches, 0 digests; kept 1 still owed"
    )


def test_a_pruned_article_is_never_ingested_or_sent_again(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "run", "--once") == 0
    past_the_window()
    assert wirewatch(project, "prune", "--articles", "0.1s", "--digests", "0.1s") == 0
    seed = project.root / "seeds" / SEED
    (project.inbox / "renamed.txt").write_bytes(seed.read_bytes())  # the same, another name
    os.utime(seed, (time.time() + 5, time.time() + 5))  # touched: read again
    assert wirewatch(project, "run", "--once") == 0
    assert len(project.digests()) == 1
    assert status(project, capsys)["articles"] == {"ingested": 0, "failed": 0}


def test_prune_needs_a_window(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert wirewatch(project, "prune") == 2
    assert capsys.readouterr().err.strip() == (
        "wirewatch prune: no window to prune: set retention: in the config, or give"
        " --articles AGE or --digests AGE"
    )
    with pytest.raises(SystemExit) as ended:
        wirewatch(project, "prune", "--articles", "30 days")
    assert ended.value.code == 2
    assert "argument --articles: '30 days' is not a duration" in capsys.readouterr().err
    with pytest.raises(SystemExit) as ended:  # a date that far back cannot be counted
        wirewatch(project, "prune", "--articles", "99999999d", "--dry-run")
    assert ended.value.code == 2
    assert "argument --articles: '99999999d' is more than a century" in capsys.readouterr().err


def test_the_daemon_prunes_at_start_and_sends_nothing_again(tmp_path: Path) -> None:
    project = make_project(tmp_path, extra="retention: {articles: 0.1s, digests: 0.1s}\n")
    daemon = Daemon(project)
    daemon.start()
    wait_for(lambda: project.digests(), "the seeds' digest")
    assert daemon.stop() == 0
    daemon.start()  # the seeds still in the watched folder
    # the prune's line is written once what it removed is committed: wait for the line
    wait_for(lambda: "retention: removed " in daemon.log_text(), "the prune")
    assert _stored(project) == 0
    (project.inbox / "renamed.txt").write_bytes((project.root / "seeds" / SEED).read_bytes())
    wait_for(lambda: daemon.failure("renamed.txt") is None and _seen(project), "the copy read")
    assert daemon.stop() == 0
    assert _stored(project) == 0
    with project.store() as store:
        assert store.pending("local") == []
    assert len(project.digests()) == 1


def _stored(project: Project) -> int:
    with project.store() as store:
        return store.counts()["ingested"]


def _seen(project: Project) -> bool:
    with project.store() as store:
        return store.file(str(project.inbox / "renamed.txt")) is not None


def test_backup_while_the_daemon_ingests_opens_as_a_state(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = Daemon(project)
    daemon.start()
    copy = project.root / "backups" / "wirewatch.db"
    copy.parent.mkdir()
    for n in range(200):
        (project.inbox / f"{n:03}.txt").write_text(f"Talks {n}\n\nXi met Putin {n}.", "utf-8")
        if n == 100:
            wait_for(lambda: daemon.articles("050.txt"), "the daemon ingesting")
            assert wirewatch(project, "backup", str(copy)) == 0
    daemon.stop()
    assert capsys.readouterr().out.strip().endswith(f"backed up into {copy}")
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restored = project.root / "restored.yaml"
    text = project.config.read_text(encoding="utf-8")
    restored.write_text(text.replace("var/wirewatch.db", str(copy)), encoding="utf-8")
    capsys.readouterr()
    assert main(["status", "--json", "-c", str(restored)]) == 0
    ingested = json.loads(capsys.readouterr().out)["articles"]["ingested"]
    assert ingested >= 5 + 50  # the seeds, and what had come in when the copy was made


def test_backup_replaces_a_file_only_with_force(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "run", "--once") == 0
    copy = project.root / "copy.db"
    copy.write_text("an older backup", encoding="utf-8")
    capsys.readouterr()
    assert wirewatch(project, "backup", str(copy)) == 1
    assert capsys.readouterr().err.strip() == (
        f"wirewatch backup: {copy}: exists already; give a new path, or --force to replace it"
    )
    assert copy.read_text(encoding="utf-8") == "an older backup"
    assert wirewatch(project, "backup", str(copy), "--force") == 0
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT COUNT(*) FROM articles").fetchone() == (5,)
    assert [p.name for p in project.root.iterdir() if p.name.endswith(".partial")] == []


def test_backup_never_replaces_what_is_not_a_file(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "run", "--once") == 0
    fifo = project.root / "a-pipe"  # a special file, as /dev/null is
    os.mkfifo(fifo)
    capsys.readouterr()
    assert wirewatch(project, "backup", str(fifo), "--force") == 1
    assert capsys.readouterr().err.strip() == (
        f"wirewatch backup: {fifo}: not a file; give the path of a file to write"
    )
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_backup_into_a_folder_that_is_not_there_is_refused(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "run", "--once") == 0
    mistyped = project.root / "bakcups" / "wirewatch.db"
    capsys.readouterr()
    assert wirewatch(project, "backup", str(mistyped)) == 1
    assert capsys.readouterr().err.strip() == (
        f"wirewatch backup: {mistyped.parent}: no such folder; make it first, or give another path"
    )
    assert not mistyped.parent.exists()


def test_backup_of_a_database_says_how_to_use_pg_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = "postgresql://wirewatch:hunter2@db.example.org:5433/news"
    project = make_project(tmp_path, state=f'"{state}"')
    assert wirewatch(project, "backup", "news.dump") == 1
    told = capsys.readouterr().err
    assert "hunter2" not in told
    assert "pg_dump --format=custom --file=news.dump" in told
    assert "'postgresql://wirewatch@db.example.org:5433/news'" in told
