"""What `/metrics` serves, in Prometheus's text format: counts taken at the pipeline's seams
(each file ingested, each delivery attempted) and what the state holds, read when asked.

The counters are this process's since it started, as Prometheus expects; the gauges are
the state's (every worker on it serves the same). The stages know nothing of this: the
pipeline tells a `Tally`, and this is one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from worker.deliver.outcome import Outcome
from worker.health import Health
from worker.ingest.ingestor import Ingested
from worker.model import Delivery, RawArticle
from worker.rules.ruleset import RuleSet
from worker.settings.config import Config
from worker.store import Store

__all__ = ["METRICS", "Metrics", "Shown"]

Clock = Callable[[], datetime]

# Every metric served, for docs/operations.md and for checking the example alert rules.
METRICS = (
    "wirewatch_articles_ingested_total",
    "wirewatch_articles_failed_total",
    "wirewatch_matches_total",
    "wirewatch_digests_sent_total",
    "wirewatch_delivery_failures_total",
    "wirewatch_delivery_seconds",
    "wirewatch_outbox_pending",
    "wirewatch_digests_retrying",
    "wirewatch_dead_digests",
    "wirewatch_last_digest_sent_timestamp_seconds",
    "wirewatch_rules",
    "wirewatch_trouble",
    "wirewatch_build_info",
)

# From a file seen to its article delivered: a digest a minute to one a day or two.
_BUCKETS = (1, 5, 15, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 172800)
# Articles whose file was seen, remembered until delivered; the oldest go first past this.
_REMEMBERED = 100_000


class Shown(Protocol):
    """What the gauges are read from: the pipeline running."""

    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> Store: ...

    @property
    def rules(self) -> RuleSet: ...


class Metrics:
    """The daemon's metrics, in a registry of its own; counts what the pipeline tells it."""

    def __init__(
        self, health: Health, version: str, clock: Clock = lambda: datetime.now(UTC)
    ) -> None:
        self._clock = clock
        self.registry = CollectorRegistry()
        registry = self.registry
        self._ingested = Counter(
            "wirewatch_articles_ingested", "New articles stored.", registry=registry
        )
        self._failed = Counter(
            "wirewatch_articles_failed",
            "Files that could not be read, whole or in part.",
            registry=registry,
        )
        self._matches = Counter(
            "wirewatch_matches", "Matches stored, by rule.", ["rule"], registry=registry
        )
        self._sent = Counter(
            "wirewatch_digests_sent",
            "Digests delivered, by channel.",
            ["channel"],
            registry=registry,
        )
        self._failures = Counter(
            "wirewatch_delivery_failures",
            "Delivery attempts that failed, by channel.",
            ["channel"],
            registry=registry,
        )
        self._delay = Histogram(
            "wirewatch_delivery_seconds",
            "From an article's file seen to the article delivered in a digest, by channel.",
            ["channel"],
            buckets=_BUCKETS,
            registry=registry,
        )
        Info("wirewatch_build", "The wirewatch running.", registry=registry).info(
            {"version": version}
        )
        self._state = _StateCollector(health)
        registry.register(self._state)
        self._seen: OrderedDict[str, datetime] = OrderedDict()  # article id: its file seen
        self._lock = threading.Lock()

    def use(self, pipeline: Shown | None) -> None:
        """Read the state's gauges from this pipeline's store from now on (None: closed)."""
        self._state.pipeline = pipeline
        for name in pipeline.config.channels if pipeline is not None else ():
            for counter in (self._sent, self._failures):  # 0 is served, not nothing
                counter.labels(name)

    def text(self) -> bytes:
        """Every metric, in Prometheus's text format."""
        return generate_latest(self.registry)

    def ingested(self, raw: RawArticle, outcome: Ingested) -> None:
        """Count a file's new articles, its matches by rule, and whether it failed."""
        self._ingested.inc(outcome.new_articles)
        if outcome.error is not None:
            self._failed.inc()
        for matches in outcome.matches.values():
            for match in matches:
                self._matches.labels(match.rule_id).inc()
        with self._lock:
            for article_id in outcome.matches:
                self._seen[article_id] = raw.seen_at
                self._seen.move_to_end(article_id)
            while len(self._seen) > _REMEMBERED:
                self._seen.popitem(last=False)

    def unread(self, path: str) -> None:
        """Count a file that could not be read at all."""
        self._failed.inc()

    def attempted(self, delivery: Delivery, outcome: Outcome) -> None:
        """Count a digest delivered, or an attempt failed; time its articles' way."""
        channel = delivery.channel
        if outcome.failed:
            self._failures.labels(channel).inc()
        if not outcome.sent:
            return
        self._sent.labels(channel).inc()
        now = self._clock()
        listed = {item.article.id for item in delivery.digest.items}
        with self._lock:
            seen = [self._seen[a] for a in listed if a in self._seen]
        for moment in seen:
            self._delay.labels(channel).observe(max(0.0, (now - moment).total_seconds()))


class _StateCollector(Collector):
    """The gauges read when `/metrics` is asked: each channel's outbox, the rules in force,
    and what is wrong."""

    def __init__(self, health: Health) -> None:
        self.pipeline: Shown | None = None
        self._health = health

    def collect(self) -> Iterator[Metric]:
        troubles = GaugeMetricFamily(
            "wirewatch_trouble", "1 for each part in trouble (see /healthz).", labels=["part"]
        )
        for trouble in self._health.troubles():
            troubles.add_metric([trouble.part], 1)
        yield troubles
        pipeline = self.pipeline
        if pipeline is None:
            return
        yield GaugeMetricFamily(
            "wirewatch_rules", "Rules in force.", value=len(pipeline.rules.rules)
        )
        yield from _channels(pipeline)


def _channels(pipeline: Shown) -> Iterator[Metric]:
    families = {
        "pending": GaugeMetricFamily(
            "wirewatch_outbox_pending",
            "Matches waiting for the channel's next digest.",
            labels=["channel"],
        ),
        "retrying": GaugeMetricFamily(
            "wirewatch_digests_retrying",
            "Digests not delivered yet, waiting for a retry.",
            labels=["channel"],
        ),
        "dead": GaugeMetricFamily(
            "wirewatch_dead_digests",
            "Digests given up on (wirewatch digest --retry-dead sends them again).",
            labels=["channel"],
        ),
        "last_sent": GaugeMetricFamily(
            "wirewatch_last_digest_sent_timestamp_seconds",
            "When the channel's last digest was delivered, in Unix time.",
            labels=["channel"],
        ),
    }
    if pipeline.store.unreachable() is not None:
        return  # /healthz says why; a scrape must not wait for the state meanwhile
    try:
        totals = pipeline.store.channel_totals_at_once(pipeline.config.channels)
    except Exception:  # the state cannot be read now: /healthz says why; no gauges meanwhile
        return
    if totals is None:
        return  # a write waits on another process's lock: the next scrape reads them
    for name, channel in totals.items():
        families["pending"].add_metric([name], channel.pending)
        families["retrying"].add_metric([name], channel.retrying)
        families["dead"].add_metric([name], channel.dead)
        if channel.last_sent is not None:
            families["last_sent"].add_metric([name], channel.last_sent.timestamp())
    yield from families.values()
