"""Every row of the performance table, each beside its baseline measured in the same run.

    .venv/bin/python bench/run.py            # the whole table (make bench)
    .venv/bin/python bench/run.py --quick    # smaller samples, same rows
    .venv/bin/python bench/run.py --only match

Prints the machine, then one line per measure: the figure, the baseline beside it, their
ratio and the target. A row that misses its target says MISS; the exit status is 0 all the
same, since a shared machine's figures are not a test.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from table import Row, render

# The bench modules that give rows, in the order of the table.
MODULES: list[str] = ["bench_match", "bench_ingest", "bench_latency", "bench_cli"]


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = [
        line.split(":", 1)[1].strip()
        for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
        if line.startswith("model name")
    ]
    processor = names[0] if names else platform.processor() or platform.machine()
    return f"{processor}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples, same rows")
    parser.add_argument("--only", action="append", default=[], help="a module name part")
    args = parser.parse_args()
    print(machine(), flush=True)
    rows: list[Row] = []
    for name in MODULES:
        if args.only and not any(part in name for part in args.only):
            continue
        module = importlib.import_module(name)
        found: list[Row] = module.rows(args.quick)
        for row in found:
            print(f"  {row.measure}: {row.figure} ({row.ratio:.2f}× {row.target})", flush=True)
        rows.extend(found)
    print()
    print(render(rows))


if __name__ == "__main__":
    main()
