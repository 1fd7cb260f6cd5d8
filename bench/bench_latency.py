"""How long an article takes from its file closed to the 2xx of its webhook post, on an
immediate channel, through a real daemon and a real HTTP receiver on 127.0.0.1.

    .venv/bin/python bench/bench_latency.py                   # 20 lone articles, a burst
    .venv/bin/python bench/bench_latency.py --articles 50 --timing "{quiet: 0.2s}"

A project in a temporary folder has the default rules and one `webhook` channel with
`schedule: immediate`. Each article is written alone into inbox/ (the next one once the
last post is in). For each it times the file closed → the log line that it matched (the
baseline, measured in the same run: watching, reading and matching), and the file closed
→ the receiver answering its post, which adds the quiet period and the send. Then ten
articles dropped at once show whether a burst still goes in one post.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from table import Row, at_most, render

REPO = Path(__file__).resolve().parent.parent
ARTICLE = " date 2024-05-16 Putin and Xi hold talks, round {n}\n\nVladimir Putin met Xi Jinping.\n"
BURST = 10
# The targets for a lone article, in milliseconds.
P50, P99 = 150, 500


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint that answers 200 and notes when it did."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.answered: list[float] = []  # time.perf_counter() of each 2xx
        self.changed = threading.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 30) -> float:
        """When the `count`-th post was answered."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.answered) >= count, timeout):
                raise TimeoutError(f"post {count} did not come in time")
            return self.answered[count - 1]


class _Answer(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()
        with self.server.changed:
            self.server.answered.append(time.perf_counter())
            self.server.changed.notify_all()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.shutdown()
        receiver.server_close()


def project(root: Path, url: str, timing: str) -> Path:
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "inbox").mkdir()
    config = (
        "state: var/wirewatch.db\nwatch: [{path: inbox}]\nrules: rules/\n"
        f"timing: {timing}\n"
        f"channels:\n  hook: {{type: webhook, url: '{url}', schedule: immediate}}\n"
    )
    (root / "config.yaml").write_text(config, encoding="utf-8")
    return root / "config.yaml"


def wait(condition: Callable[[], bool], timeout: float = 30) -> float:
    """Poll until `condition()` holds; the time.perf_counter() it held at."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(0.002)
    raise TimeoutError("the daemon did not get there in time")


class Run:
    """A daemon posting to a receiver; the figures of what it did."""

    def __init__(self, root: Path, receiver: Receiver) -> None:
        self.root, self.receiver = root, receiver
        self.log = root / "daemon.log"
        self.matched: list[float] = []  # closed → matched log line, per lone article
        self.answered: list[float] = []  # closed → the receiver's 2xx
        self.burst_posts = 0

    def lone(self, n: int) -> None:
        posts = len(self.receiver.answered)
        closed = time.perf_counter()
        (self.root / "inbox" / f"{n}.txt").write_text(ARTICLE.format(n=n), encoding="utf-8")
        logged = wait(lambda: f"round {n}' matched" in self.log.read_text("utf-8"))
        answered = self.receiver.wait_for(posts + 1)
        self.matched.append(logged - closed)
        self.answered.append(answered - closed)

    def burst(self, first: int) -> None:
        """Ten articles dropped at once (as a scraper does): how many posts they take."""
        posts = len(self.receiver.answered)
        for n in range(first, first + BURST):
            (self.root / "inbox" / f"{n}.txt").write_text(ARTICLE.format(n=n), "utf-8")
        last = first + BURST - 1
        wait(lambda: f"round {last}' matched" in self.log.read_text("utf-8"))
        self.receiver.wait_for(posts + 1)
        time.sleep(1)  # any post still to come for the burst
        self.burst_posts = len(self.receiver.answered) - posts


def measure(articles: int, timing: str) -> Run:
    with tempfile.TemporaryDirectory() as folder, receiving() as receiver:
        root = Path(folder)
        config = project(root, receiver.url, timing)
        run = Run(root, receiver)
        with run.log.open("wb") as out:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "worker", "run", "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=root,
            )
        try:
            wait(lambda: "watching" in run.log.read_text("utf-8"))
            run.lone(0)  # to warm up: it may meet the start-up scan
            run.matched.clear()
            run.answered.clear()
            for n in range(1, articles + 1):
                run.lone(n)
                time.sleep(0.05)  # apart, as lone articles come
            run.burst(articles + 1)
        finally:
            daemon.terminate()
            daemon.wait(30)
        return run


def percentile(seconds: list[float], share: float) -> float:
    """The `share` percentile in milliseconds (nearest rank)."""
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000


def row(run: Run) -> Row:
    p50, p99 = percentile(run.answered, 0.5), percentile(run.answered, 0.99)
    # Both targets in one ratio: the larger share of its target either percentile takes.
    ratio, target, holds = at_most(max(p50 / P50, p99 / P99), 1)
    return Row(
        "file closed → webhook 2xx, `schedule: immediate`, lone article (p50 ≤ 150, p99 ≤ 500 ms)",
        f"p50 {p50:,.0f} ms, p99 {p99:,.0f} ms; a burst of {BURST}: {run.burst_posts} post(s)",
        f"closed → matched p50 {percentile(run.matched, 0.5):,.0f} ms, "
        f"p99 {percentile(run.matched, 0.99):,.0f} ms",
        ratio,
        target,
        holds and run.burst_posts == 1,
    )


def rows(quick: bool) -> list[Row]:
    # The shipped timing: the quiet period and batch cap of a fresh config.
    return [row(measure(10 if quick else 40, "{}"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--timing", default="{}", help='timing: as in config, "{quiet: 0.2s}"')
    args = parser.parse_args()
    print(render([row(measure(args.articles, args.timing))]))


if __name__ == "__main__":
    main()
