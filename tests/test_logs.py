"""What the daemon's and the commands' log lines tell a person or a log collector: one
line per event, a path on one line whatever its name, a feed told in one summary line,
fields of their own in JSON, and log lines above the progress bar, not in it."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

from tests.helpers import Daemon, Project, make_project, wait_for

TALKS = "Putin and Xi hold talks\n\nRussian President Vladimir Putin met Xi Jinping in Beijing.\n"


def feed(matching: int, other: int) -> str:
    """A .jsonl feed: `matching` articles on Putin and Xi meeting, `other` on nothing watched."""
    articles = [
        {"title": f"Summit {n}", "body": f"Vladimir Putin met Xi Jinping, day {n}."}
        for n in range(matching)
    ]
    articles += [{"title": f"Weather {n}", "body": f"Rain on day {n}."} for n in range(other)]
    return "".join(json.dumps(article) + "\n" for article in articles)


def test_a_feed_is_one_line_and_a_name_with_a_newline_stays_on_its_line(tmp_path: Path) -> None:
    daemon = Daemon(make_project(tmp_path))
    daemon.start()
    inbox = daemon.project.inbox
    (inbox / "feed.jsonl").write_text(feed(matching=3, other=40), encoding="utf-8")
    (inbox / "in\nbox.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: "box.txt" in daemon.log_text(), "the article with a newline in its name")
    wait_for(lambda: "feed.jsonl" in daemon.log_text(), "the feed")
    assert daemon.stop() == 0
    lines = daemon.log_text().splitlines()
    # Every line is a log line: a time, then its level.
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4} [A-Z]+ ", line) for line in lines)
    shown = repr(str(inbox / "in\nbox.txt"))
    assert [line for line in lines if "box.txt" in line] == [
        next(line for line in lines if f"{shown}: 'Putin and Xi hold talks' matched" in line)
    ]
    (told,) = [line for line in lines if "feed.jsonl" in line]
    assert told.endswith(
        f"INFO    {inbox / 'feed.jsonl'}: 43 articles: 43 new, 0 already known;"
        " 3 matched (xi-putin-contacts 3)"
    )
    assert not [line for line in lines if "matched no rule" in line]  # at DEBUG only
    # An article alone in its file keeps its own line: the seeds, each with its rules.
    assert sum("seeds/" in line and "' matched " in line for line in lines) >= 4


def test_json_log_lines_carry_fields_for_a_match_and_a_digest_sent(tmp_path: Path) -> None:
    project = make_project(tmp_path, schedule="every 1s")
    daemon = Daemon(project, "daemon", "--log-format", "json")
    daemon.start()
    (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: daemon.digested("Putin and Xi hold talks"), "a digest with the talks")
    # The talks may come in the seeds' digest or in one of their own: each has its line.
    wait_for(lambda: every_digest_told(project, daemon), "the digest's log line")
    assert daemon.stop() == 0
    (matched,) = [
        line for line in events(daemon, "article.matched") if line["path"].endswith("talks.txt")
    ]
    assert matched["rule"] == ["xi-putin-contacts"]
    assert matched["level"] == "INFO"
    assert re.fullmatch("[0-9a-f]{16}", matched["article"])
    assert matched["time"].endswith("+00:00")
    digests = {digest["digest_id"] for digest in project.digests()}
    sent = events(daemon, "digest.sent")
    assert {line["digest"] for line in sent} == digests
    assert {line["channel"] for line in sent} == {"local"}
    assert all(line["attempt"] == 1 for line in sent)


def every_digest_told(project: Project, daemon: Daemon) -> bool:
    told = {line["digest"] for line in events(daemon, "digest.sent")}
    return {digest["digest_id"] for digest in project.digests()} <= told


def events(daemon: Daemon, event: str) -> list[dict[str, Any]]:
    """The daemon's JSON log lines of one event (every line must be JSON)."""
    lines = [json.loads(line) for line in daemon.log_text().splitlines()]
    return [line for line in lines if line.get("event") == event]


def test_ingest_writes_log_lines_above_its_progress_bar(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    archive = tmp_path / "archive"
    archive.mkdir()
    for n in range(3):
        (archive / f"talks-{n}.txt").write_text(f"{TALKS}Day {n}.\n", encoding="utf-8")
    screen = on_a_terminal(
        [sys.executable, "-m", "worker", "ingest", "-c", str(project.config), str(archive)]
    )
    told = [line for line in screen if " INFO " in line]
    assert len(told) == 3
    # Each on a line of its own, as a log line starts: not after a piece of the bar.
    assert all(re.match(r"\d{4}-\d\d-\d\d ", line) for line in told), screen
    assert any(line.startswith("ingest: 100%") for line in screen), screen


def on_a_terminal(command: list[str]) -> list[str]:
    """The lines a terminal shows for what `command` writes to stderr, a terminal too
    (text after a carriage return overwrites the line from its start)."""
    reader, writer = pty.openpty()
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=writer)
    os.close(writer)
    written = b""
    while True:
        try:
            chunk = os.read(reader, 4096)
        except OSError:  # the other end closed: the process is done writing
            break
        if not chunk:
            break
        written += chunk
    os.close(reader)
    assert process.wait(timeout=60) == 0
    return [shown(line) for line in written.decode().replace("\r\n", "\n").split("\n")]


def shown(line: str) -> str:
    """The line as a terminal leaves it: each piece after a carriage return written over it."""
    screen = ""
    for piece in line.split("\r"):
        screen = piece + screen[len(piece) :]
    return screen.rstrip()


def test_text_log_lines_give_times_in_the_config_time_zone(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(
        config.replace("timezone: Europe/Berlin", "timezone: Asia/Kathmandu"), encoding="utf-8"
    )
    (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "worker", "ingest", "-c", str(project.config), str(project.inbox)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if " INFO " in line]
    assert lines  # the match is told
    # Kathmandu is 5 h 45 min ahead of UTC, a zone no host of the test suite runs in.
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+0545 INFO ", line) for line in lines)
