"""How long an article takes from its file closed to its digest written, on an immediate
channel, through a real daemon.

    .venv/bin/python bench/bench_latency.py                 # 10 lone articles, batch 2s
    .venv/bin/python bench/bench_latency.py --batch 0.2s --articles 20

A project in a temporary folder has the default rules and one `file` channel with
`schedule: immediate`. Each article is written alone into inbox/ (the next one once the
last digest is out). For each it times the file closed → the log line that it matched
(the baseline, measured in the same run: watching, reading and matching), and the file
closed → its digest written, which adds `timing.batch` and the send.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTICLE = " date 2024-05-16 Putin and Xi hold talks, round {n}\n\nVladimir Putin met Xi Jinping.\n"


def project(root: Path, batch: str) -> Path:
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "inbox").mkdir()
    config = (
        "state: var/wirewatch.db\nwatch: [{path: inbox}]\nrules: rules/\n"
        f"timing: {{batch: {batch}}}\n"
        "channels:\n  local: {type: file, path: outbox/, schedule: immediate}\n"
    )
    (root / "config.yaml").write_text(config, encoding="utf-8")
    return root / "config.yaml"


def wait(condition: Callable[[], bool], timeout: float = 30) -> float:
    """Poll until `condition()` holds; the time.perf_counter() it held at."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(0.005)
    raise TimeoutError("the daemon did not get there in time")


def measure(root: Path, articles: int) -> tuple[list[float], list[float]]:
    """Seconds from each file closed to its match logged, and to its digest written."""
    log = root / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "worker", "run", "-c", str(root / "config.yaml")],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    try:
        wait(lambda: "watching" in log.read_text("utf-8"))
        matched, delivered = [], []
        # The first article only warms up: it may meet the start-up scan, and wait to settle.
        for n in range(articles + 1):
            closed, logged, written = one_article(root, n)
            if n:
                matched.append(logged - closed)
                delivered.append(written - closed)
        return matched, delivered
    finally:
        daemon.terminate()
        daemon.wait(30)


def one_article(root: Path, n: int) -> tuple[float, float, float]:
    """When article `n` was closed, logged as matched, and written in a digest."""
    log, outbox = root / "daemon.log", root / "outbox"
    before = len(list(outbox.glob("*.json"))) if outbox.exists() else 0
    closed = time.perf_counter()
    (root / "inbox" / f"{n}.txt").write_text(ARTICLE.format(n=n), encoding="utf-8")
    logged = wait(lambda: f"round {n}' matched" in log.read_text("utf-8"))
    written = wait(lambda: len(list(outbox.glob("*.json"))) > before)
    return closed, logged, written


def figures(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.0f} ms   p90 {p90 * 1000:7.0f} ms"
        f"   max {ordered[-1] * 1000:7.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=10)
    parser.add_argument("--batch", default="2s", help="timing.batch (default: the shipped 2s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project(Path(folder), args.batch)
        matched, delivered = measure(Path(folder), args.articles)
    print(f"{args.articles} lone articles, timing.batch {args.batch}")
    print(f"  closed → matched (baseline): {figures(matched)}")
    print(f"  closed → digest written:     {figures(delivered)}")
    extra = statistics.median(delivered) - statistics.median(matched)
    print(
        f"  the digest comes {extra * 1000:.0f} ms after the match (median): the batch and the send"
    )


if __name__ == "__main__":
    main()
