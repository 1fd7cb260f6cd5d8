"""The pipeline wired together: ingest a file, and send a channel's digest.

Both `run` (the daemon and `--once`) and `ingest` go through here, so the command line,
the watcher and the scheduler share one path from file to outbox.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from worker.config import Config
from worker.ingest import Ingested, Ingestor
from worker.match import Matcher
from worker.notify import Clients
from worker.outbox import Outbox, Outcome
from worker.render import Renderer
from worker.rules import RuleSet
from worker.settings import Settings
from worker.store import Store, open_store

__all__ = ["Pipeline", "open_pipeline"]

Clock = Callable[[], datetime]


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
        max_bytes = int(config.ingest.max_file_mb * 1_000_000)
        self._ingestor = Ingestor(store, lambda: self._matcher, max_bytes, clock, config.tz)
        self.outbox = Outbox(config, lambda: self._rules, store, clients, clock, spread, renderers)

    @property
    def rules(self) -> RuleSet:
        """The rule set in force."""
        return self._rules

    def use_rules(self, rules: RuleSet, renderers: Mapping[str, Renderer]) -> None:
        """Swap in a new rule set and templates; the next article is matched against them."""
        matcher = Matcher(rules)  # compiled before the swap: no article sees half of it
        self._rules, self._matcher = rules, matcher
        self.outbox.use_renderers(renderers)
        self.outbox.select_rules()

    def ingest(self, path: Path, retry_failed: bool = False) -> Ingested:
        """Ingest one file; unchanged files are skipped, failed ones too unless retried."""
        return self._ingestor.ingest(path, retry_failed)

    def send_digest(self, name: str, new: bool = True) -> Outcome:
        """Deliver channel `name`'s due digests and, with `new`, one of its new matches."""
        return self.outbox.send(name, new)


@contextmanager
def open_pipeline(settings: Settings) -> Iterator[Pipeline]:
    """The pipeline of these settings, with its store and network clients open."""
    store = open_store(settings.config.state_path)
    clients = Clients(http=httpx.Client(), tls=ssl.create_default_context())
    try:
        yield Pipeline(
            settings.config, settings.rules, store, clients, renderers=settings.renderers
        )
    finally:
        clients.http.close()
        store.close()
