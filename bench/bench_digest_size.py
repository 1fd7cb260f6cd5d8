"""What a stored digest of 200 matches weighs in the state, once it is sent.

    .venv/bin/python bench/bench_digest_size.py
    .venv/bin/python bench/bench_digest_size.py --matches 50

A temporary project gets `--matches` articles of about 2,500 characters, each matching a
rule; `wirewatch run --once` writes one digest of them to a file channel. The script
prints the bytes the state keeps of that digest (its JSON document and its rendered
forms), as they are stored after the digest was sent.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import textwrap
from pathlib import Path

from worker.cli import main

BODY = "President Xi met Putin for talks on gas exports in Beijing. " * 42  # ~2,500 characters


def project(root: Path, matches: int) -> Path:
    """A config, a rule and `matches` article files; the config's path."""
    (root / "in").mkdir()
    for n in range(matches):
        (root / "in" / f"{n:04}.txt").write_text(f"Talks number {n}\n\n{n} {BODY}", "utf-8")
    (root / "rules.yaml").write_text("rules:\n  - id: talks\n    query: talks\n", "utf-8")
    config = f"""\
        state: state.db
        watch: [{{path: in}}]
        rules: rules.yaml
        channels:
          local: {{type: file, path: out/, max_matches: {matches}}}
        """
    (root / "config.yaml").write_text(textwrap.dedent(config), "utf-8")
    return root / "config.yaml"


def stored(state: Path) -> tuple[int, int, int]:
    """Digests stored, and the bytes of their documents and of their rendered forms."""
    with sqlite3.connect(state) as db:
        row = db.execute(
            "SELECT COUNT(*), SUM(LENGTH(CAST(document AS BLOB))),"
            " COALESCE(SUM(LENGTH(CAST(rendered AS BLOB))), 0) FROM digests"
        ).fetchone()
    return int(row[0]), int(row[1] or 0), int(row[2])


def main_(matches: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = project(Path(folder), matches)
        if main(["run", "--once", "-c", str(config)]) != 0:
            raise SystemExit("the digest was not sent")
        digests, document, rendered = stored(Path(folder) / "state.db")
    print(
        f"{digests} digest of {matches} matches, sent: document {document / 1000:,.0f} KB,"
        f" rendered forms {rendered / 1000:,.0f} KB, {(document + rendered) / 1000:,.0f} KB in all"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--matches", type=int, default=200)
    main_(parser.parse_args().matches)
