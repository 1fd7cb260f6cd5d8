"""What grouping a digest's articles into stories costs, against a plain baseline.

    .venv/bin/python bench/bench_stories.py
    .venv/bin/python bench/bench_stories.py --articles 1000

`--articles` texts of about 1,000 characters are made from the wire stories of
tests/digest/fixtures/stories.json: each a story's outlet with a few words changed, or
another story on the same topic. Two ways to find which are one story are timed in the
same run, with the memory each takes at its peak (tracemalloc):

- plain: the exact Jaccard similarity of every pair's word shingles;
- minhash: a signature per article (worker/text/minhash.py), then LSH bands, comparing
  only the candidates they give.

It prints both, and whether they found the same stories.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import tracemalloc
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import TypeVar

from worker.text.minhash import same_story_groups, shingles, signature

T = TypeVar("T")
FIXTURES = Path(__file__).parent.parent / "tests" / "digest" / "fixtures" / "stories.json"
THRESHOLD = 0.3


def texts(count: int, seed: int = 7) -> list[str]:
    """`count` articles: outlets' rewrites, each with a few of its words changed, and a
    number that makes stories of different rounds different."""
    stories = json.loads(FIXTURES.read_text(encoding="utf-8"))["stories"]
    outlets = [(s["story"], f"{o['title']}\n{o['body']}") for s in stories for o in s["outlets"]]
    rng = random.Random(seed)
    made = []
    for n in range(count):
        _, text = outlets[n % len(outlets)]
        words = text.split()
        for _ in range(5):
            words[rng.randrange(len(words))] = rng.choice(["said", "on", "the", "new"])
        made.append(f"Round {n // len(outlets) // 3}. " + " ".join(words))
    return made


def plain(articles: list[str]) -> list[int]:
    """Stories by the exact Jaccard similarity of every pair."""
    sets = [shingles(text) for text in articles]
    parent = list(range(len(sets)))
    for one, other in combinations(range(len(sets)), 2):
        union = len(sets[one] | sets[other])
        if union and len(sets[one] & sets[other]) / union >= THRESHOLD:
            parent[other] = _root(parent, one)
    return [_root(parent, index) for index in range(len(sets))]


def minhash(articles: list[str]) -> list[int]:
    """Stories by MinHash signatures and LSH bands."""
    return same_story_groups([signature(text) for text in articles], THRESHOLD)


def _root(parent: list[int], index: int) -> int:
    while parent[index] != index:
        index = parent[index]
    return index


def measured(work: Callable[[], T]) -> tuple[T, float, int]:
    """What `work` gives, the seconds it took, and the peak bytes it allocated (in a second
    run: tracing allocations slows it down several times)."""
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak


def partition(groups: list[int]) -> set[frozenset[int]]:
    found: dict[int, set[int]] = {}
    for index, group in enumerate(groups):
        found.setdefault(group, set()).add(index)
    return {frozenset(members) for members in found.values()}


def main_(count: int) -> None:
    articles = texts(count)
    baseline, plain_s, plain_peak = measured(lambda: plain(articles))
    grouped, minhash_s, minhash_peak = measured(lambda: minhash(articles))
    started = time.perf_counter()
    signed = [signature(text) for text in articles]
    sign_s = time.perf_counter() - started
    print(f"{count} articles, same_story {THRESHOLD}")
    print(f"  plain (exact Jaccard, all pairs): {plain_s:8.3f} s, peak {plain_peak / 1e6:6.2f} MB")
    print(
        f"  minhash + LSH:                    {minhash_s:8.3f} s, peak {minhash_peak / 1e6:6.2f} MB"
        f" (of which signatures {sign_s:.3f} s, {sign_s / len(signed) * 1e3:.2f} ms an article)"
    )
    same = partition(baseline) == partition(grouped)
    print(f"  stories: plain {len(set(baseline))}, minhash {len(set(grouped))}, same: {same}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200, help="articles to group")
    main_(parser.parse_args().articles)
