"""A channel's next digest: made of every match pending for it (the first `max_items`
listed, the rest counted), rendered by its templates, and written down with the matches
it takes before anything is sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from worker.digest.backlog import Listing, Tally, record_of, top_matches, with_more
from worker.digest.build import PeopleFinder, build_digest
from worker.digest.render import Renderer
from worker.errors import TemplateMistake
from worker.model import Delivery, Digest, Rendered, StoredMatch
from worker.rules.ruleset import RuleSet
from worker.settings.config import Channel, Config, EmailChannel
from worker.store import DigestQueue

__all__ = ["DigestBuilder", "rules_for"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

_RANK = {"high": 0, "normal": 1, "low": 2}


@dataclass(frozen=True)
class _Next:
    """A channel's next digest, with the matches it takes: those it lists, and those
    pending up to `through` that it counts (`more` of them)."""

    digest: Digest
    listed: list[int]
    through: int | None = None
    more: int = 0
    listing: str | None = None  # every match it holds, gzipped CSV (email)


def rules_for(channel: Channel, rules: RuleSet) -> list[str]:
    """The rules whose matches go to `channel`: those named by id or `tag:NAME` (all when
    none are named) of at least the channel's `min_priority`."""
    wanted = set(channel.rules or ())
    ceiling = _RANK[channel.min_priority]
    return [
        rule.id
        for rule in rules.rules
        if _RANK[rule.priority] <= ceiling
        and (
            channel.rules is None
            or rule.id in wanted
            or any(f"tag:{tag}" in wanted for tag in rule.tags)
        )
    ]


class DigestBuilder:
    """Makes, renders and writes down each channel's next digest."""

    def __init__(
        self,
        config: Config,
        queue: DigestQueue,
        rules: Callable[[], RuleSet],
        people: Callable[[], PeopleFinder],
        renderers: Mapping[str, Renderer],
        clock: Clock,
    ) -> None:
        self._config = config
        self._queue = queue
        self._rules = rules
        self._people = people
        self._renderers = renderers
        self._clock = clock

    def take_channels(self) -> None:
        """Record each channel's first appearance and the rules it takes now: a channel, or
        a rule newly taken, gets the matches stored from now on, not the history."""
        rules = self._rules()
        for name, channel in self._config.channels.items():
            self._queue.channel_since(name, self._clock())
            self._queue.select_rules(name, rules_for(channel, rules))

    def use_renderers(self, renderers: Mapping[str, Renderer]) -> None:
        """Render from now on with these templates."""
        self._renderers = renderers

    def render(self, name: str, digest: Digest) -> Rendered:
        """The digest in the forms the channel's templates give; TemplateMistake if they fail."""
        return self._renderers[name].render(digest)

    def preview(self, name: str) -> Digest | None:
        """The channel's next digest as it would be sent now; None when there is none."""
        built = self._build(name)
        return None if built is None else built.digest

    def next_delivery(self, name: str) -> Delivery | None:
        """The channel's next digest, written down with the matches it takes; None when it
        has nothing to send, its template fails on it (its matches stay pending), or another
        process took these matches first."""
        built = self._build(name)
        if built is None:
            log.debug("channel %s: nothing new to send", name)
            return None
        try:
            rendered = replace(self.render(name, built.digest), listing=built.listing)
        except TemplateMistake as mistake:
            fields = {"event": "digest.template_failed", "channel": name, "error": str(mistake)}
            told = "channel %s: the digest waits until its template is fixed: %s"
            log.error(told, name, mistake, extra=fields)
            raise
        delivery = Delivery(built.digest, rendered)
        if not self._queue.create_digest(delivery, built.listed, built.through, built.more):
            log.info("channel %s: another process took these matches; nothing to send", name)
            return None
        return delivery

    def has_pending(self, name: str) -> bool:
        """Whether matches wait for the channel's next digest."""
        return bool(self._queue.pending(name, 1))

    def _build(self, name: str) -> _Next | None:
        channel, rules = self._config.channels[name], self._rules()
        through = self._queue.pending_through(name)
        if through is None and not channel.send_empty:
            return None
        listed = self._listed(name, channel, rules)
        now = self._clock()
        # The period runs from the channel's previous digest, or from when it appeared.
        since = self._queue.last_digest_at(name) or self._queue.channel_since(name, now)
        digest = build_digest(
            name,
            listed,
            rules,
            now,
            since,
            zone=self._config.zone_of(channel).key,
            people=self._people(),
        )
        ids = [match.id for match in listed]
        if through is None:
            return _Next(digest, ids)
        return self._with_backlog(name, channel, rules, digest, listed, through)

    def _listed(self, name: str, channel: Channel, rules: RuleSet) -> list[StoredMatch]:
        """The matches the digest lists: the newest of each of the channel's rules, then
        the first `max_items` of those by priority."""
        newest = [
            match
            for rule_id in rules_for(channel, rules)
            for match in self._queue.pending_newest(name, rule_id, channel.max_items)
        ]
        return top_matches(newest, rules, channel.max_items)

    # The cut of a backlog: what the digest does not list, counted (and, for email, listed
    # in an attachment); the digest holds it all the same.
    def _with_backlog(
        self,
        name: str,
        channel: Channel,
        rules: RuleSet,
        digest: Digest,
        listed: list[StoredMatch],
        through: int,
    ) -> _Next:
        tally = Tally(rules)
        listing = _listing(channel, rules)
        shown = {match.id for match in listed}
        if listing is not None:
            for match in listed:
                listing.add(record_of(match))
        for record in self._queue.pending_records(name, through):
            if record.id in shown:
                continue
            tally.add(record)
            if listing is not None:
                listing.add(record)
        attached = listing.base64() if listing is not None and tally.count else None
        ids = [match.id for match in listed]
        return _Next(with_more(digest, tally), ids, through, tally.count, attached)


def _listing(channel: Channel, rules: RuleSet) -> Listing | None:
    """Where an email channel's digest lists every match it holds; None for other types."""
    if not isinstance(channel, EmailChannel):
        return None
    return Listing(rules, int(channel.attachment_max_mb * 1_000_000))
