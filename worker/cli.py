"""The `wirewatch` command line: run, check, match, status, ingest, mute."""

from __future__ import annotations

import argparse
import gc
import getpass
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib.metadata import version
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from worker.daemon import STATE_GONE, run_daemon, run_once
from worker.deliver.outcome import Outcome
from worker.digest.backlog import match_json
from worker.digest.backlog import match_line as record_line
from worker.errors import ConfigError, Problem, StateError, StateGone, StateUnavailable
from worker.ingest.batches import FileOutcome, Found, ingest_alone, ingest_together
from worker.ingest.formats import SUFFIXES, Parsed, parse_file
from worker.ingest.rematch import rematch
from worker.logs import log_in_zone, setup_logging
from worker.match.backtest import SHOWN, backtest, backtest_json, backtest_text
from worker.match.explain import Report, render_text, report_json
from worker.match.matcher import Matcher
from worker.model import Mute, is_web_address
from worker.muting import checked_target, match_document, match_line, mute_document, mute_line
from worker.pipeline import Pipeline, Setup, load_setup, open_pipeline, pruned_text, user_agent
from worker.project import INBOX, make_project, starter_files
from worker.rules.files import load_draft_rules, read_rule_files
from worker.rules.lint import TOO_BROAD, Broad, rule_warnings, too_broad
from worker.rules.ruleset import RuleSet
from worker.rules.schema import SCHEMAS, schema_text
from worker.settings.config import Config, load_config
from worker.settings.schedule import parse_duration
from worker.sources.fetch import Fetcher, FetchError, origin
from worker.sources.watcher import scan_tree
from worker.status import asked_health, status_report, status_text
from worker.store import (
    BatchBrokenError,
    backup_state,
    daemon_lock,
    open_store,
    shown_state,
    state_exists,
    state_problem,
)
from worker.store.copy import copy_state
from worker.wording import did_you_mean, plural, quoted

__all__ = ["main"]

log = logging.getLogger("worker")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130
# A page `match --url` reads: as large and as slow as a feed's page may be by default.
_PAGE_BYTES, _PAGE_SECONDS = 10_000_000, 30.0

# How long `ingest` waits for a state it cannot reach (or that is full) before it tries a
# file again, twice as long each time.
_FIRST_WAIT, _LONGEST_WAIT = 1.0, 30.0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wirewatch` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "format", None) and not args.dry_run:  # a preview must never send
        parser.error("--format shapes what --dry-run prints; add --dry-run")
    setup_logging(getattr(args, "log_format", "text"), getattr(args, "level", logging.INFO))
    if args.command in _WITHOUT_CONFIG:
        return _WITHOUT_CONFIG[args.command](args)
    try:
        setup = load_setup(Path(args.config), os.environ)
    except ConfigError as error:
        print(error, file=sys.stderr)
        if args.command == "status":  # what the state holds is worth seeing all the same
            return _status_without_rules(args)
        return EXIT_FAILED if args.command == "check" else EXIT_CONFIG
    log_in_zone(setup.config.tz)
    command = _COMMANDS[args.command]
    return _on_the_state(setup.config, lambda: command(args, setup))


def _on_the_state(config: Config, command: Callable[[], int]) -> int:
    """Run a command on the state; what goes wrong with the state is one line."""
    try:
        return command()
    except StateGone as error:  # a restart cannot help: the state must be restored, or begun anew
        print(config.problem(("state",), str(error)), file=sys.stderr)
        return STATE_GONE
    except StateUnavailable as error:  # not the config's fault: the same command works later
        print(f"{error}; run the command again once it can be reached", file=sys.stderr)
        return EXIT_FAILED
    except StateError as error:
        print(config.problem(("state",), str(error)), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:  # Ctrl-C in a command other than the daemon
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `wirewatch digest --dry-run | head`: the reader has enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """argparse that names the choice meant by a mistyped one (`stauts`: `status`)."""

    # argparse checks every choice here; Python 3.14's `suggest_on_error` does the same.
    def _check_value(self, action: argparse.Action, value: object) -> None:
        choices = action.choices
        if choices is not None and value not in choices:
            known = ", ".join(map(repr, choices))
            hint = did_you_mean(str(value), map(str, choices))
            raise argparse.ArgumentError(action, f"invalid choice: {value!r} ({known}){hint}")


def _parser() -> argparse.ArgumentParser:
    logging_options = _logging_options()
    parser = _Parser(
        prog="wirewatch",
        description="Watch folders of news articles, match them against rules, send digests.",
        parents=[logging_options],
    )
    parser.add_argument("--version", action="version", version=f"wirewatch {version('wirewatch')}")
    common = _Parser(add_help=False, parents=[logging_options])
    common.add_argument(
        "-c", "--config", default="config.yaml", help="the config file (default: ./config.yaml)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", parents=[common], help="the daemon (or one pass: --once)")
    run.add_argument("--once", action="store_true", help="one full pass, then exit")
    run.add_argument(
        "--fresh",
        action="store_true",
        help="begin a new state where the state file is gone (everything is read and sent again)",
    )
    check = commands.add_parser(
        "check",
        parents=[common],
        help="validate config and rules; warn of rules that cannot work as meant",
    )
    check.add_argument(
        "--strict", action="store_true", help="warnings about the rules are errors too"
    )
    check.add_argument(
        "--too-broad",
        metavar="PERCENT",
        type=_percent,
        default=f"{TOO_BROAD:.0%}",
        help="warn of a rule that matched more than this share of the last 30 days' stored"
        " articles (default: %(default)s)",
    )
    match = commands.add_parser(
        "match",
        parents=[common],
        help="dry run: which rules match these files (or, --stored, the stored articles), and why",
    )
    match.add_argument("files", nargs="*", metavar="FILE", type=Path, help="files or folders")
    match.add_argument("--url", action="append", default=[], help="a web page to fetch and read")
    match.add_argument(
        "--rule", metavar="ID", help="only this rule; on files, says why it fails too"
    )
    match.add_argument(
        "--json",
        action="store_true",
        help="machine-readable (see docs/rules.md; with --stored, docs/testing-rules.md)",
    )
    _backtest_options(match)
    status = commands.add_parser("status", parents=[common], help="articles, matches, sends")
    status.add_argument(
        "--json", action="store_true", help="machine-readable (see docs/operations.md)"
    )
    status.add_argument("--all", action="store_true", help="every failed file, not the first 20")
    ingest = commands.add_parser("ingest", parents=[common], help="backfill files or folders")
    ingest.add_argument("paths", nargs="*", metavar="PATH", type=Path)
    ingest.add_argument(
        "--rematch",
        action="store_true",
        help="match stored articles (all, or those under PATH) again; keeps new matches only",
    )
    ingest.add_argument(
        "--no-digest",
        action="store_true",
        help="store and match, but send no digest of these files' matches (a backfill)",
    )
    _matches_options(commands.add_parser("matches", parents=[common], help="stored matches"))
    copy = commands.add_parser(
        "copy-state", parents=[common], help="copy a state into another, empty one"
    )
    copy.add_argument("source", metavar="FROM", help="a SQLite file, or postgresql://…")
    copy.add_argument("target", metavar="TO", help="an empty state: a new file, or a database")
    digest = commands.add_parser("digest", parents=[common], help="send the pending digest now")
    digest.add_argument("channels", nargs="*", metavar="CHANNEL", help="default: every channel")
    what = digest.add_mutually_exclusive_group()
    what.add_argument("--dry-run", action="store_true", help="print it; mark nothing sent")
    what.add_argument("--retry-dead", action="store_true", help="send dead digests again too")
    digest.add_argument(
        "--format",
        choices=["text", "html", "json"],
        help="with --dry-run; json prints one document a line, one for each channel",
    )
    prune = commands.add_parser(
        "prune", parents=[common], help="remove articles and sent digests past their window"
    )
    prune.add_argument("--articles", metavar="AGE", type=_age, help="default: retention.articles")
    prune.add_argument("--digests", metavar="AGE", type=_age, help="default: retention.digests")
    prune.add_argument("--dry-run", action="store_true", help="count what would go; remove none")
    backup = commands.add_parser(
        "backup", parents=[common], help="a consistent copy of the state, while the daemon runs"
    )
    backup.add_argument("path", metavar="PATH", type=Path, help="the file to write")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    _mute_parsers(commands, common)
    _project_parsers(commands, logging_options)
    return parser


def _project_parsers(
    commands: argparse._SubParsersAction[_Parser], logging_options: _Parser
) -> None:
    """`init` and `schema`: they read no config, so they take only the log's options."""
    init = commands.add_parser(
        "init",
        parents=[logging_options],
        help="make a new project folder: config, example rules, inbox; replaces no file",
    )
    init.add_argument("folder", nargs="?", default=".", metavar="DIR", help="default: .")
    schema = commands.add_parser(
        "schema",
        parents=[logging_options],
        help="the JSON Schema of config.yaml or of rule files, for editors",
    )
    schema.add_argument("name", choices=list(SCHEMAS), metavar="config|rules")


def _mute_parsers(commands: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
    mute = commands.add_parser(
        "mute", parents=[common], help="keep a rule, participant or channel out of digests"
    )
    mute.add_argument("target", metavar="TARGET", help="rule:ID, participant:ID or channel:NAME")
    mute.add_argument(
        "--for", dest="duration", metavar="DURATION", type=_age, required=True, help="2h, 3d..."
    )
    mute.add_argument("--reason", metavar="TEXT", help="shown by mutes and status")
    mute.add_argument(
        "--then",
        choices=["drop", "deliver"],
        default="drop",
        help="what becomes of the muted matches: dropped (default), or sent once it ends",
    )
    unmute = commands.add_parser("unmute", parents=[common], help="end a mute now")
    unmute.add_argument("target", metavar="TARGET", help="what was muted, or the mute's #id")
    mutes = commands.add_parser("mutes", parents=[common], help="the mutes on now")
    mutes.add_argument("--json", action="store_true", help="machine-readable (see docs/digests.md)")


def _backtest_options(match: argparse.ArgumentParser) -> None:
    """The options of `wirewatch match` that run rules over the stored articles."""
    match.add_argument(
        "--stored",
        action="store_true",
        help="run the rules over the articles already stored; reads only, sends nothing",
    )
    match.add_argument(
        "--rules",
        metavar="FILE",
        action="append",
        type=Path,
        default=[],
        help="use the rules of FILE (a draft not yet loaded) instead of the live rules",
    )
    match.add_argument(
        "--since",
        metavar="AGE",
        type=_age,
        help=f"with --stored: articles stored this recently (default: {_BACKTEST_SINCE.days}d)",
    )
    match.add_argument(
        "--show",
        metavar="N",
        type=_count,
        help=f"with --stored: the N newest matched articles shown per rule (default: {SHOWN})",
    )


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a count; write 0, 1, 2…")
    return int(text)


# The articles `match --stored` reads without --since, and `check` measures breadth over.
_BACKTEST_SINCE = timedelta(days=30)


def _matches_options(matches: argparse.ArgumentParser) -> None:
    """The options of `wirewatch matches`: which stored matches it lists, and how."""
    matches.add_argument("--rule", metavar="ID", help="only this rule's")
    matches.add_argument(
        "--since",
        metavar="AGE",
        type=_age,
        help="matched this recently (default: 2d, or all a digest holds with --digest)",
    )
    which = matches.add_mutually_exclusive_group()
    which.add_argument("--muted", action="store_true", help="only those a mute kept out")
    which.add_argument("--digest", metavar="ID", help="those a digest holds, listed or counted")
    matches.add_argument(
        "--json", action="store_true", help="machine-readable (see docs/digests.md)"
    )


_LEVELS = (
    ("-v", "--verbose", logging.DEBUG, "log at DEBUG level"),
    ("-q", "--quiet", logging.WARNING, "log warnings and errors only"),
)


def _logging_options() -> _Parser:
    """-v, -q and --log-format, for the command line and every command."""
    # Taken before or after the command: one not given is left out of the namespace, so
    # that a value given before the command is not overwritten by the command's default.
    options = _Parser(add_help=False)
    level = options.add_mutually_exclusive_group()
    for short, long, const, told in _LEVELS:
        level.add_argument(
            short,
            long,
            dest="level",
            action="store_const",
            const=const,
            default=argparse.SUPPRESS,
            help=told,
        )
    options.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=argparse.SUPPRESS,
        help="text (the default) or json: one object a line, with fields (see docs/operations.md)",
    )
    return options


def _age(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _prune(args: argparse.Namespace, setup: Setup) -> int:
    retention = setup.config.retention
    articles = args.articles or retention.articles
    digests = args.digests or retention.digests
    if articles is None and digests is None:
        print(
            "wirewatch prune: no window to prune: set retention: in the config, or give"
            " --articles AGE or --digests AGE",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    with open_pipeline(setup) as pipeline:
        pruned = pipeline.prune(articles, digests, args.dry_run)
    print(pruned_text(pruned, args.dry_run))
    return EXIT_OK


def _backup(args: argparse.Namespace, setup: Setup) -> int:
    config = setup.config
    try:
        backup_state(config.state_url, args.path, args.force, config.timing.busy_timeout)
    except StateError as error:  # no copy made: a script running this must notice
        print(f"wirewatch backup: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{shown_state(config.state_url)}: backed up into {args.path}")
    return EXIT_OK


def _run(args: argparse.Namespace, setup: Setup) -> int:
    config, rules = setup.config, setup.rules
    # Taken before the state is opened: a second daemon must not even upgrade its layout.
    # A pass (--once) takes it too, so it leaves the marker that tells a lost state file.
    with daemon_lock(config.state_url, fresh=args.fresh):
        if args.once:
            with open_pipeline(setup) as pipeline:
                return run_once(pipeline)
        stop, reload = threading.Event(), threading.Event()
        _on_signals(stop, reload)
        rules_and_channels = (
            plural(len(rules.rules), "rule"),
            plural(len(config.channels), "channel"),
        )
        log.info("wirewatch started: %s, %s", *rules_and_channels)
        path = Path(args.config)
        try:
            return run_daemon(
                setup, lambda: load_setup(path, os.environ), stop, reload, environ=os.environ
            )
        except ConfigError as error:  # the HTTP endpoint cannot listen where it is told
            print(error, file=sys.stderr)
            return EXIT_CONFIG


def _copy_state(args: argparse.Namespace) -> int:
    """Copy one state into another, empty one; neither may be in use by a daemon."""
    if not state_exists(args.source):  # a mistyped path would copy an empty state over
        told = "no state there to copy; give the state file or database workers used"
        print(f"wirewatch copy-state: {shown_state(args.source)}: {told}", file=sys.stderr)
        return EXIT_CONFIG
    if _same_state(args.source, args.target):
        print("wirewatch copy-state: FROM and TO are the same state", file=sys.stderr)
        return EXIT_CONFIG
    try:
        with daemon_lock(args.source), daemon_lock(args.target):
            source = open_store(args.source)
            try:
                target = open_store(args.target)
                try:
                    copied = copy_state(source, target, _told_copied)
                finally:
                    target.close()
            finally:
                source.close()
    except StateError as error:
        print(f"wirewatch copy-state: {error}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"copied {plural(sum(copied.values()), 'row')} into {shown_state(args.target)}")
    return EXIT_OK


def _same_state(one: str, other: str) -> bool:
    """Whether two `state:` values name one state (a file under two names, say)."""
    if "://" in one or "://" in other:
        return one == other
    return Path(one).resolve() == Path(other).resolve()


def _told_copied(table: str, rows: int) -> None:
    print(f"  {table}: {plural(rows, 'row')}", file=sys.stderr)


def _on_signals(stop: threading.Event, reload: threading.Event) -> None:
    # A handler only sets an event: the work is done by the daemon between two articles.
    def finish(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: finishing what is in flight", signal.Signals(signum).name)
        stop.set()

    def hang_up(_signum: int, _frame: FrameType | None) -> None:
        log.info("SIGHUP received: reloading the config and rules")
        reload.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGHUP, hang_up)


def _percent(text: str) -> float:
    number = text.strip().removesuffix("%")
    try:
        share = float(number) / 100
    except ValueError:
        share = -1.0
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a percentage; write 1 to 100, as 50%")
    return share


def _check(args: argparse.Namespace, setup: Setup) -> int:
    config, rules = setup.config, setup.rules
    problem = state_problem(config.state_url)
    if problem is not None:
        print(config.problem(("state",), problem), file=sys.stderr)
        return EXIT_FAILED
    warnings = _rule_warnings(setup, args.too_broad)
    for warning in warnings:
        print(warning, file=sys.stderr)
    if warnings and args.strict:
        told = f"{plural(len(warnings), 'warning')}, errors with --strict"
        print(f"{config.source}: not OK: {told}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"{config.source}: OK: {plural(len(config.watch), 'watched folder')}, "
        f"{plural(len(config.feeds), 'feed') + ', ' if config.feeds else ''}"
        f"{plural(len(rules.participants), 'participant')}, {plural(len(rules.rules), 'rule')}, "
        f"{plural(len(config.channels), 'channel')}"
    )
    return EXIT_OK


def _rule_warnings(setup: Setup, threshold: float) -> list[Problem]:
    """What `check` warns of in the rules; a rule's share of the articles stored lately too,
    when there is a state to read (read only)."""
    files = read_rule_files(setup.config.rule_files())
    warnings = rule_warnings(files)
    state = setup.config.state_url
    if not state_exists(state):
        return warnings
    try:
        counted = _rule_shares(setup)
    except StateError as error:  # the rules are checked all the same
        told = " ".join(str(error).split())  # one line, as the driver's message may not be
        print(f"{told}; how broad each rule is was not measured", file=sys.stderr)
        return warnings
    return warnings + too_broad(files, counted, threshold)


def _rule_shares(setup: Setup) -> list[Broad]:
    """How many of the articles stored lately each rule matches."""
    rules = setup.rules
    matcher, since = Matcher(rules), datetime.now(UTC) - _BACKTEST_SINCE
    ids = [rule.id for rule in rules.rules]
    store = open_store(setup.config.state_url, setup.config.timing.busy_timeout)
    try:
        result = backtest(store.articles(since=since), matcher, ids, since, shown=0)
    finally:
        store.close()
    return [Broad(r.rule_id, r.matched, result.articles) for r in result.rules]


def _status(args: argparse.Namespace, setup: Setup) -> int:
    return _show_status(args, setup.config, len(setup.rules.rules))


def _status_without_rules(args: argparse.Namespace) -> int:
    """The status of the state when a rule file or template has a mistake: an operator
    still sees what the daemon, running on the rules it read before, has done."""
    try:
        config = load_config(Path(args.config), os.environ)
    except ConfigError:  # the config itself: the state is not known
        return EXIT_CONFIG
    told = "the rules are not read, for the mistakes above; the state as it is:"
    print(f"{quoted(config.source)}: {told}", file=sys.stderr)
    log_in_zone(config.tz)
    shown = _on_the_state(config, lambda: _show_status(args, config, rules=None))
    return shown if shown != EXIT_OK else EXIT_CONFIG


def _show_status(args: argparse.Namespace, config: Config, rules: int | None) -> int:
    store = open_store(config.state_url, config.timing.busy_timeout)
    try:
        report = status_report(store, config, rules=rules, health=asked_health(config))
    finally:
        store.close()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(status_text(report, config.tz, every_failure=args.all))
    return EXIT_OK


def _ingest(args: argparse.Namespace, setup: Setup) -> int:
    if not args.paths and not args.rematch:
        print("wirewatch ingest: give a PATH to ingest, or --rematch", file=sys.stderr)
        return EXIT_CONFIG
    files, missing = _files_under(args.paths)
    for path in missing:
        print(f"{path}: no such file or folder", file=sys.stderr)
    if files:
        _ingest_files(files, setup, "backfill" if args.no_digest else None)
    if args.rematch:
        _rematch(args.paths, setup)
    return EXIT_FAILED if missing else EXIT_OK


def _rematch(paths: Sequence[Path], setup: Setup) -> None:
    # tqdm is imported by the commands that show progress: the daemon never holds it.
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    under = [str(path.resolve()) for path in paths]
    with open_pipeline(setup) as pipeline, logging_redirect_tqdm():
        total = None if under else pipeline.store.counts()["ingested"]
        done = rematch(
            pipeline.store,
            Matcher(setup.rules),
            under,
            progress=lambda articles: tqdm(
                articles, total=total, desc="rematch", unit="article", disable=None
            ),
        )
    articles = plural(done.articles, "stored article")
    print(f"{articles} matched again: {plural(done.new_matches, 'new match', 'new matches')}")


@contextmanager
def _pipeline_waiting(setup: Setup) -> Iterator[Pipeline]:
    """The pipeline, once its state can be reached (said once by the store)."""
    wait = _FIRST_WAIT
    while True:
        with ExitStack() as opened:
            try:
                pipeline = opened.enter_context(open_pipeline(setup))
            except StateUnavailable:
                time.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT)
                continue
            yield pipeline
            return


def _ingest_files(files: Sequence[Path], setup: Setup, withheld: str | None = None) -> None:
    # Log lines are written above the progress bar, not into it.
    from tqdm.contrib.logging import logging_redirect_tqdm

    with _pipeline_waiting(setup) as pipeline, logging_redirect_tqdm():
        counts = ingest_into(pipeline, files, withheld)
    print(_ingest_summary(len(files), counts))


def ingest_into(
    pipeline: Pipeline, files: Sequence[Path], withheld: str | None = None
) -> Counter[str]:
    """`wirewatch ingest` of these files, once its pipeline is open: what became of them,
    counted. With `withheld` (why), their matches are sent to no channel."""
    from tqdm import tqdm

    counts = Counter[str]()
    progress = tqdm(total=len(files), desc="ingest", unit="file", disable=None)
    with progress, _set_aside_from_collection():
        left = list(files)
        while left:
            done = _ingest_batch(pipeline, left, withheld)
            for path, outcome in done:
                _tally(counts, path, outcome)
            progress.update(len(done))
            left = left[len(done) :]
    return counts


@contextmanager
def _set_aside_from_collection() -> Iterator[None]:
    """What is there before an ingest (the rules, the compiled matcher, the words it
    remembers) outlives it: the garbage collector leaves it alone meanwhile, where it would
    go through it all again each time the articles made since add up."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _tally(counts: Counter[str], path: Path, outcome: FileOutcome) -> None:
    """What became of one file, counted (and said, when the store failed for it)."""
    if isinstance(outcome, Exception):  # the store failed for this file: the others go on
        from tqdm import tqdm

        tqdm.write(f"{quoted(path)}: not ingested: {outcome}", file=sys.stderr)
        counts["failed"] += 1
    elif outcome is None:
        counts["unchanged"] += 1
    else:
        counts["new"] += outcome.new_articles
        counts["known"] += outcome.known
        counts["matched"] += len(outcome.matches)
        counts["failed"] += outcome.error is not None


def _ingest_summary(files: int, counts: Counter[str]) -> str:
    """`3 files: 1 new article, 2 already known, 1 matched`, and what was skipped or failed."""
    told = [plural(counts["new"], "new article")]
    told += [f"{counts['known']} already known"] if counts["known"] else []
    told.append(f"{counts['matched']} matched")
    if counts["unchanged"]:
        told.append(f"{plural(counts['unchanged'], 'file')} unchanged since ingested")
    if counts["failed"]:
        told.append(f"{counts['failed']} failed (see wirewatch status)")
    return f"{plural(files, 'file')}: {', '.join(told)}"


def _ingest_batch(
    pipeline: Pipeline, files: Sequence[Path], withheld: str | None = None
) -> list[tuple[Path, FileOutcome]]:
    """The first of these files ingested in one transaction (`ingest_together`); one by one
    when a statement of the batch failed. While the state cannot be reached or is full
    (said once by the store), it waits and tries again (Ctrl-C stops)."""
    read = partial(pipeline.read_file, withheld=withheld)
    wait = _FIRST_WAIT
    while True:
        tried: list[Path] = []
        try:
            return ingest_together(pipeline, files, read, tried)
        except StateUnavailable:
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT)
        except BatchBrokenError:
            return [(path, _ingest_waiting(pipeline, path, read)) for path in tried]


def _ingest_waiting(pipeline: Pipeline, path: Path, read: Callable[[Path], Found]) -> FileOutcome:
    """One file ingested on its own, waiting while the state cannot be reached."""
    wait = _FIRST_WAIT
    while True:
        try:
            return ingest_alone(pipeline, path, read)
        except StateUnavailable:
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT)


def _match(args: argparse.Namespace, setup: Setup) -> int:
    wrong = _match_mistake(args)
    if wrong is not None:
        print(f"wirewatch match: {wrong}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        rules = load_draft_rules(args.rules, setup.rules) if args.rules else setup.rules
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    known = {rule.id for rule in rules.rules}
    if args.rule is not None and args.rule not in known:
        hint = did_you_mean(args.rule, known)
        print(
            f"unknown rule '{args.rule}'; known: {', '.join(sorted(known))}{hint}", file=sys.stderr
        )
        return EXIT_CONFIG
    if args.stored:
        return _backtest(args, setup, rules)
    files, missing = _files_under(args.files, resolve=False)
    for path in missing:
        print(f"{path}: no such file or folder", file=sys.stderr)
    matcher = Matcher(rules)
    reports: list[Report] = []
    unreadable = 0
    for path in files:
        found = _reports(path, matcher, args.rule, setup.config.tz)
        unreadable += found is None
        reports += found or []
    for url in args.url:
        found = _page_reports(url, matcher, args.rule)
        unreadable += found is None
        reports += found or []
    if args.json:
        output = json.dumps([report_json(r, rules) for r in reports], indent=2, ensure_ascii=False)
    else:
        output = "\n\n".join(render_text(report, rules) for report in reports)
    print(output)
    return EXIT_FAILED if missing or unreadable else EXIT_OK


def _match_mistake(args: argparse.Namespace) -> str | None:
    """What is wrong with the way `match` was asked, if anything."""
    if args.stored and (args.files or args.url):
        return "--stored runs the rules over the stored articles; leave out FILE and --url"
    if not args.stored and not args.files and not args.url:
        return "give a FILE, or --url URL, or --stored"
    if not args.stored and (args.since is not None or args.show is not None):
        return "--since and --show go with --stored"
    return None


def _backtest(args: argparse.Namespace, setup: Setup, rules: RuleSet) -> int:
    """`match --stored`: the rules run over the stored articles; reads the state only."""
    config = setup.config
    if not state_exists(config.state_url):
        told = "no state yet, so no article is stored; ingest some first (wirewatch ingest PATH)"
        print(f"{shown_state(config.state_url)}: {told}", file=sys.stderr)
        return EXIT_FAILED
    rule_ids = [args.rule] if args.rule else [rule.id for rule in rules.rules]
    tried = RuleSet(rules.participants, tuple(rules.rule(rule_id) for rule_id in rule_ids))
    live = _live_namesakes(setup.rules, rule_ids) if args.rules else None
    matcher = Matcher(tried)
    since = datetime.now(UTC) - (args.since or _BACKTEST_SINCE)
    store = open_store(config.state_url, config.timing.busy_timeout)
    try:
        result = backtest(
            store.articles(since=since),
            matcher,
            rule_ids,
            since.astimezone(config.tz),
            live=None if live is None else Matcher(live),
            live_ids=() if live is None else [rule.id for rule in live.rules],
            shown=SHOWN if args.show is None else args.show,
        )
    finally:
        store.close()
    if args.json:
        print(json.dumps(backtest_json(result, tried, matcher), indent=2, ensure_ascii=False))
    else:
        print(backtest_text(result, tried, matcher))
    return EXIT_OK


def _live_namesakes(live: RuleSet, rule_ids: Sequence[str]) -> RuleSet:
    """The live rules with the ids of the rules tried: what a draft is compared with."""
    ids = set(rule_ids)
    return RuleSet(live.participants, tuple(rule for rule in live.rules if rule.id in ids))


def _reports(
    path: Path, matcher: Matcher, rule_id: str | None, zone: ZoneInfo
) -> list[Report] | None:
    """The report of each article in a file; None (and the reason on stderr) if unreadable.
    A dry run reads whatever it is given, of any size, a pipe too."""
    try:
        data = path.read_bytes()
        modified = datetime.fromtimestamp(path.stat().st_mtime, zone).date()
    except OSError as error:
        print(f"{path}: cannot be read: {error.strerror or error}", file=sys.stderr)
        return None
    return _explained(str(path), parse_file(str(path), data, modified), matcher, rule_id)


def _page_reports(url: str, matcher: Matcher, rule_id: str | None) -> list[Report] | None:
    """The report of the article on a web page, fetched as a feed's page is (redirects to
    an internal address refused); None (and why on stderr) if it cannot be fetched."""
    if not is_web_address(url):
        print(f"{url}: not an http or https address", file=sys.stderr)
        return None
    import httpx

    with httpx.Client() as client:
        fetcher = Fetcher(lambda: client, user_agent())
        try:
            page = fetcher.get(url, {}, _PAGE_BYTES, _PAGE_SECONDS, trusted=origin(url))
        except FetchError as error:
            print(f"{url}: {error}", file=sys.stderr)
            return None
    if page.status != 200:
        print(f"{url}: the server answered {page.status}", file=sys.stderr)
        return None
    parsed = parse_file("page.html", page.body, datetime.now(UTC).date())
    articles = tuple(replace(a, url=a.url or page.url) for a in parsed.articles)
    return _explained(url, replace(parsed, articles=articles), matcher, rule_id)


def _explained(
    where: str, parsed: Parsed, matcher: Matcher, rule_id: str | None
) -> list[Report] | None:
    """Why each article read matches (or, with `rule_id`, does not match); what could not
    be read said on stderr."""
    for problem in (*parsed.warnings, *parsed.problems):
        print(f"{where}: {problem}", file=sys.stderr)
    reports = []
    for article in parsed.articles:
        reports.append(Report(where, article, matcher.explain_all(article, rule_id)))
    return None if parsed.problems and not parsed.articles else reports


_EVERY_FORMAT = tuple(f"*{suffix}" for suffix in SUFFIXES)


def _files_under(paths: Sequence[Path], resolve: bool = True) -> tuple[list[Path], list[Path]]:
    files: list[Path] = []
    missing: list[Path] = []
    for path in paths:
        if path.is_dir():  # as the watcher takes them: hidden files are not yet complete
            found = scan_tree(path, _EVERY_FORMAT, recursive=True)
            files += sorted(p.resolve() if resolve else p for p in found)
        elif path.exists():
            files.append(path.resolve() if resolve else path)
        else:
            missing.append(path)
    return files, missing


def _digest(args: argparse.Namespace, setup: Setup) -> int:
    config = setup.config
    names = args.channels or list(config.channels)
    unknown = [name for name in names if name not in config.channels]
    if unknown:
        known = ", ".join(config.channels) or "none in the config"
        hint = did_you_mean(unknown[0], config.channels)
        told = f"unknown channel '{unknown[0]}'; known: {known}{hint}"
        print(f"{config.source}: {told}", file=sys.stderr)
        return EXIT_CONFIG
    with open_pipeline(setup) as pipeline:
        if args.dry_run:
            return _print_digests(pipeline, names, args.format or "text")
        if args.retry_dead:
            for name in names:
                revived = plural(pipeline.outbox.revive(name), "dead digest")
                print(f"channel {name}: {revived} due again")
        outcomes = {name: pipeline.send_digest(name) for name in names}
    for name, outcome in outcomes.items():
        print(f"channel {name}: {_told(outcome)}")
    undelivered = any(o.failed or o.retry_at is not None for o in outcomes.values())
    return EXIT_FAILED if undelivered else EXIT_OK


def _print_digests(pipeline: Pipeline, names: Sequence[str], form: str) -> int:
    for name in names:
        digest = pipeline.outbox.preview(name)
        if digest is None:
            print(f"channel {name}: nothing new to send", file=sys.stderr)
            continue
        rendered = pipeline.outbox.render(name, digest)
        if form == "json":  # one document a line: several channels still parse, line by line
            print(json.dumps(json.loads(rendered.json), ensure_ascii=False))
        else:
            print(rendered.html if form == "html" else rendered.text)
    return EXIT_OK


def _told(outcome: Outcome) -> str:
    sent = f"{plural(outcome.sent, 'digest')} sent"
    if outcome.elsewhere:
        return f"{sent}; another process is sending one now"
    if outcome.retry_at is not None:
        when = outcome.retry_at.isoformat(sep=" ", timespec="seconds")
        return f"{sent}; one waits for a retry at {when} (see the log)"
    if outcome.failed:
        return f"{sent}, {outcome.dead} given up on (see the log)"
    return sent if outcome.sent else "nothing new to send"


def _mute(args: argparse.Namespace, setup: Setup) -> int:
    config = setup.config
    try:
        target = checked_target(args.target, config, setup.rules)
    except ValueError as error:
        print(f"wirewatch mute: {error}", file=sys.stderr)
        return EXIT_CONFIG
    now = datetime.now(UTC)
    mute = Mute(0, target, now + args.duration, args.then, args.reason, _who())
    with open_pipeline(setup) as pipeline:
        mute_id = pipeline.store.add_mute(mute, now)
    print(mute_line(replace(mute, id=mute_id, created_at=now), config.tz))
    return EXIT_OK


def _who() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except OSError:  # no user name for this uid (a container, say)
        return socket.gethostname()


def _unmute(args: argparse.Namespace, setup: Setup) -> int:
    target = args.target.removeprefix("#")
    if not target.isdigit():
        try:
            target = checked_target(target, setup.config, setup.rules)
        except ValueError as error:
            print(f"wirewatch unmute: {error}", file=sys.stderr)
            return EXIT_CONFIG
    with open_pipeline(setup) as pipeline:
        ended = pipeline.store.end_mutes(target, datetime.now(UTC))
    if not ended:
        told = f"wirewatch unmute: no mute of {args.target} is on; wirewatch mutes lists them"
        print(told, file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.target}: {plural(ended, 'mute')} ended")
    return EXIT_OK


def _mutes(args: argparse.Namespace, setup: Setup) -> int:
    with open_pipeline(setup) as pipeline:
        mutes = pipeline.store.active_mutes(datetime.now(UTC))
    if args.json:
        print(json.dumps([mute_document(mute, setup.config.tz) for mute in mutes], indent=2))
        return EXIT_OK
    for mute in mutes:
        print(mute_line(mute, setup.config.tz))
    if not mutes:
        print("no mutes on")
    return EXIT_OK


def _matches(args: argparse.Namespace, setup: Setup) -> int:
    if args.rule is not None and args.rule not in {rule.id for rule in setup.rules.rules}:
        hint = did_you_mean(args.rule, [rule.id for rule in setup.rules.rules])
        print(f"wirewatch matches: unknown rule '{args.rule}'{hint}", file=sys.stderr)
        return EXIT_CONFIG
    if args.digest is not None:
        return _digest_matches(args, setup)
    since = datetime.now(UTC) - (args.since or _MATCHES_SINCE)
    with open_pipeline(setup) as pipeline:
        store = pipeline.store
        matches = store.listed_matches(since, args.rule, args.muted)
        muted = store.muted_between(matches[0].id, matches[-1].id) if matches else []
    by_match = {match.id: [m for m in muted if m.match_id == match.id] for match in matches}
    if args.json:
        print(json.dumps([match_document(m, by_match[m.id]) for m in matches], indent=2))
        return EXIT_OK
    for match in matches:
        print(match_line(match, by_match[match.id], setup.config.tz))
    if not matches:
        print("no matches" + (" kept out by a mute" if args.muted else ""), file=sys.stderr)
    return EXIT_OK


# What `wirewatch matches` lists without --since (or --digest).
_MATCHES_SINCE = timedelta(days=2)


def _digest_matches(args: argparse.Namespace, setup: Setup) -> int:
    """`matches --digest ID`: every match the digest holds, those it lists and those it
    counts (of one rule, matched since, when asked)."""
    since = None if args.since is None else datetime.now(UTC) - args.since
    with open_pipeline(setup) as pipeline:
        found = pipeline.store.stored_matches(args.rule, since, args.digest)
        if args.json:
            print(json.dumps([match_json(m, setup.rules) for m in found], ensure_ascii=False))
            return EXIT_OK
        shown = False
        for record in found:
            print(record_line(record, setup.rules))
            shown = True
    if not shown and args.rule is None and since is None:  # every digest holds a match
        told = "no such digest (or it was pruned); its id is in `wirewatch status` and its files"
        print(f"wirewatch matches: {args.digest}: {told}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    try:
        made = make_project(folder, starter_files())
    except OSError as error:
        told = f"{error.strerror or error}; give a folder wirewatch can write in"
        print(f"wirewatch init: {quoted(folder)}: {told}", file=sys.stderr)
        return EXIT_FAILED
    for path in made.written:
        print(f"wrote {quoted(path)}")
    for path in made.kept:
        print(f"{quoted(path)}: exists; kept as it is", file=sys.stderr)
    for path in made.left_out:
        told = "not written: a project is here already, and the example would not fit it"
        print(f"{quoted(path)}: {told}", file=sys.stderr)
    if any(path.name == "config.yaml" for path in made.written):
        print(_next_steps(folder))
    return EXIT_FAILED if made.kept or made.left_out else EXIT_OK


def _next_steps(folder: Path) -> str:
    """The commands that take a new project to its first digest."""
    here = folder.resolve() == Path.cwd().resolve()
    inbox = INBOX if here else quoted(folder / INBOX)
    return "\n".join(
        [
            "",
            "Next:",
            *([] if here else [f"  cd {quoted(folder)}"]),
            "  wirewatch check     # the config and rules hold together",
            "  wirewatch run       # watches inbox/ and writes each digest to outbox/",
            f"Then drop an article (.txt, .md, .json, .jsonl or .html) into {inbox}/;",
            "`wirewatch match FILE` says which rules match it and why.",
            "Make rules/watch.yaml your own: the schemas/ let an editor complete its keys.",
        ]
    )


def _schema(args: argparse.Namespace) -> int:
    print(schema_text(args.name), end="")
    return EXIT_OK


# The commands that read no config: copy-state names its two states itself.
_WITHOUT_CONFIG = {"copy-state": _copy_state, "init": _init, "schema": _schema}

_COMMANDS = {
    "run": _run,
    "check": _check,
    "match": _match,
    "matches": _matches,
    "status": _status,
    "ingest": _ingest,
    "digest": _digest,
    "prune": _prune,
    "backup": _backup,
    "mute": _mute,
    "unmute": _unmute,
    "mutes": _mutes,
}
