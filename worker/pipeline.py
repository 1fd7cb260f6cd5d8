"""The stages wired together: what the user wrote, loaded and checked as one `Setup`, and
the `Pipeline` that ingests a file and sends a channel's digest with it.

Both `run` (the daemon and `--once`) and `ingest` go through here, so the command line,
the watcher and the scheduler share one path from file to outbox.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from worker.deliver.outbox import Outbox, Outcome
from worker.digest.render import Renderer, load_renderers
from worker.errors import ConfigError, Problem
from worker.ingest.ingestor import Ingested, Ingestor
from worker.match.matcher import Matcher
from worker.match.people import people_finder
from worker.notify import Clients
from worker.rules.files import load_rules, rule_mistakes
from worker.rules.ruleset import RuleSet
from worker.settings.config import Config, load_config, named_rule_files
from worker.store import Store, open_store

__all__ = ["Pipeline", "Setup", "load_setup", "open_pipeline"]

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Setup:
    """Everything the user wrote, read and checked together: the config, the rules and the
    channels' templates. What every command starts from."""

    config: Config
    rules: RuleSet
    renderers: dict[str, Renderer]

    def sources(self) -> list[Path]:
        """The files and folders the user edits: the config, the rules, the templates."""
        folders = [channel.template for channel in self.config.channels.values()]
        return [self.config.source, *self.config.rules, *(f for f in folders if f is not None)]


def load_setup(path: Path, environ: Mapping[str, str]) -> Setup:
    """Read and check everything the user wrote; ConfigError lists every mistake."""
    try:
        config = load_config(path, environ)
    except ConfigError as error:
        rules = rule_mistakes(named_rule_files(path)) if path.exists() else []
        raise ConfigError(_in_order([*error.problems, *rules])) from None
    problems: list[Problem] = []
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
    return Setup(config, rule_set, renderers)


def _in_order(problems: list[Problem]) -> list[Problem]:
    """File by file as first named, each file's mistakes from its top down."""
    files = list(dict.fromkeys(problem.file for problem in problems))
    return sorted(problems, key=lambda p: (files.index(p.file), p.line or 0))


class Pipeline:
    """Ingests files and sends digests for one config and rule set."""

    def __init__(
        self,
        config: Config,
        rules: RuleSet,
        store: Store,
        clients: Clients,
        clock: Clock = lambda: datetime.now(UTC),
        spread: Callable[[], float] = random.random,
        renderers: Mapping[str, Renderer] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self._rules = rules
        self._matcher = Matcher(rules)
        self._people = people_finder(rules)
        max_bytes = int(config.ingest.max_file_mb * 1_000_000)
        self._ingestor = Ingestor(store, lambda: self._matcher, max_bytes, clock, config.tz)
        self.outbox = Outbox(
            config,
            lambda: self._rules,
            store,
            clients,
            clock,
            spread,
            renderers,
            people=lambda: self._people,
        )

    @property
    def rules(self) -> RuleSet:
        """The rule set in force."""
        return self._rules

    def use_rules(self, rules: RuleSet, renderers: Mapping[str, Renderer]) -> None:
        """Swap in a new rule set and templates; the next article is matched against them."""
        # Compiled before the swap: no article sees half of it.
        matcher, people = Matcher(rules), people_finder(rules)
        self._rules, self._matcher, self._people = rules, matcher, people
        self.outbox.use_renderers(renderers)
        self.outbox.select_rules()

    def ingest(self, path: Path, retry_failed: bool = False) -> Ingested:
        """Ingest one file; unchanged files are skipped, failed ones too unless retried."""
        return self._ingestor.ingest(path, retry_failed)

    def send_digest(self, name: str, new: bool = True) -> Outcome:
        """Deliver channel `name`'s due digests and, with `new`, one of its new matches."""
        return self.outbox.send(name, new)


@contextmanager
def open_pipeline(setup: Setup) -> Iterator[Pipeline]:
    """The pipeline of this setup, with its store and network clients open."""
    store = open_store(setup.config.state_url, setup.config.timing.busy_timeout)
    clients = Clients(http=httpx.Client(), tls=ssl.create_default_context())
    try:
        yield Pipeline(setup.config, setup.rules, store, clients, renderers=setup.renderers)
    finally:
        clients.http.close()
        store.close()
