"""How fast workers ingest a backlog: one on SQLite (the baseline), and 1, 2 and 4 sharing
one PostgreSQL database and one folder, in the same run.

    .venv/bin/python bench/bench_workers.py                  # 2,000 articles
    .venv/bin/python bench/bench_workers.py --articles 5000 --workers 1 2 4 8

A folder gets `--articles` article files; then `wirewatch run` workers start on it with
the default rules and are timed from the first one watching to every article stored.
PostgreSQL is a server of the bench's own on a free loopback port (Debian's binaries).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.postgres import Cluster, start_cluster  # noqa: E402 - the repository's own
from worker.store import open_store  # noqa: E402

ARTICLE = (
    " date 2024-05-16 Talks in Beijing, round {n}\n\n"
    "Vladimir Putin met Xi Jinping for talks on gas and trade, round {n}. " * 8 + "\n"
)


def project(root: Path, state: str, articles: int) -> Path:
    """A project whose inbox holds the backlog; its config's path."""
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "inbox").mkdir()
    an_hour_ago = time.time() - 3600  # a backlog: no file waits to settle
    for n in range(articles):
        path = root / "inbox" / f"{n:05}.txt"
        path.write_text(ARTICLE.format(n=n), encoding="utf-8")
        os.utime(path, (an_hour_ago, an_hour_ago))
    config = (
        f"state: {state}\nwatch: [{{path: inbox}}]\nrules: rules/\n"
        "channels:\n  local: {type: file, path: outbox/, schedule: '0 0 1 1 *'}\n"
    )
    (root / "config.yaml").write_text(config, encoding="utf-8")
    return root / "config.yaml"


def ingest(config: Path, state: str, workers: int, articles: int) -> float:
    """Articles per second, from the first worker watching to every article stored."""
    logs = [config.parent / f"worker-{n}.log" for n in range(workers)]
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "worker", "run", "-c", str(config)],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=config.parent,
        )
        for log in logs
    ]
    try:
        while not any("watching" in log.read_text("utf-8") for log in logs if log.exists()):
            time.sleep(0.01)
        started = time.perf_counter()
        store = open_store(state)
        try:
            while store.counts()["ingested"] < articles:
                time.sleep(0.05)
        finally:
            store.close()
        return articles / (time.perf_counter() - started)
    finally:
        for worker in running:
            worker.terminate()
        for worker in running:
            worker.wait(30)


def run(root: Path, name: str, state: str, workers: int, articles: int) -> float:
    folder = root / name
    folder.mkdir()
    return ingest(project(folder, state, articles), state, workers, articles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    cluster: Cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            state = str(root / "baseline.db")
            baseline = run(root, "sqlite", state, 1, args.articles)
            print(f"{args.articles:,} articles, default rules")
            print(f"  SQLite, 1 worker (baseline):  {baseline:7.0f} articles/s")
            for workers in args.workers:
                speed = run(root, f"pg-{workers}", cluster.new_database(), workers, args.articles)
                print(
                    f"  PostgreSQL, {workers} worker{'s' if workers > 1 else ' '}:"
                    f"      {speed:7.0f} articles/s, {speed / baseline:.2f}× the baseline"
                )
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()
