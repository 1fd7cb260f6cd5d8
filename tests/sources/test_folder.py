"""A folder's files into a real store: what is read, what fails, what is tried again."""

from __future__ import annotations

import itertools
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from worker.errors import StateUnavailable
from worker.health import Health
from worker.ingest.ingestor import Ingestor
from worker.match.matcher import Matcher
from worker.model import RawArticle
from worker.rules.ruleset import Keywords, Rule, RuleSet
from worker.settings.config import IngestSettings, WatchFolder
from worker.sources.files import Unread
from worker.sources.folder import WHOLE, FolderSource, Whole
from worker.store import Store, open_store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ARTICLE = " date 2024-05-16 Gas talks\n\nChina and Russia discussed gas.\n"
MATCHER = Matcher(RuleSet({}, (Rule(id="gas", keywords=Keywords(any=("gas",))),)))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(str(tmp_path / "var" / "state.db"))
    opened.channel_since("local", NOW)
    opened.select_rules("local", ["gas"])
    yield opened
    opened.close()


@dataclass(frozen=True)
class Taken:
    """What became of a file: its new articles, or why it could not be read, or nothing."""

    new_articles: int = 0
    error: str | None = None
    unchanged: bool = False
    rules: tuple[str, ...] = ()


def take(
    store: Store,
    path: Path,
    max_file_mb: float = 5,
    retry_failed: bool = False,
    zone: str = "UTC",
) -> Taken:
    """The file read by the folder source and ingested, as the daemon takes it."""
    settings = IngestSettings(max_file_mb=max_file_mb)
    source = FolderSource([], store, settings, lambda: NOW, "worker", timedelta(seconds=60))
    found = source.read(path, retry_failed)
    if found is None:
        return Taken(unchanged=True)
    if isinstance(found, Unread):
        return Taken(error=found.reason)
    outcome = Ingestor(store, lambda: MATCHER, lambda: NOW, ZoneInfo(zone)).ingest(found)
    source.done(found, outcome.error)
    rules = tuple(m.rule_id for found in outcome.matches.values() for m in found)
    return Taken(outcome.new_articles, outcome.error, rules=rules)


def failure(store: Store, path: Path) -> str | None:
    record = store.file(str(path))
    assert record is not None
    return record.error


def test_an_article_is_stored_and_matched_once(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    first = take(store, path)
    assert (first.new_articles, first.rules) == (1, ("gas",))
    assert take(store, path).unchanged
    assert store.counts() == {"ingested": 1, "failed": 0, "matches": 1}


def test_a_changed_file_is_read_again(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    take(store, path)
    path.write_text(ARTICLE.replace("gas.", "gas and oil."), encoding="utf-8")
    assert take(store, path).new_articles == 1
    assert store.counts()["ingested"] == 2


class _WrittenWhileRead(type(Path())):  # type: ignore[misc]
    """A real file whose writer adds the rest of the article just as it has been read."""

    rest = ""

    def read_bytes(self) -> bytes:
        data = super().read_bytes()
        with self.open("a", encoding="utf-8") as writer:
            writer.write(self.rest)
        return data


def test_a_file_that_changes_while_it_is_read_waits_for_the_rest(
    store: Store, tmp_path: Path
) -> None:
    path = _WrittenWhileRead(tmp_path / "a.txt")
    path.rest = ARTICLE[30:]
    path.write_text(ARTICLE[:30], encoding="utf-8")
    half = take(store, path)
    assert (half.new_articles, store.counts()["ingested"]) == (0, 0)  # half an article: none
    assert half.error is not None
    assert "still being written" in half.error
    whole = take(store, tmp_path / "a.txt")  # the writer's change brings it back
    assert whole.new_articles == 1
    assert store.counts() == {"ingested": 1, "failed": 0, "matches": 1}


def test_a_failed_file_is_kept_and_read_once_it_changes(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "later.txt"
    path.touch()
    assert take(store, path).error == "empty file"
    assert path.exists()  # never deleted or moved
    assert [f.error for f in store.failures()] == ["empty file"]
    path.write_text(ARTICLE, encoding="utf-8")
    assert take(store, path).new_articles == 1
    assert failure(store, path) is None
    assert store.failures() == []


def test_a_failure_is_logged_once(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(b"\x00\x01\x02\x03")
    for _ in range(3):
        take(store, path)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"{path}: binary file"
    ]


def test_a_file_over_the_limit_is_read_when_the_limit_is_raised(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "long.txt"
    path.write_text(ARTICLE + "gas " * 500, encoding="utf-8")
    take(store, path, max_file_mb=0.001)
    assert failure(store, path) == (
        "file is 0.0 MB, over the 0.001 MB limit; raise ingest.max_file_mb: "
        "it is read again at the next start or by wirewatch ingest"
    )
    assert take(store, path, max_file_mb=0.001).unchanged  # not read again by itself
    assert take(store, path, retry_failed=True).new_articles == 1
    assert failure(store, path) is None


def test_a_feed_may_hold_a_hundred_articles_of_the_limit(store: Store, tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    line = json.dumps({"title": "Gas talks", "body": "China and Russia discussed gas. "})
    lines = [line.replace("Gas talks", f"Gas talks {n}") for n in range(50)]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")  # about 4 KB
    assert take(store, feed, max_file_mb=0.001).new_articles == 50
    feed.write_text("\n".join(lines * 30) + "\n", encoding="utf-8")  # about 120 KB
    assert "over the 0.1 MB limit" in (take(store, feed, max_file_mb=0.001).error or "")


def test_a_link_loop_is_recorded(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "loop.txt"
    path.symlink_to(path)
    assert take(store, path).error == ("cannot be read: Too many levels of symbolic links")
    assert take(store, path).unchanged


def test_a_named_pipe_is_not_read(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    assert take(store, path).error == (
        "not a regular file (a pipe, socket or device); only files are read"
    )


def test_a_folder_is_not_a_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "folder.txt"
    path.mkdir()
    assert take(store, path).error == "is a folder, not a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_read_once_made_readable(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    path.chmod(0)
    assert take(store, path).error == (
        "permission denied; make the file readable by the user running wirewatch"
    )
    path.chmod(0o644)  # the change time moves, though the content and mtime do not
    assert take(store, path).new_articles == 1


def test_a_file_that_vanished_is_not_a_failure(store: Store, tmp_path: Path) -> None:
    outcome = take(store, tmp_path / "gone.txt")
    assert (outcome.unchanged, outcome.error) == (True, None)
    assert store.failures() == []


def test_an_undated_article_has_its_files_date_in_the_config_time_zone(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "late.txt"
    path.write_text("Gas talks\n\nChina and Russia discussed gas.\n", encoding="utf-8")
    late_evening = datetime(2026, 11, 23, 23, 30, tzinfo=UTC).timestamp()  # 07:30 in Beijing
    os.utime(path, (late_evening, late_evening))
    take(store, path, zone="Asia/Shanghai")
    (pending,) = store.pending("local")
    assert pending.article.date == date(2026, 11, 24)


def test_a_shared_file_is_read_by_one_worker_wherever_its_host_mounts_the_share(
    store: Store, tmp_path: Path
) -> None:
    share = tmp_path / "host-a" / "inbox"
    share.mkdir(parents=True)
    (tmp_path / "host-b").mkdir()
    (tmp_path / "host-b" / "inbox").symlink_to(share)  # the same folder, another path
    (share / "a.txt").write_text(ARTICLE, encoding="utf-8")
    lease, settings = timedelta(seconds=60), IngestSettings()
    on_a = FolderSource([WatchFolder(path=share)], store, settings, lambda: NOW, "a", lease)
    at_b = tmp_path / "host-b" / "inbox"
    # As another host's mount point names it (the config would resolve a link).
    mounted = WatchFolder.model_construct(path=at_b)
    on_b = FolderSource([mounted], store, settings, lambda: NOW, "b", lease)
    found = on_a.read(share / "a.txt")
    assert isinstance(found, RawArticle)
    assert on_b.read(at_b / "a.txt") is None  # host a is reading it
    on_a.done(found, None)
    assert on_b.read(at_b / "a.txt") is None  # read, as it is, on another host
    (share / "a.txt").write_text(ARTICLE.replace("gas.", "oil."), encoding="utf-8")
    assert isinstance(on_b.read(at_b / "a.txt"), RawArticle)  # it changed: b reads it
    (share / "2024").mkdir()
    (share / "2024" / "a.txt").write_text(ARTICLE, encoding="utf-8")
    assert isinstance(on_a.read(share / "2024" / "a.txt"), RawArticle)
    assert on_b.read(at_b / "2024" / "a.txt") is None  # the same file, in a folder of the share
    with sqlite3.connect(tmp_path / "var" / "state.db") as db:
        keys = {key for (key,) in db.execute("SELECT key FROM file_claims")}
    assert keys == {"inbox/a.txt", "inbox/2024/a.txt"}


def test_a_file_whose_reader_died_is_read_by_another_worker(store: Store, tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "inbox" / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    lease, folders = timedelta(seconds=60), [WatchFolder(path=tmp_path / "inbox")]
    dying = FolderSource(folders, store, IngestSettings(), lambda: NOW, "a", lease)
    assert isinstance(dying.read(path), RawArticle)  # and it never says it is done
    soon = FolderSource(folders, store, IngestSettings(), lambda: NOW + lease / 2, "b", lease)
    assert soon.read(path) is None
    later = FolderSource(folders, store, IngestSettings(), lambda: NOW + lease, "b", lease)
    assert isinstance(later.read(path), RawArticle)


def test_a_folder_that_keeps_failing_is_in_trouble_until_it_is_back(
    store: Store, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    health = Health()
    folder = WatchFolder.model_validate({"path": inbox}, context={"folder": tmp_path})
    source = FolderSource(
        [folder], store, IngestSettings(), lambda: NOW, "worker", timedelta(seconds=60), health
    )
    part = f"folder:{inbox}"
    list(source.scan())
    inbox.rmdir()
    list(source.scan())
    assert health.trouble(part) is None  # once is a blip: a deploy replacing the folder
    list(source.scan())
    trouble = health.trouble(part)
    assert trouble is not None
    assert trouble.problem == "the watched folder is missing"
    inbox.mkdir()
    list(source.scan())
    assert health.trouble(part) is None


def test_a_folder_is_scanned_whole_only_once_its_files_are_taken(
    store: Store, tmp_path: Path
) -> None:
    inbox = tmp_path / "archive"
    inbox.mkdir()
    for n in range(3):
        (inbox / f"{n}.txt").write_text(ARTICLE.replace("Gas talks", f"Gas talks {n}"), "utf-8")
    folder = WatchFolder(path=inbox, alert_existing=False)
    settings = IngestSettings()
    source = FolderSource([folder], store, settings, lambda: NOW, "w", timedelta(seconds=60))
    backlog = source.backlog()
    handed = list(itertools.takewhile(lambda due: not isinstance(due, Whole), backlog))
    assert sorted((path.name, why) for path, why in handed) == [
        (f"{n}.txt", "existing archive") for n in range(3)
    ]
    # Not yet remembered: a stop while they wait to be stored leaves the archive unsent.
    assert not store.first_scan_done(str(inbox))
    assert list(backlog) == []
    assert store.first_scan_done(str(inbox))


def test_a_file_put_back_comes_again_with_its_matches_still_withheld(
    store: Store, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_text(ARTICLE, encoding="utf-8")
    settings = IngestSettings()
    folders = [WatchFolder(path=inbox)]
    source = FolderSource(folders, store, settings, lambda: NOW, "w", timedelta(seconds=60))
    # taken in a first scan of an archive, when the state could not be reached
    source.put_back(inbox / "a.txt", StateUnavailable("down"), "existing archive")
    (again,) = [raw for raw in source.scan() if raw is not None]
    assert again.withheld == "existing archive"


@pytest.mark.parametrize("left", ["put back", "not stored"])
def test_a_folder_with_archive_files_left_unstored_is_not_scanned_whole(
    store: Store, tmp_path: Path, left: str
) -> None:
    inbox = tmp_path / "archive"
    inbox.mkdir()
    (inbox / "a.txt").write_text(ARTICLE, encoding="utf-8")
    folder = WatchFolder(path=inbox, alert_existing=False)
    settings = IngestSettings()
    source = FolderSource([folder], store, settings, lambda: NOW, "w", timedelta(seconds=60))
    backlog = source.backlog()
    due = next(backlog)
    assert due == (inbox / "a.txt", "existing archive")
    if left == "put back":  # the state could not take it: it comes again later
        source.put_back_all([due], StateUnavailable("locked"))
    else:  # the store failed for it
        source.not_stored([due])
    assert list(backlog) == [WHOLE]
    # the next start's scan is a first scan again: the archive is still not sent
    assert not store.first_scan_done(str(inbox))
