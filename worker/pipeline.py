"""The pipeline wired together: ingest a file, and send a channel's digest.

Both `run` (the daemon and `--once`) and `ingest` go through here, so the command line,
the watcher and the scheduler share one path from file to outbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from worker.config import Channel, Config
from worker.digest import build_digest
from worker.ingest import Ingested, Ingestor
from worker.match import Matcher
from worker.notify import Clients, DeliveryError, notifier_for
from worker.render import render
from worker.rules import RuleSet
from worker.store import DigestRecord, Store

__all__ = ["Pipeline", "channel_rule_ids"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def channel_rule_ids(channel: Channel, rules: RuleSet) -> list[str]:
    """The rules whose matches go to `channel`: all, or those named by id or `tag:NAME`."""
    if channel.rules is None:
        return [rule.id for rule in rules.rules]
    wanted = set(channel.rules)
    return [
        rule.id
        for rule in rules.rules
        if rule.id in wanted or any(f"tag:{tag}" in wanted for tag in rule.tags)
    ]


class Pipeline:
    """Ingests files and sends digests for one config and rule set."""

    def __init__(
        self,
        config: Config,
        rules: RuleSet,
        store: Store,
        clients: Clients,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self._clients = clients
        self._clock = clock
        self._rules = rules
        self._matcher = Matcher(rules)
        self._sending = threading.Lock()
        max_bytes = int(config.ingest.max_file_mb * 1_000_000)
        self._ingestor = Ingestor(store, lambda: self._matcher, max_bytes, clock)

    @property
    def rules(self) -> RuleSet:
        return self._rules

    def use_rules(self, rules: RuleSet) -> None:
        """Swap in a new rule set; the next article is matched against it."""
        matcher = Matcher(rules)
        self._rules, self._matcher = rules, matcher

    def ingest(self, path: Path, retry_failed: bool = False) -> Ingested:
        """Ingest one file; unchanged files are skipped, failed ones too unless retried."""
        return self._ingestor.ingest(path, retry_failed)

    def send_digest(self, name: str) -> bool:
        """Send what is pending for channel `name`; False when a delivery failed."""
        channel = self.config.channels[name]
        with self._sending:  # a scheduled run and a manual one never build the same digest
            delivered = self._retry_unsent(name, channel)
            if delivered:
                delivered = self._send_pending(name, channel)
        return delivered

    def _retry_unsent(self, name: str, channel: Channel) -> bool:
        # all() stops at the first failure: later digests wait behind the one that failed.
        return all(self._deliver(channel, record) for record in self.store.unsent_digests(name))

    def _send_pending(self, name: str, channel: Channel) -> bool:
        pending = self.store.pending(name, channel_rule_ids(channel, self._rules))
        if not pending:
            log.debug("channel %s: nothing new to send", name)
            return True
        now = self._clock()
        document = build_digest(name, pending, self._rules, now, self.store.last_sent(name))
        record = DigestRecord(document["digest_id"], name, now, "pending", 0, document)
        if not self.store.create_digest(record, [match.id for match in pending]):
            log.info("channel %s: another process took these matches; nothing to send", name)
            return True
        return self._deliver(channel, record)

    def _deliver(self, channel: Channel, record: DigestRecord) -> bool:
        counts = record.document["counts"]
        try:
            notifier_for(channel, self._clients).deliver(record.document, render(record.document))
        except DeliveryError as error:
            log.error("channel %s: digest %s not delivered: %s", record.channel, record.id, error)
            self.store.mark_failed(record.id, str(error))
            return False
        self.store.mark_sent(record.id, self._clock())
        log.info(
            "channel %s: digest %s sent (%d articles, %d matches)",
            record.channel,
            record.id,
            counts["articles"],
            counts["matches"],
        )
        return True
