"""A channel's next digest: made of its oldest pending matches, rendered by its templates,
and written down with the matches it takes before anything is sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from worker.digest.build import Grouping, PeopleFinder, build_digest
from worker.digest.render import Renderer
from worker.digest.stories import shown_in, signatures_of
from worker.errors import TemplateMistake
from worker.model import Delivery, Digest, Rendered
from worker.rules.ruleset import RuleSet
from worker.settings.config import Channel, Config
from worker.store import DigestQueue
from worker.text.minhash import Signature

__all__ = ["DigestBuilder", "rules_for"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

_RANK = {"high": 0, "normal": 1, "low": 2}


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
        return self._build(name)[0]

    def next_delivery(self, name: str) -> Delivery | None:
        """The channel's next digest, written down with the matches it takes; None when it
        has nothing to send, its template fails on it (its matches stay pending), or another
        process took these matches first."""
        digest, match_ids, signatures = self._build(name)
        if digest is None:
            log.debug("channel %s: nothing new to send", name)
            return None
        try:
            rendered = self.render(name, digest)
        except TemplateMistake as mistake:
            fields = {"event": "digest.template_failed", "channel": name, "error": str(mistake)}
            told = "channel %s: the digest waits until its template is fixed: %s"
            log.error(told, name, mistake, extra=fields)
            raise
        delivery = Delivery(digest, rendered)
        if not self._queue.create_digest(delivery, match_ids):
            log.info("channel %s: another process took these matches; nothing to send", name)
            return None
        # Kept after the digest: a crash between the two shows a story again as new.
        self._queue.add_stories_shown(name, shown_in(digest, signatures))
        return delivery

    def has_pending(self, name: str) -> bool:
        """Whether matches wait for the channel's next digest."""
        return bool(self._queue.pending(name, 1))

    def _build(self, name: str) -> tuple[Digest | None, list[int], dict[str, Signature]]:
        channel, rules = self._config.channels[name], self._rules()
        # The oldest matches first, at most as many as a digest holds: the rest follow.
        pending = self._queue.pending(name, channel.max_matches)
        if not pending and not channel.send_empty:
            return None, [], {}
        now = self._clock()
        signatures = signatures_of(list({m.article.id: m.article for m in pending}.values()))
        # The period runs from the channel's previous digest, or from when it appeared.
        since = self._queue.last_digest_at(name) or self._queue.channel_since(name, now)
        digest = build_digest(
            name,
            pending,
            rules,
            now,
            since,
            zone=self._config.zone_of(channel).key,
            max_items=channel.max_items,
            people=self._people(),
            grouping=self._grouping(name, signatures, now),
        )
        return digest, [match.id for match in pending], signatures

    def _grouping(self, name: str, signatures: Mapping[str, Signature], now: datetime) -> Grouping:
        """How the channel groups its entries, with the stories it showed within `realert`."""
        channel = self._config.channels[name]
        if channel.group_by == "rule":
            return Grouping(by="rule")
        return Grouping(
            by="article",
            same_story=channel.same_story,
            shown=self._queue.stories_shown(name, now - channel.realert),
            signatures=signatures,
        )
