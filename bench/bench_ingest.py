"""What `wirewatch ingest` costs, and what it leaves in the state, beside a plain ingest.

    .venv/bin/python bench/bench_ingest.py            # 2,000 articles
    .venv/bin/python bench/bench_ingest.py --quick    # 500 articles, fewer passes

A seeded synthetic corpus (articles of about 3 KB, one file each) is ingested as
`wirewatch ingest` ingests a folder (in batches, logging as with `--quiet`), into a new
SQLite state, against keyword-only rules (`a AND (b OR c)`), 10, 1,000 and 10,000 of
them. Start-up (loading the rules, compiling them, opening the state) is left out: the
clock starts once the pipeline is open. Beside it, in the same run:

- a plain ingest written here: each file read, its words split by one regular expression,
  each rule looked up in an inverted index of the one word it needs, the rest of it
  verified on the article's words, and the articles and matches inserted into SQLite in
  transactions of 100;
- SQLite insert-only: the same articles inserted, nothing else.

Matching the same articles alone is timed too, to tell the matcher's share from the rest
(reading, parsing, storing). The bench also weighs the state (bytes per article against
the article's text) and a stored digest of 200 matches (written down, its delivery
failing, so that its rendered forms are kept).
Times are the best of a few passes.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sqlite3
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_match import Corpus, make_article, make_corpus
from table import Row, at_most

from worker.cli import ingest_into
from worker.cli import main as wirewatch
from worker.ingest.formats import parse_file
from worker.logs import setup_logging
from worker.match.matcher import Matcher
from worker.pipeline import load_setup, open_pipeline
from worker.rules.ruleset import RuleSet
from worker.store import open_store

SEED = 15
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Project:
    """A config, its rules, and a folder of article files."""

    root: Path
    config: Path
    articles: Path
    text_bytes: int  # the articles' text, UTF-8


def keyword_rules(corpus: Corpus, rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """`count` rules `a AND (b OR c)`, as the three words."""
    return [(corpus.topical(rng), corpus.topical(rng), corpus.topical(rng)) for _ in range(count)]


def write_articles(root: Path, articles: int) -> tuple[Path, int]:
    """A folder of `articles` files; the bytes of the articles' text."""
    rng = random.Random(SEED)
    corpus = make_corpus(rng)
    folder = root / "articles"
    folder.mkdir(parents=True)
    text = 0
    for n in range(articles):
        article = make_article(corpus, rng, n)
        content = f"{article.title}\n\n{article.body}\n"
        text += len(content.encode())
        (folder / f"{n:05}.txt").write_text(content, "utf-8")
    return folder, text


def make_project(root: Path, files: tuple[Path, int], rules: list[tuple[str, str, str]]) -> Project:
    (root / "inbox").mkdir(parents=True)
    lines = ["rules:"]
    lines += [f"  - id: r{i}\n    query: {a} AND ({b} OR {c})" for i, (a, b, c) in enumerate(rules)]
    (root / "rules.yaml").write_text("\n".join(lines) + "\n", "utf-8")
    config = root / "config.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            state: {root}/state.db
            watch: [{{path: {root}/inbox}}]
            rules: {root}/rules.yaml
            channels:
              local: {{type: file, path: {root}/out/}}
            """
        ).format(root=root),
        "utf-8",
    )
    return Project(root, config, *files)


def _corpus_rules(count: int) -> list[tuple[str, str, str]]:
    rng = random.Random(SEED)
    corpus = make_corpus(rng)
    return keyword_rules(corpus, random.Random(SEED + count), count)


def ingest_seconds(project: Project, passes: int) -> tuple[float, float]:
    """`wirewatch ingest` of the articles into a new state, once its rules are loaded and
    compiled and its state opened (start-up): the best of `passes` runs, logged as with
    `--quiet`; and the best time of matching the same articles alone (the matcher's share)."""

    setup_logging("text", logging.WARNING)
    setup = load_setup(project.config, {})
    files = sorted(project.articles.iterdir())
    matching = matching_seconds(setup.rules, files, passes)
    spent = []
    for _ in range(passes):
        for leftover in project.root.glob("state.db*"):
            leftover.unlink()
        with open_pipeline(setup) as pipeline:
            start = time.perf_counter()
            counts = ingest_into(pipeline, files)
            spent.append(time.perf_counter() - start)
        if counts["new"] != len(files):
            raise SystemExit(f"wirewatch ingest stored {counts['new']} of {len(files)} articles")
    return min(spent), matching


def matching_seconds(rules: RuleSet, files: list[Path], passes: int) -> float:
    """The best time of matching the articles of these files, read beforehand."""

    matcher = Matcher(rules)
    day = date(2024, 1, 1)
    articles = [a for f in files for a in parse_file(str(f), f.read_bytes(), day).articles]
    spent = []
    for _ in range(passes):
        start = time.perf_counter()
        for article in articles:
            matcher.match(article)
        spent.append(time.perf_counter() - start)
    return min(spent)


# --- the plain ingest: the baseline written here ------------------------------------


def plain_ingest(files: list[Path], rules: list[tuple[str, str, str]], state: Path) -> int:
    """Read, tokenize, match through an inverted index, verify, insert by 100; matches."""
    index: dict[str, list[tuple[int, str, str]]] = {}
    for number, (needed, either, other) in enumerate(rules):
        index.setdefault(needed, []).append((number, either, other))
    db = sqlite3.connect(state, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, body TEXT, path TEXT)")
    db.execute("CREATE TABLE matches (article_id TEXT, rule INTEGER)")
    found = 0
    for first in range(0, len(files), 100):
        db.execute("BEGIN")
        for path in files[first : first + 100]:
            text = path.read_text("utf-8")
            title, _, body = text.partition("\n\n")
            words = set(_WORD.findall(text.casefold()))
            matched = [
                number
                for word in words
                for number, either, other in index.get(word, ())
                if either in words or other in words
            ]
            db.execute(
                "INSERT INTO articles VALUES (?, ?, ?, ?)", (path.name, title, body, str(path))
            )
            db.executemany(
                "INSERT INTO matches VALUES (?, ?)", [(path.name, rule) for rule in matched]
            )
            found += len(matched)
        db.execute("COMMIT")
    db.close()
    return found


def insert_only(files: list[Path], state: Path) -> None:
    """The articles inserted into SQLite by 100, nothing else done."""
    texts = [(path.name, path.read_text("utf-8"), str(path)) for path in files]
    db = sqlite3.connect(state, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE articles (id TEXT PRIMARY KEY, body TEXT, path TEXT)")
    for first in range(0, len(texts), 100):
        db.execute("BEGIN")
        db.executemany("INSERT INTO articles VALUES (?, ?, ?)", texts[first : first + 100])
        db.execute("COMMIT")
    db.close()


def best_seconds(passes: int, run: Callable[[Path], object], root: Path) -> float:
    spent = []
    for n in range(passes):
        state = root / f"plain{n}.db"
        start = time.perf_counter()
        run(state)
        spent.append(time.perf_counter() - start)
        for leftover in root.glob(f"plain{n}.db*"):
            leftover.unlink()
    return min(spent)


# --- what the state keeps -------------------------------------------------------------


def state_bytes(state: Path) -> int:
    """The bytes of a state file once its log is folded in."""
    with sqlite3.connect(state) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return state.stat().st_size


def empty_state_bytes(root: Path) -> int:
    """A state with nothing in it: the layout's own pages."""

    path = root / "empty.db"
    open_store(str(path)).close()
    return state_bytes(path)


def digest_bytes(root: Path, matches: int) -> tuple[int, int]:
    """A digest of `matches` articles written down and waiting (its delivery fails): the
    bytes the state keeps of it, and of its JSON document alone, unpacked."""

    folder = root / "digest"
    (folder / "in").mkdir(parents=True)
    rng = random.Random(SEED)
    corpus = make_corpus(rng)
    for n in range(matches):
        article = make_article(corpus, rng, n)
        text = f"Talks {n}: {article.title}\n\ntalks {article.body}\n"
        (folder / "in" / f"{n:04}.txt").write_text(text, "utf-8")
    (folder / "rules.yaml").write_text("rules:\n  - id: talks\n    query: talks\n", "utf-8")
    (folder / "blocked").write_text("a file where the channel wants a folder\n", "utf-8")
    config = f"""\
        state: {folder / "state.db"}
        watch: [{{path: {folder / "in"}}}]
        rules: {folder / "rules.yaml"}
        channels:
          local: {{type: file, path: {folder / "blocked" / "out"}/, max_matches: {matches}}}
        """
    (folder / "config.yaml").write_text(textwrap.dedent(config), "utf-8")
    wirewatch(["run", "--once", "-q", "-c", str(folder / "config.yaml")])
    with sqlite3.connect(folder / "state.db") as db:
        (stored,) = db.execute(
            "SELECT SUM(LENGTH(CAST(document AS BLOB))"
            " + COALESCE(LENGTH(CAST(rendered AS BLOB)), 0)) FROM digests"
        ).fetchone()
    store = open_store(str(folder / "state.db"))
    try:
        unsent = store.unsent_digests("local")
    finally:
        store.close()
    document = sum(len(delivery.digest.model_dump_json()) for delivery in unsent)
    return int(stored or 0), document


# --- the rows -------------------------------------------------------------------------


def rows(quick: bool) -> list[Row]:
    articles, passes = (500, 2) if quick else (2000, 3)
    with tempfile.TemporaryDirectory() as folder:
        return _rows(Path(folder), articles, passes)


def _rows(root: Path, articles: int, passes: int) -> list[Row]:
    timings: dict[int, float] = {}
    matching: dict[int, float] = {}
    projects: dict[int, Project] = {}
    files = write_articles(root, articles)
    for count in (10, 1000, 10_000):
        projects[count] = make_project(root / f"r{count}", files, _corpus_rules(count))
        timings[count], matching[count] = ingest_seconds(projects[count], passes)
    project = projects[1000]
    paths = sorted(project.articles.iterdir())
    rules = _corpus_rules(1000)
    plain = best_seconds(passes, lambda state: plain_ingest(paths, rules, state), root)
    inserts = best_seconds(passes, lambda state: insert_only(paths, state), root)
    per_article = (state_bytes(project.root / "state.db") - empty_state_bytes(root)) / articles
    text = project.text_bytes / articles
    stored, document = digest_bytes(root, 200)
    rate = {count: articles / seconds for count, seconds in timings.items()}
    # What ingest costs besides matching: the store's share, and reading and parsing.
    own = {count: articles / max(timings[count] - matching[count], 1e-9) for count in timings}
    return [
        Row(
            f"`wirewatch ingest` {articles:,} articles at 1,000 rules, start-up excluded",
            f"{rate[1000]:,.0f} art/s ({own[1000]:,.0f} less matching)",
            f"plain ingest {articles / plain:,.0f} art/s",
            *at_most(timings[1000] / plain, 1.5),
        ),
        Row(
            f"`wirewatch ingest` {articles:,} articles, 1,000 vs 10 rules",
            f"{rate[1000]:,.0f} art/s",
            f"10 rules {rate[10]:,.0f} art/s",
            *at_most(timings[1000] / timings[10], 1.3),
        ),
        *(
            Row(
                f"backlog ingest into SQLite (`wirewatch ingest` of a folder), {count:,} rules",
                f"{rate[count]:,.0f} art/s ({own[count]:,.0f} less matching)",
                f"SQLite insert-only {articles / inserts:,.0f} art/s",
                rate[count] / wanted,
                f"≥ {wanted:,} art/s",
                rate[count] >= wanted,
            )
            for count, wanted in ((1000, 3000), (10_000, 1500))
        ),
        Row(
            "stored digest, 200 matches (written down, not yet sent)",
            f"{stored / 1000:,.0f} KB",
            f"its JSON document {document / 1000:,.0f} KB; target 100 KB",
            stored / 100_000,
            "≤ 100 KB",
            stored <= 100_000,
        ),
        Row(
            "state per 3 KB article",
            f"{per_article / 1000:,.2f} KB",
            f"the article's text {text / 1000:,.2f} KB",
            *at_most(per_article / text, 1.3),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 articles, fewer passes")
    from table import render

    print(render(rows(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
