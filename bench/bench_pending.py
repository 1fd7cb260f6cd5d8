"""What finding a channel's pending matches costs as the history grows.

    .venv/bin/python bench/bench_pending.py                  # 2,000 and 20,000 matches
    .venv/bin/python bench/bench_pending.py --matches 100000 --pending 500

Two state files in a temporary folder get `--matches` articles (the baseline: a tenth of
them) with one match each, of two rules, all of them sent to the channel but the newest
`--pending`. For each it prints the time of `pending()` for one digest (the oldest 200)
and of the channel's `status`; the ratio says how much ten times the history costs.
Times are the best of a few calls.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from worker.model import Article, Delivery, Digest, DigestCounts, Match, Period
from worker.store import Store, open_store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BODY = "Talks on gas exports went on in Beijing. " * 60  # about 2,500 characters


def fill(store: Store, matches: int) -> None:
    """Articles with one match each, stored one by one as ingests store them."""
    store.channel_since("local", NOW)
    store.select_rules("local", ["gas", "talks"])
    for n in range(matches):
        article = Article(f"a{n}", f"Title {n}", BODY, date(2026, 11, 22), f"/in/{n}.txt")
        store.add_article(article, [Match(("gas", "talks")[n % 2], ())], NOW)


def delivery(digest_id: str) -> Delivery:
    """An empty digest of the channel: what the store keeps does not depend on its items."""
    counts = DigestCounts(articles=0, matches=0)
    period = Period(start=NOW, end=NOW)
    return Delivery(
        Digest(digest_id=digest_id, channel="local", generated_at=NOW, period=period, counts=counts)
    )


def send_all_but(store: Store, pending: int) -> None:
    """Sent digests of 200 matches each hold every match but the newest `pending`."""
    waiting = [match.id for match in store.pending("local")]
    sent = waiting[: max(0, len(waiting) - pending)]
    for first in range(0, len(sent), 200):
        store.create_digest(delivery(f"d{first}"), sent[first : first + 200])
        store.mark_sent(f"d{first}", NOW)


def best(call: Callable[[], object], times: int = 7) -> float:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        spent.append(time.perf_counter() - start)
    return min(spent)


def measure(folder: Path, matches: int, pending: int) -> tuple[float, float]:
    """The time of pending() and of the channel's status, with this much history."""
    store = open_store(str(folder / f"state-{matches}.db"))
    try:
        start = time.perf_counter()
        fill(store, matches)
        send_all_but(store, pending)
        found = len(store.pending("local", 200))
        took = time.perf_counter() - start
        print(f"{matches:>9,} matches, {found} pending (stored and sent in {took:.1f} s)")
        return best(lambda: store.pending("local", 200)), best(
            lambda: store.channel_totals("local")
        )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--matches", type=int, default=20_000)
    parser.add_argument("--pending", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small = measure(Path(folder), args.matches // 10, args.pending)
        large = measure(Path(folder), args.matches, args.pending)
    names = ("pending(), oldest 200", "channel status")
    for what, base, many in zip(names, small, large, strict=True):
        print(
            f"  {what:<22} {base * 1000:7.2f} ms (baseline) {many * 1000:7.2f} ms"
            f" with ten times the history: {many / base:.2f}×"
        )


if __name__ == "__main__":
    main()
