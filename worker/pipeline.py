"""The stages wired together: what the user wrote, loaded and checked as one `Setup`, and
the `Pipeline` that ingests a file and sends a channel's digest with it.

Both `run` (the daemon and `--once`) and `ingest` go through here, so the command line,
the watcher and the scheduler share one path from file to outbox. Only the daemon and the
command line use this module.
"""

from __future__ import annotations

import importlib.metadata
import random
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from worker.deliver.outbox import Outbox
from worker.deliver.outcome import Outcome
from worker.deliver.scheduler import DigestScheduler
from worker.digest.render import Renderer, load_renderers
from worker.errors import ConfigError, Problem, StateError
from worker.health import Health
from worker.ingest.ingestor import Ingested, Ingestor, Matched
from worker.ingest.rematch import Rematched, rematch
from worker.match.matcher import Matcher
from worker.match.people import people_finder
from worker.model import Delivery, Pruned, RawArticle
from worker.notify import Clients, channel_mistakes
from worker.rules.files import load_rules, rule_mistakes
from worker.rules.ruleset import RuleSet
from worker.settings.config import Config, load_config, named_rule_files
from worker.sources import Source
from worker.sources.feed import FeedSource
from worker.sources.fetch import Fetcher
from worker.sources.files import Unread
from worker.sources.folder import Due, FolderSource, Whole
from worker.sources.mixed import FoldersAndFeeds
from worker.sources.observers import Snapshot, snapshot
from worker.store import BatchBrokenError, Store, open_store
from worker.wording import plural

__all__ = [
    "Pipeline",
    "Setup",
    "Tally",
    "load_setup",
    "open_pipeline",
    "pruned_text",
    "user_agent",
]

Clock = Callable[[], datetime]


class Tally(Protocol):
    """Told what the pipeline did, at its seams: what `/metrics` counts."""

    def ingested(self, raw: RawArticle, outcome: Ingested) -> None:
        """A file was read: its new articles and their matches, or why it failed."""
        ...

    def unread(self, path: str) -> None:
        """A file could not be read at all (too large, say)."""
        ...

    def attempted(self, delivery: Delivery, outcome: Outcome) -> None:
        """A digest was attempted: delivered, or not."""
        ...


class _Untold:
    """The tally of a pipeline nobody watches (the command line's)."""

    def ingested(self, raw: RawArticle, outcome: Ingested) -> None:
        """Nothing to count."""

    def unread(self, path: str) -> None:
        """Nothing to count."""

    def attempted(self, delivery: Delivery, outcome: Outcome) -> None:
        """Nothing to count."""


@dataclass(frozen=True)
class Setup:
    """Everything the user wrote, read and checked together: the config, the rules and the
    channels' templates. What every command starts from."""

    config: Config
    rules: RuleSet
    renderers: dict[str, Renderer]
    # The edited files as they were just before they were read: an edit made after that,
    # before the edit watcher starts, is still applied.
    read: Snapshot = field(default_factory=dict, compare=False)

    def edited_files(self) -> list[Path]:
        """The files and folders the user edits: the config, the rules, the templates and
        the subscription list."""
        return _edited_files(self.config)


def _edited_files(config: Config) -> list[Path]:
    folders = [channel.template for channel in config.channels.values()]
    subscriptions = [] if config.feeds_from is None else [config.feeds_from]
    return [config.source, *config.rules, *(f for f in folders if f is not None), *subscriptions]


def load_setup(path: Path, environ: Mapping[str, str]) -> Setup:
    """Read and check everything the user wrote; ConfigError lists every mistake."""
    # Named as the edit watcher names it, config.source: `-c config.yaml` is no edit.
    read = snapshot([path.resolve()])
    try:
        config = load_config(path, environ)
    except ConfigError as error:
        rules = rule_mistakes(named_rule_files(path)) if path.exists() else []
        raise ConfigError(_in_order([*error.problems, *rules])) from None
    read |= snapshot(_edited_files(config)[1:])
    problems = channel_mistakes(config)
    try:
        rule_set = load_rules(config)
    except ConfigError as error:
        problems += error.problems
    try:
        renderers = load_renderers(config)
    except ConfigError as error:
        problems += error.problems
    if problems:
        raise ConfigError(_in_order(problems))
    return Setup(config, rule_set, renderers, read)


def _in_order(problems: list[Problem]) -> list[Problem]:
    """File by file as first named, each file's mistakes from its top down."""
    files = list(dict.fromkeys(problem.file for problem in problems))
    return sorted(problems, key=lambda p: (files.index(p.file), p.line or 0))


class Pipeline:
    """The stages wired for one setup around one store: the watched folders as a source,
    the ingestor that matches and stores what they hold, and the outbox."""

    def __init__(
        self,
        setup: Setup,
        store: Store,
        clients: Clients,
        clock: Clock = lambda: datetime.now(UTC),
        spread: Callable[[], float] = random.random,
        health: Health | None = None,
        tally: Tally | None = None,
    ) -> None:
        config = setup.config
        self._tally = tally if tally is not None else _Untold()
        self.config = config
        # What is wrong with this wirewatch; the daemon keeps one across config restarts.
        self.health = health if health is not None else Health(clock)
        self.worker = uuid.uuid4().hex  # this worker: whose claims and heartbeats these are
        self.store = store
        self._clock = clock
        self._use(setup.rules)
        # A file is claimed for a few leases: reading and matching a large one takes a while.
        file_lease = 4 * config.timing.lease
        self.folders = FolderSource(
            config.watch,
            store,
            config.ingest,
            clock,
            self.worker,
            file_lease,
            self.health,
            self._tally.unread,
        )
        self.feeds = FeedSource(
            config.feeds,
            store,
            Fetcher(lambda: clients.http, user_agent()),
            clock,
            self.worker,
            spread,
            self.health,
        )
        # Where the loop takes articles from: the folders, and the feeds if there are any.
        self.source: Source = (
            FoldersAndFeeds(self.folders, self.feeds) if config.feeds else self.folders
        )
        self.ingestor = Ingestor(store, lambda: self._matcher, clock, config.tz)
        self.outbox = Outbox(
            config,
            store,
            clients,
            lambda: self._rules,
            setup.renderers,
            lambda: self._people,
            clock,
            spread,
            self.worker,
            self.health,
            self._tally.attempted,
        )

    @property
    def rules(self) -> RuleSet:
        """The rule set in force."""
        return self._rules

    def use_rules(self, rules: RuleSet, renderers: Mapping[str, Renderer]) -> None:
        """Swap in a new rule set and templates; the next article is matched against them."""
        self._use(rules)
        self.outbox.use_renderers(renderers)
        self.outbox.take_rules()

    def rematch_recent(self, rules: RuleSet) -> Rematched:
        """Match the articles stored within `ingest.rematch_window` against these rules
        (added or changed): an article that came while its rule was missing is not lost."""
        since = self._clock() - self.config.ingest.rematch_window
        return rematch(self.store, Matcher(rules), clock=self._clock, since=since)

    def _use(self, rules: RuleSet) -> None:
        # Compiled before the swap: no article sees half of it.
        matcher, people = Matcher(rules), people_finder(rules)
        self._rules, self._matcher, self._people = rules, matcher, people

    def ingest(self, raw: RawArticle) -> Ingested:
        """Ingest what the source handed out, and record what became of it."""
        outcome = self.ingestor.ingest(raw)
        self.source.done(raw, outcome.error)
        self._tally.ingested(raw, outcome)
        return outcome

    def match_files(self, raws: Sequence[RawArticle]) -> list[Matched]:
        """The first half of ingesting files the folders handed out: read and matched."""
        return self.ingestor.match_all(raws)

    def backlog(self) -> Iterator[Due | Whole | None]:
        """The first half of a start's scan: the files the watched folders hold and that
        are not read as they are (or failed before), not read yet (`read_file` reads each);
        None in place of each other file; WHOLE after each folder (see `Whole`)."""
        return self.folders.backlog()

    def scan_feeds(self) -> Iterator[RawArticle | None]:
        """The second half of a start's scan: the new and edited entries of every feed that
        is due; None between two feeds."""
        return self.feeds.scan(retry_failed=True) if self.config.feeds else iter(())

    def read_file(self, path: Path, withheld: str | None = None) -> RawArticle | Ingested | None:
        """A file of the folders, read (one that failed before read again) and claimed; what
        became of it when it cannot be read; None when it is known, or another worker reads
        it. With `withheld` (why), its matches are sent to no channel."""
        found = self.folders.read(path, retry_failed=True)
        if isinstance(found, Unread):
            return Ingested(str(path), error=found.reason)
        if found is None:
            return None
        return found if withheld is None else replace(found, withheld=withheld)

    def store_files(self, matched: Sequence[Matched]) -> list[Ingested]:
        """The second half for files the folders handed out: stored and recorded together;
        what became of each, counted by `tally` once it is kept. BatchBrokenError when
        storing several failed (a batch is then undone, and each file may be ingested on its
        own, to tell which one fails)."""
        try:
            outcomes = self.ingestor.store(matched)
            self.folders.done_all(
                zip((each.raw for each in matched), (o.error for o in outcomes), strict=True)
            )
        except StateError:
            raise
        except Exception as error:
            if len(matched) == 1:
                raise
            raise BatchBrokenError(f"{len(matched)} files stored together: {error}") from error
        return outcomes

    def tally(self, stored: Sequence[tuple[Matched, Ingested]]) -> None:
        """Count files stored by `store_files`, once what was stored is kept."""
        for each, outcome in stored:
            self._tally.ingested(each.raw, outcome)

    def send_digest(self, name: str, new: bool = True) -> Outcome:
        """Deliver channel `name`'s due digests and, with `new`, its new matches."""
        return self.outbox.send(name, new)

    def send_all(self) -> dict[str, Outcome]:
        """Every channel's due digests and new matches, now, each channel in a thread."""
        names = list(self.config.channels)
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            return dict(zip(names, pool.map(self.send_digest, names), strict=True))

    def prune(
        self,
        articles: timedelta | None,
        digests: timedelta | None,
        dry_run: bool = False,
    ) -> Pruned:
        """Remove the articles and sent digests older than these windows (None: kept for
        good), never what the outbox owes; what was removed, or would be."""
        now = self._clock()
        return self.store.prune(
            None if articles is None else now - articles,
            None if digests is None else now - digests,
            dry_run,
        )

    def scheduler(self) -> DigestScheduler:
        """The schedules of every channel, over this pipeline's outbox."""
        return DigestScheduler(
            self.config, self.outbox, self.store, lambda: self._rules, self._clock, self.worker
        )


def user_agent() -> str:
    """How wirewatch names itself to the publishers of the feeds it reads."""
    try:
        version = importlib.metadata.version("wirewatch")
    except importlib.metadata.PackageNotFoundError:
        version = "dev"
    return f"wirewatch/{version} (feed reader; polls politely, honours Retry-After)"


def pruned_text(pruned: Pruned, dry_run: bool = False) -> str:
    """What a prune removed, as `wirewatch prune` and the daemon's log say it."""
    removed = ", ".join(
        (
            plural(pruned.articles, "article"),
            plural(pruned.matches, "match", "matches"),
            plural(pruned.digests, "digest"),
        )
    )
    kept = f"; kept {pruned.owed} still owed" if pruned.owed else ""
    return f"{'would remove' if dry_run else 'removed'} {removed}{kept}"


@contextmanager
def open_pipeline(
    setup: Setup, health: Health | None = None, tally: Tally | None = None
) -> Iterator[Pipeline]:
    """The pipeline of this setup, with its store and network clients open."""
    store = open_store(setup.config.state_url, setup.config.timing.busy_timeout, health)
    clients = Clients()
    try:
        yield Pipeline(setup, store, clients, health=health, tally=tally)
    finally:
        clients.close()
        store.close()
