"""The `wirewatch` command line: run, check, match, status, ingest."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import ssl
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from tqdm import tqdm

from worker.articles import SUFFIXES, parse_file
from worker.config import Config, load_config
from worker.daemon import run_daemon, run_once
from worker.explain import Report, render_text, report_json
from worker.logs import setup_logging
from worker.match import Matcher
from worker.notify import Clients, supported
from worker.pipeline import Pipeline, channel_rule_ids
from worker.rematch import rematch
from worker.rules import RuleSet, load_rules
from worker.store import Store, open_store
from worker.yamlfile import ConfigError, Problem

__all__ = ["main"]

log = logging.getLogger("worker")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wirewatch` console script."""
    args = _parser().parse_args(argv)
    setup_logging(getattr(args, "log_format", "text"), verbose=args.verbose)
    try:
        config = load_config(Path(args.config), os.environ)
        rules = load_rules(config)
        _check_channels(config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED if args.command == "check" else EXIT_CONFIG
    command = _COMMANDS[args.command]
    try:
        return command(args, config, rules)
    except KeyboardInterrupt:  # Ctrl-C in a command other than the daemon
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wirewatch",
        description="Watch folders of news articles, match them against rules, send digests.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default="config.yaml", help="default: ./config.yaml")
    common.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", parents=[common], help="the daemon (or one pass: --once)")
    run.add_argument("--once", action="store_true", help="one full pass, then exit")
    run.add_argument("--log-format", choices=["text", "json"], default="text")
    commands.add_parser("check", parents=[common], help="validate config and rules")
    match = commands.add_parser(
        "match", parents=[common], help="dry run: which rules match these files, and why"
    )
    match.add_argument("files", nargs="+", metavar="FILE", type=Path, help="files or folders")
    match.add_argument("--rule", metavar="ID", help="only this rule; says why it fails too")
    match.add_argument("--json", action="store_true", help="machine-readable (see README)")
    status = commands.add_parser("status", parents=[common], help="articles, matches, sends")
    status.add_argument("--json", action="store_true", help="machine-readable (see README)")
    ingest = commands.add_parser("ingest", parents=[common], help="backfill files or folders")
    ingest.add_argument("paths", nargs="*", metavar="PATH", type=Path)
    ingest.add_argument(
        "--rematch",
        action="store_true",
        help="match stored articles (all, or those under PATH) again; keeps new matches only",
    )
    return parser


def _check_channels(config: Config) -> None:
    problems = [
        Problem(
            config.source,
            config.line_of(("channels", name, "type")),
            f"channels.{name}.type",
            f"'{channel.type}' channels cannot deliver in this version; use type: file",
        )
        for name, channel in config.channels.items()
        if not supported(channel)
    ]
    if problems:
        raise ConfigError(tuple(problems))


@contextmanager
def _pipeline(config: Config, rules: RuleSet) -> Iterator[Pipeline]:
    store = open_store(config.state_path)
    clients = Clients(http=httpx.Client(), tls=ssl.create_default_context())
    try:
        yield Pipeline(config, rules, store, clients)
    finally:
        clients.http.close()
        store.close()


def _run(args: argparse.Namespace, config: Config, rules: RuleSet) -> int:
    with _pipeline(config, rules) as pipeline:
        if args.once:
            return run_once(pipeline)
        stop = threading.Event()
        _on_signals(stop, pipeline)
        log.info("wirewatch started: %d rules, %d channels", len(rules.rules), len(config.channels))
        return run_daemon(pipeline, stop)


def _on_signals(stop: threading.Event, pipeline: Pipeline) -> None:
    def finish(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: finishing what is in flight", signal.Signals(signum).name)
        stop.set()

    def reload(_signum: int, _frame: FrameType | None) -> None:
        try:
            pipeline.use_rules(load_rules(pipeline.config))
        except ConfigError as error:
            log.error("rules not reloaded, the previous ones stay in force: %s", error)
            return
        log.info("rules reloaded: %d rules", len(pipeline.rules.rules))

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGHUP, reload)


def _check(_args: argparse.Namespace, config: Config, rules: RuleSet) -> int:
    print(
        f"{config.source}: OK: {len(config.watch)} watched folders, "
        f"{len(rules.participants)} participants, {len(rules.rules)} rules, "
        f"{len(config.channels)} channels"
    )
    return EXIT_OK


def _status(args: argparse.Namespace, config: Config, rules: RuleSet) -> int:
    with _pipeline(config, rules) as pipeline:
        report = status_report(pipeline.store, config, rules)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_status_text(report))
    return EXIT_OK


def status_report(store: Store, config: Config, rules: RuleSet) -> dict[str, Any]:
    """The `status --json` document."""
    counts = store.counts()
    channels = {}
    for name, channel in config.channels.items():
        totals = store.channel_totals(name, channel_rule_ids(channel, rules))
        channels[name] = {
            "pending": totals.pending,
            "sent": totals.sent,
            "dead": totals.dead,
            "last_sent": totals.last_sent.isoformat() if totals.last_sent else None,
        }
    return {
        "articles": {"ingested": counts["ingested"], "failed": counts["failed"]},
        "failures": [{"path": f.path, "reason": f.error} for f in store.failures()],
        "matches": counts["matches"],
        "channels": channels,
    }


def _status_text(report: dict[str, Any]) -> str:
    articles = report["articles"]
    lines = [
        f"articles: {articles['ingested']} ingested, {articles['failed']} failed files",
        f"matches:  {report['matches']}",
    ]
    lines += [f"  failed: {f['path']}: {f['reason']}" for f in report["failures"]]
    for name, channel in report["channels"].items():
        last = channel["last_sent"] or "never"
        lines.append(
            f"channel {name}: {channel['pending']} matches pending, {channel['sent']} digests"
            f" sent, {channel['dead']} dead, last sent {last}"
        )
    return "\n".join(lines)


def _ingest(args: argparse.Namespace, config: Config, rules: RuleSet) -> int:
    if not args.paths and not args.rematch:
        print("wirewatch ingest: give a PATH to ingest, or --rematch", file=sys.stderr)
        return EXIT_CONFIG
    files, missing = _files_under(args.paths)
    for path in missing:
        print(f"{path}: no such file or folder", file=sys.stderr)
    if files:
        _ingest_files(files, config, rules)
    if args.rematch:
        _rematch(args.paths, config, rules)
    return EXIT_FAILED if missing else EXIT_OK


def _rematch(paths: Sequence[Path], config: Config, rules: RuleSet) -> None:
    under = [str(path.resolve()) for path in paths]
    with _pipeline(config, rules) as pipeline:
        total = None if under else pipeline.store.counts()["ingested"]
        done = rematch(
            pipeline.store,
            Matcher(rules),
            under,
            progress=lambda articles: tqdm(
                articles, total=total, desc="rematch", unit="article", disable=None
            ),
        )
    print(f"{done.articles} stored articles matched again: {done.new_matches} new matches")


def _ingest_files(files: Sequence[Path], config: Config, rules: RuleSet) -> None:
    new = matched = failed = 0
    with _pipeline(config, rules) as pipeline:
        for path in tqdm(files, desc="ingest", unit="file", disable=None):
            outcome = pipeline.ingest(path, retry_failed=True)
            new += outcome.new_articles
            matched += len(outcome.matches)
            failed += outcome.error is not None
    print(
        f"{len(files)} files: {new} new articles, {matched} matched, {failed} failed"
        " (see wirewatch status)"
        if failed
        else f"{len(files)} files: {new} new articles, {matched} matched"
    )


def _match(args: argparse.Namespace, config: Config, rules: RuleSet) -> int:
    known = {rule.id for rule in rules.rules}
    if args.rule is not None and args.rule not in known:
        print(f"unknown rule '{args.rule}'; known: {', '.join(sorted(known))}", file=sys.stderr)
        return EXIT_CONFIG
    files, missing = _files_under(args.files, resolve=False)
    for path in missing:
        print(f"{path}: no such file or folder", file=sys.stderr)
    matcher = Matcher(rules)
    reports: list[Report] = []
    unreadable = 0
    for path in files:
        found = _reports(path, matcher, args.rule)
        unreadable += found is None
        reports += found or []
    if args.json:
        output = json.dumps([report_json(r, rules) for r in reports], indent=2, ensure_ascii=False)
    else:
        output = "\n\n".join(render_text(report, rules) for report in reports)
    try:
        print(output)
    except BrokenPipeError:  # `wirewatch match … | head` stopped reading: not a fault
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_FAILED if missing or unreadable else EXIT_OK


def _reports(path: Path, matcher: Matcher, rule_id: str | None) -> list[Report] | None:
    """The report of each article in a file; None (and the reason on stderr) if unreadable."""
    try:
        data = path.read_bytes()
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
    except OSError as error:
        print(f"{path}: cannot be read: {error.strerror or error}", file=sys.stderr)
        return None
    parsed = parse_file(str(path), data, modified)
    for problem in parsed.problems:
        print(f"{path}: {problem}", file=sys.stderr)
    reports = []
    for article in parsed.articles:
        rule_ids = [rule_id] if rule_id else [m.rule_id for m in matcher.match(article)]
        explanations = tuple(matcher.explain(article, rid) for rid in rule_ids)
        reports.append(Report(str(path), article, explanations))
    return None if parsed.problems and not parsed.articles else reports


def _files_under(paths: Sequence[Path], resolve: bool = True) -> tuple[list[Path], list[Path]]:
    files: list[Path] = []
    missing: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p.resolve() if resolve else p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in SUFFIXES
            )
        elif path.exists():
            files.append(path.resolve() if resolve else path)
        else:
            missing.append(path)
    return files, missing


_COMMANDS = {
    "run": _run,
    "check": _check,
    "match": _match,
    "status": _status,
    "ingest": _ingest,
}
