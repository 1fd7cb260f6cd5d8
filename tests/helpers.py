"""A temporary wirewatch project (the seeds, the default rules, an inbox and an outbox),
and the daemon run on it as a user runs it: a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from worker.model import Article, Hit, Match
from worker.rules.ruleset import Keywords, Participant, Rule, RuleSet
from worker.settings.config import load_config
from worker.store import Store, open_store

REPO = Path(__file__).resolve().parent.parent

SEED_TITLES = {
    "001_d9422b366859b37e.txt": "Xi highlights unique value of relations with Russia",
    "003_1a328842afac22b4.txt": (
        "China's Foreign Minister Hails Prospects Of Strategic Cooperation With Russia As Limitless"
    ),
}


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def digests(self) -> list[dict[str, Any]]:
        """The JSON digests written so far, oldest first."""
        files = sorted(self.outbox.glob("*.json")) if self.outbox.exists() else []
        return [json.loads(path.read_text(encoding="utf-8")) for path in files]

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The project's state, opened as another process opens it."""
        opened = open_store(load_config(self.config, {}).state_url)
        try:
            yield opened
        finally:
            opened.close()


# Timings for tests: short enough that no test waits long for a claim, a sweep or a stop.
FAST = "{lease: 2s, sweep: 1s, stop_grace: 1s, batch: 1s}"


def make_project(
    root: Path,
    schedule: str = "every 1m",
    extra: str = "",
    rescan_seconds: float = 300,
    timing: str = FAST,
    state: str = "var/wirewatch.db",
) -> Project:
    """Copy seeds/ and rules/ into `root` and write a config with a file channel."""
    shutil.copytree(REPO / "seeds", root / "seeds")
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "inbox").mkdir()
    config = f"""\
        state: {state}
        timezone: Europe/Berlin
        watch:
          - path: seeds
          - path: inbox
        ingest:
          settle_seconds: 0.5
          rescan_seconds: {rescan_seconds}
        timing: {timing}
        rules: rules/
        channels:
          local:
            type: file
            path: outbox/
            schedule: "{schedule}"
        """
    (root / "config.yaml").write_text(textwrap.dedent(config) + extra, encoding="utf-8")
    return Project(root)


def titles_in(digest: dict[str, Any]) -> list[str]:
    """The titles of every article a digest shows: its entries, the other outlets of their
    stories, and its updates."""
    titles = []
    for item in digest["items"]:
        titles += [item["article"]["title"], *(other["title"] for other in item.get("also", []))]
    for update in digest.get("updates", []):
        titles += [article["title"] for article in update["articles"]]
    return titles


def matches_in(digest: dict[str, Any]) -> list[str]:
    """The title of the article of each match a digest lists (an entry: one per rule)."""
    titles = []
    for item in digest["items"]:
        titles += [item["article"]["title"]] * len(item.get("rules") or [item["rule"]])
    titles += titles_in({"items": [], "updates": digest.get("updates", [])})
    titles += [other["title"] for item in digest["items"] for other in item.get("also", [])]
    return titles


def titles_by_rule(digest: dict[str, Any]) -> dict[str, set[str]]:
    """The article titles a digest lists under each rule."""
    by_rule: dict[str, set[str]] = {}
    for item in digest["items"]:
        for rule in item.get("rules") or [item["rule"]]:
            by_rule.setdefault(rule, set()).add(item["article"]["title"])
    return by_rule


class Daemon:
    """`wirewatch run` on a project, as a subprocess. Every one started is killed when its
    test ends (see conftest.py), so a failing test leaves no daemon behind."""

    started: ClassVar[list[Daemon]] = []

    def __init__(
        self,
        project: Project,
        name: str = "daemon",
        *options: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.project = project
        self.options = options  # more of the command line: -v, --log-format json
        self.log = project.root / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = env  # added to this process's environment

    def start(self, *options: str, wait: bool = True) -> None:
        """Start it, with `options` for this start only, and, with `wait`, wait until it
        watches the folders."""
        starts = self.log_text().count("watching") if self.log.exists() else 0
        command = [sys.executable, "-m", "worker", "run", "-c", str(self.project.config)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.options, *options],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.project.root,
                env=None if self.env is None else {**os.environ, **self.env},
            )
        Daemon.started.append(self)
        if wait:
            wait_for(lambda: self.log_text().count("watching") > starts, "daemon start")

    def kill_hard(self) -> None:
        """SIGKILL: the daemon stops mid-way, as when its host is lost."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def articles(self, name: str) -> list[str]:
        """Titles of the stored articles read from inbox/NAME."""
        with self.project.store() as store:
            return [article.title for article in store.articles([str(self.project.inbox / name)])]

    def failure(self, name: str) -> str | None:
        """Why inbox/NAME could not be read, if it could not."""
        with self.project.store() as store:
            record = store.file(str(self.project.inbox / name))
        return None if record is None else record.error

    def digested(self, title: str) -> int:
        """How many matches of an article with this title the digests sent (over all of
        them): an entry's for each of its rules, another outlet's or an update's for one."""
        return sum(
            shown == title for digest in self.project.digests() for shown in matches_in(digest)
        )


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass(frozen=True)
class HeldMatch(Match):
    """A match whose hits are handed over only once `release` is set: the transaction that
    stores it stays open meanwhile, holding what it took (a write lock, ids)."""

    release: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)

    def __getattribute__(self, name: str) -> object:
        if name == "hits":
            object.__getattribute__(self, "started").set()
            object.__getattribute__(self, "release").wait(30)
        return object.__getattribute__(self, name)


class HeldWrite:
    """Another process in the middle of a write to the state, until released."""

    def __init__(self, state: str) -> None:
        self._store = open_store(state)
        self._held = HeldMatch("held", ())
        self._writer: threading.Thread | None = None

    def take(self) -> None:
        """Begin the write and return once it holds the state."""
        article = Article("held", "Held", "A write in progress.", date(2024, 5, 1), "/held")
        at = datetime.now(UTC)
        self._writer = threading.Thread(
            target=self._store.add_article, args=[article, [self._held], at], daemon=True
        )
        self._writer.start()
        assert self._held.started.wait(10), "the write did not begin"

    def release(self) -> None:
        """Let the write finish."""
        self._held.release.set()
        if self._writer is not None:
            self._writer.join(10)

    def close(self) -> None:
        self.release()
        self._store.close()


# A file channel `ops` told of wirewatch's own troubles (`alerts:`), never sent a digest.
OPS = """\
  ops:
    type: file
    path: ops/
    schedule: "0 0 1 1 *"
alerts: [ops]
"""


def alerts(folder: Path) -> list[dict[str, Any]]:
    """The alerts about wirewatch itself a file channel wrote into `folder`, oldest first."""
    files = sorted(folder.glob("*-alert-*.json")) if folder.exists() else []
    return [json.loads(path.read_text(encoding="utf-8")) for path in files]


BACKLOG_RULES = RuleSet(
    {"xi": Participant(name="Xi Jinping"), "putin": Participant(name="Vladimir Putin")},
    (
        Rule(id="gas", keywords=Keywords(any=("gas",)), priority="high"),
        Rule(id="oil", keywords=Keywords(any=("gas",))),
    ),
)


def add_backlog(store: Store, articles: int, at: datetime) -> None:
    """A backlog of articles 1..n, a day apart: every 5th matched by the high-priority rule
    `gas` of BACKLOG_RULES, the others by `oil`; the even ones name Xi, every 3rd Putin."""
    for n in range(1, articles + 1):
        body = "Xi and Putin: China buys gas."
        hits = [Hit("gas", "body", 25, 28)]
        hits += [Hit("Xi", "body", 0, 2, "xi")] if n % 2 == 0 else []
        hits += [Hit("Putin", "body", 7, 12, "putin")] if n % 3 == 0 else []
        day = date(2020, 1, 1) + timedelta(days=n)
        article = Article(f"a{n}", f"Deal {n}", body, day, f"/in/{n}.txt")
        store.add_article(article, [Match("gas" if n % 5 == 0 else "oil", tuple(hits))], at)
