"""What finding a channel's pending matches costs as the state file grows.

    .venv/bin/python bench/bench_pending.py                  # 100,000 matches
    .venv/bin/python bench/bench_pending.py --matches 20000 --pending 500

A state file in a temporary folder gets `--matches` matches of two rules, all of them
sent to the channel but the newest `--pending`. It prints the time of `pending()` for one
digest (the oldest 200) and of the count `status` shows, beside a baseline measured in the
same run: reading the id of every match (a whole-table scan). Times are the best of a few
calls.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from worker.model import DigestRecord
from worker.store.sqlite import SqliteStore

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BODY = "Talks on gas exports went on in Beijing. " * 60  # about 2,500 characters


def fill(path: Path, matches: int) -> None:
    """Articles with one match each, written in one go, as many ingests would leave them."""
    store = SqliteStore(path)
    store.channel_since("local", NOW)
    store.select_rules("local", ["gas", "talks"])
    store.close()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO articles (id, title, body, date, source, url, path, ingested_at)"
            " VALUES (?, ?, ?, '2026-11-22', NULL, NULL, ?, ?)",
            (
                (f"a{n}", f"Title {n}", BODY, f"/in/{n}.txt", NOW.isoformat())
                for n in range(matches)
            ),
        )
        db.executemany(
            "INSERT INTO matches (article_id, rule_id, hits, matched_at) VALUES (?, ?, '[]', ?)",
            ((f"a{n}", ("gas", "talks")[n % 2], NOW.isoformat()) for n in range(matches)),
        )


def send_all_but(store: SqliteStore, matches: int, pending: int) -> None:
    """Sent digests of 200 matches each hold every match but the newest `pending`."""
    last = matches - pending  # matches are numbered 1, 2, ... as they were stored
    for first in range(1, last + 1, 200):
        record = DigestRecord(f"d{first}", "local", NOW, "pending", 0, {})
        store.create_digest(record, range(first, min(first + 200, last + 1)))
        store.mark_sent(record.id, NOW)


def best(call: Callable[[], object], times: int = 5) -> float:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        spent.append(time.perf_counter() - start)
    return min(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--matches", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.db"
        fill(path, args.matches)
        store = SqliteStore(path)
        start = time.perf_counter()
        send_all_but(store, args.matches, args.pending)
        print(f"{args.matches:,} matches, {args.pending:,} of them pending")
        print(f"  sending the rest in digests of 200: {time.perf_counter() - start:.1f}s")
        with sqlite3.connect(path) as db:  # as a channel selected long ago reads them
            db.execute("UPDATE channel_rules SET after_match = 0")
            scan = best(lambda: db.execute("SELECT id FROM matches").fetchall())
        found = len(store.pending("local", 200))
        pending = best(lambda: store.pending("local", 200))
        count = best(lambda: store.channel_totals("local"))
        print(f"  every match's id (baseline): {scan * 1000:8.2f} ms")
        print(f"  pending(), oldest 200:       {pending * 1000:8.2f} ms ({found} found)", end="")
        print(f", {pending / scan:.1f}× the baseline")
        print(f"  status count:                {count * 1000:8.2f} ms", end="")
        print(
            f" ({store.channel_totals('local').pending} pending), {count / scan:.1f}× the baseline"
        )
        store.close()


if __name__ == "__main__":
    main()
