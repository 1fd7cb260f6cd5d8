"""One row of `make bench`: a figure, the baseline it is measured beside in the same run,
their ratio, and the target the ratio is held to.

Every bench module that takes part in `make bench` has a function `rows(quick: bool) ->
list[Row]`; `bench/run.py` calls them in turn and prints one table. `quick` asks for a
smaller run (fewer articles, fewer passes) that still measures every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    measure: str  # what is measured, in the table's words: "matcher, 1,000 rules"
    figure: str  # the measured figure with its unit: "4,310 art/s"
    baseline: str  # what it is measured beside, with its figure: "inverted index 9,020 art/s"
    ratio: float  # the figure against the baseline, in the sense the target is written
    target: str  # the target the ratio is held to: "≥ 1.2×", "≤ 1.5×"
    holds: bool  # whether the target holds in this run


def at_least(ratio: float, target: float) -> tuple[float, str, bool]:
    """A ratio that must reach `target`: faster than the baseline, say."""
    return ratio, f"≥ {target:g}×", ratio >= target


def at_most(ratio: float, target: float) -> tuple[float, str, bool]:
    """A ratio that must stay under `target`: time against the baseline's, say."""
    return ratio, f"≤ {target:g}×", ratio <= target


def best_of(passes: int, run: Callable[[], float]) -> float:
    """The shortest of `passes` timings after one pass to warm up: the least noisy figure on a
    shared machine."""
    run()
    return min(run() for _ in range(passes))


def render(rows: list[Row]) -> str:
    """The table `make bench` prints."""
    header = ("measure", "figure", "baseline (same run)", "ratio", "target", "")
    lines = [
        (r.measure, r.figure, r.baseline, f"{r.ratio:.2f}×", r.target, "ok" if r.holds else "MISS")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *lines]
    )
