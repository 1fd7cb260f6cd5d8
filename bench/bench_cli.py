"""What the rule files cost the commands: loading them, the daemon's memory once idle,
`wirewatch match --json` beside `wirewatch ingest` of the same files, and the daemon's
start-up scan (`run --once`) of a backlog beside `wirewatch ingest` of it.

    .venv/bin/python bench/bench_cli.py            # the four rows
    .venv/bin/python bench/bench_cli.py --quick

The rules and articles are bench_match's synthetic ones (3 KB news articles, rules of
every kind), written as a user would: one YAML rule file, one .txt file per article.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from bench_match import Corpus, make_article, make_corpus, make_rules
from table import Row, at_most, best_of, render

from worker.settings.yamlfile import read_yaml

SEED = 7
AN_HOUR_AGO = time.time() - 3600  # a backlog: no file waits to settle


def rule_file(corpus: Corpus, count: int) -> str:
    """`count` rules as a rule file, with the titles, tags and priorities users write."""
    data: dict[str, Any] = make_rules(corpus, random.Random(SEED), count)
    for rule in data["rules"]:
        rule.update(title=f"Rule {rule['id']}", tags=["world", "talks"], priority="high")
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def project(root: Path, corpus: Corpus, rules: int, articles: int) -> Path:
    """A project with `rules` rules and `articles` files in its inbox; its config's path."""
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "rules.yaml").write_text(rule_file(corpus, rules), encoding="utf-8")
    (root / "inbox").mkdir()
    rng = random.Random(SEED)
    for n in range(articles):
        article = make_article(corpus, rng, n)
        path = root / "inbox" / f"{n:05}.txt"
        path.write_text(f" date 2024-01-01\n{article.title}\n\n{article.body}\n", "utf-8")
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))
    config = (
        "state: var/wirewatch.db\nwatch: [{path: inbox}]\nrules: rules/\n"
        "channels:\n  local: {type: file, path: outbox/, schedule: '0 0 1 1 *'}\n"
    )
    (root / "config.yaml").write_text(config, encoding="utf-8")
    return root / "config.yaml"


def timed(run: Callable[[], object]) -> Callable[[], float]:
    def seconds() -> float:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    return seconds


# --- loading 1,000 rules from YAML ----------------------------------------------------


def yaml_row(corpus: Corpus, passes: int) -> Row:
    """read_yaml (data and the line of every key) beside the pure-Python safe_load."""
    text = rule_file(corpus, 1000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rules.yaml"
        path.write_text(text, encoding="utf-8")
        ours = best_of(passes, timed(lambda: read_yaml(path)))
    pure = best_of(passes, timed(lambda: yaml.load(text, Loader=yaml.SafeLoader)))
    plain_c = best_of(passes, timed(lambda: yaml.load(text, Loader=yaml.CSafeLoader)))
    # The target, 0.1 s against 0.5 s for the pure loader, as a ratio: the
    # machine is shared, so the pure loader's time in this run is the yardstick.
    ratio, target, holds = at_most(ours / pure, 0.2)
    return Row(
        "loading 1,000 rules from YAML, line marks kept",
        f"{ours * 1000:,.0f} ms",
        f"pure safe_load {pure * 1000:,.0f} ms; CSafeLoader, no marks {plain_c * 1000:,.0f} ms",
        ratio,
        target,
        holds,
    )


# --- idle RSS with 10,000 rules -------------------------------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def idle_rss(argv: list[str], ready: Callable[[str], bool], cwd: Path) -> int:
    """The resident memory (kB) of a process once `ready(its output)` and then idle."""
    log = cwd / "process.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        deadline = time.monotonic() + 300
        while not ready(log.read_text("utf-8")):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[2:]} did not get ready:\n{log.read_text('utf-8')}")
            time.sleep(0.05)
        time.sleep(2)  # idle: the start-up scan and the first sends are done
        return rss_kb(process.pid)
    finally:
        process.terminate()
        process.wait(30)


def rss_row(corpus: Corpus) -> Row:
    """A daemon with 10,000 rules, idle, beside a bare interpreter that imports nothing."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = project(root, corpus, 10_000, 0)
        # Started as users start it, from the project's folder: a relative config path
        # once made the daemon reload every rule a few seconds after it started.
        daemon = [sys.executable, "-m", "worker", "run", "-c", config.name]
        ours = idle_rss(daemon, lambda text: "watching" in text, root)
        bare = [sys.executable, "-S", "-c", "import time; print('up', flush=True); time.sleep(60)"]
        baseline = idle_rss(bare, lambda text: "up" in text, root)
    # The target is 80 MB absolute: the interpreter's own few MB are part of it.
    ratio, target, holds = at_most(ours / 1024 / 80, 1)
    return Row(
        "idle RSS, 10,000 rules (vs 80 MB)",
        f"{ours / 1024:,.0f} MB",
        f"bare python {baseline / 1024:,.0f} MB",
        ratio,
        target,
        holds,
    )


# --- match --json beside ingest --------------------------------------------------------


def command(config: Path, *args: str) -> Callable[[], float]:
    argv = [sys.executable, "-m", "worker", *args[:1], "-c", str(config), *args[1:]]

    def seconds() -> float:
        start = time.perf_counter()
        subprocess.run(argv, cwd=config.parent, check=True, capture_output=True)
        return time.perf_counter() - start

    return seconds


def in_new_state(config: Path, run: Callable[[], float]) -> Callable[[], float]:
    """`run`, timed, each time into a new state: the project's state file removed first."""

    def seconds() -> float:
        for stale in (config.parent / "var").glob("wirewatch.db*"):
            stale.unlink()
        return run()

    return seconds


def match_row(corpus: Corpus, articles: int, passes: int) -> Row:
    """`match --json` of the inbox beside `ingest` of it into a new state each time."""
    with tempfile.TemporaryDirectory() as folder:
        config = project(Path(folder), corpus, 1000, articles)
        ingested = best_of(passes, in_new_state(config, command(config, "ingest", "inbox")))
        matched = best_of(passes, command(config, "match", "--json", "inbox"))
    measure = f"`wirewatch match --json`, 1,000 rules × {articles:,} articles"
    return beside_ingest(measure, matched, ingested, 2)


def beside_ingest(measure: str, seconds: float, ingested: float, target: float) -> Row:
    """A command's time beside `wirewatch ingest` of the same files, held to `target`×."""
    ratio, shown, holds = at_most(seconds / ingested, target)
    baseline = f"`wirewatch ingest` {ingested:,.1f} s"
    return Row(measure, f"{seconds:,.1f} s", baseline, ratio, shown, holds)


# --- the daemon's start-up scan beside ingest ------------------------------------------


def scan_row(corpus: Corpus, articles: int, passes: int) -> Row:
    """`run --once` over a backlog in the watched folder beside `ingest --no-digest` of it,
    each into a new state: the folder does not alert on what it holds already, so neither
    sends a digest, and both are timed from the command's start to its end."""
    with tempfile.TemporaryDirectory() as folder:
        config = project(Path(folder), corpus, 1000, articles)
        text = config.read_text("utf-8").replace(
            "{path: inbox}", "{path: inbox, alert_existing: false}"
        )
        config.write_text(text, "utf-8")
        scanned = best_of(passes, in_new_state(config, command(config, "run", "--once")))
        ingest = command(config, "ingest", "--no-digest", "inbox")
        ingested = best_of(passes, in_new_state(config, ingest))
    measure = f"`wirewatch run --once`, a backlog of {articles:,} files at 1,000 rules"
    return beside_ingest(measure, scanned, ingested, 1.1)


def rows(quick: bool) -> list[Row]:
    corpus = make_corpus(random.Random(SEED))
    passes = 2 if quick else 4
    return [
        yaml_row(corpus, passes),
        rss_row(corpus),
        match_row(corpus, 500 if quick else 2000, 1 if quick else 2),
        scan_row(corpus, 500 if quick else 2000, 1 if quick else 2),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples, same rows")
    print(render(rows(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
