"""A channel's next digest, when its throttle lets one out: made of every match pending
for it that no mute keeps out (the first `max_items` listed, as stories, the rest
counted), rendered by its templates, and written down with the matches it takes before
anything is sent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from worker.deliver.mutes import Named, sift
from worker.deliver.throttle import throttled, window_start
from worker.digest.backlog import Listing, Tally, record_of, top_matches, with_more
from worker.digest.build import Grouping, PeopleFinder, build_digest
from worker.digest.render import Renderer
from worker.digest.stories import shown_in, signatures_of
from worker.errors import TemplateMistake
from worker.model import Delivery, Digest, Held, Rendered, StoredMatch
from worker.rules.ruleset import RuleSet
from worker.settings.config import Channel, Config, EmailChannel
from worker.store import DigestQueue
from worker.text.minhash import Signature
from worker.wording import plural

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
    # The MinHash signature of each article it lists, by id: what its stories are told by.
    signatures: dict[str, Signature] = field(default_factory=dict)


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
        built = self._build(name, keep=False)
        return None if built is None else built.digest

    def next_delivery(self, name: str) -> Delivery | None:
        """The channel's next digest, written down with the matches it takes; None when it
        has nothing to send, its template fails on it (its matches stay pending), or another
        process took these matches first, or its throttle holds them back."""
        if self._throttled(name):
            return None
        built = self._build(name, keep=True)
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
        shown = shown_in(built.digest, built.signatures)  # kept with the digest, all or none
        if not self._queue.create_digest(delivery, built.listed, built.through, built.more, shown):
            log.info("channel %s: another process took these matches; nothing to send", name)
            return None
        return delivery

    def has_pending(self, name: str) -> bool:
        """Whether matches wait for the channel's next digest."""
        return bool(self._queue.pending(name, 1))

    def _build(self, name: str, keep: bool) -> _Next | None:
        channel, rules = self._config.channels[name], self._rules()
        now = self._clock()
        # The mutes first: what they keep out is neither listed nor counted.
        muted = self._muted(name, now, keep)
        through = self._queue.pending_through(name)
        if through is not None and muted and not self._any_unmuted(name, through, muted):
            through = None  # nothing pending but what the mutes keep out (in a preview)
        if through is None and (not channel.send_empty or self._channel_muted(name, now)):
            return None  # nothing to send; a muted channel sends not even an empty digest
        listed = self._listed(name, channel, rules, muted)
        signatures = signatures_of(list({m.article.id: m.article for m in listed}.values()))
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
            grouping=self._grouping(name, signatures, now),
        )
        ids = [match.id for match in listed]
        if through is None:
            built = _Next(digest, ids, signatures=signatures)
        else:
            built = self._with_backlog(channel, rules, digest, listed, through, muted)
            built = replace(built, signatures=signatures)
        held = self._say_held(name, built.digest, len(built.listed) + built.more)
        return replace(built, digest=held)

    def _listed(
        self, name: str, channel: Channel, rules: RuleSet, muted: set[int]
    ) -> list[StoredMatch]:
        """The matches the digest lists: the newest of each of the channel's rules (but
        those the mutes keep out), then the first `max_items` of those by priority."""
        wanted = channel.max_items + len(muted)
        newest = [
            match
            for rule_id in rules_for(channel, rules)
            for match in self._queue.pending_newest(name, rule_id, wanted)
            if match.id not in muted
        ]
        return top_matches(newest, rules, channel.max_items)

    def _any_unmuted(self, name: str, through: int, muted: set[int]) -> bool:
        """Whether a match pending for the channel up to `through` is not kept out."""
        return any(record.id not in muted for record in self._queue.pending_records(name, through))

    # The cut of a backlog: what the digest does not list, counted (and, for email, listed
    # in an attachment); the digest holds it all the same.
    def _with_backlog(
        self,
        channel: Channel,
        rules: RuleSet,
        digest: Digest,
        listed: list[StoredMatch],
        through: int,
        muted: set[int],
    ) -> _Next:
        tally = Tally(rules)
        listing = _listing(channel, rules)
        shown = {match.id for match in listed}
        if listing is not None:
            for match in listed:
                listing.add(record_of(match))
        for record in self._queue.pending_records(digest.channel, through):
            if record.id in shown or record.id in muted:
                continue
            tally.add(record)
            if listing is not None:
                listing.add(record)
        attached = listing.base64() if listing is not None and tally.count else None
        ids = [match.id for match in listed]
        return _Next(with_more(digest, tally), ids, through, tally.count, attached)

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

    def _muted(self, name: str, now: datetime, keep: bool) -> set[int]:
        """The matches pending for the channel that a mute keeps out. With `keep`, they
        stop being pending (dropped, or held until the mute ends) and none is left to name;
        without, their ids. Matches held by a mute now ended are pending again."""
        self._queue.release_held(name, now)
        pending = self._queue.pending(name)
        if not pending:
            return set()
        mutes = self._queue.mutes_ending_after(min(m.matched_at for m in pending))
        sifted = sift(name, pending, mutes, now, self._named())
        if not sifted.left_out:
            return set()
        if not keep:
            return {out.match.id for out in sifted.left_out}
        self._queue.leave_out(name, [(out.match.id, out.mute) for out in sifted.left_out], now)
        dropped = sum(out.dropped for out in sifted.left_out)
        held = len(sifted.left_out) - dropped
        log.info(
            "channel %s: muted: %s dropped, %d held",
            name,
            plural(dropped, "match", "matches"),
            held,
        )
        return set()

    def _channel_muted(self, name: str, now: datetime) -> bool:
        """Whether a mute of the channel itself is on now."""
        target = f"channel:{name}"
        return any(
            mute.target == target and mute.active(now)
            for mute in self._queue.mutes_ending_after(now)
        )

    def _named(self) -> Named:
        people = self._people()

        def named(match: StoredMatch) -> set[str]:
            found = {hit.participant for hit in match.hits if hit.participant}
            return found | set(people(match.article))

        return named

    def _throttled(self, name: str) -> bool:
        """Whether the channel's throttle keeps its next digest back now; if matches wait,
        it says since when it has held them."""
        throttle = self._config.channels[name].throttle
        if throttle is None:
            return False
        now = self._clock()
        made = self._queue.digests_made_since(name, window_start(throttle, now))
        if not throttled(throttle, made):
            return False
        if self._queue.throttle_held_since(name) is None and self.has_pending(name):
            self._queue.hold_for_throttle(name, now)
            told = "channel %s: throttled (%s within %s); its matches wait"
            log.info(told, name, plural(made, "digest"), throttle.per)
        return True

    def _say_held(self, name: str, digest: Digest, matches: int) -> Digest:
        """The digest, saying how many matches it gathered if the throttle held them back."""
        since = self._queue.throttle_held_since(name)
        if since is None or not matches:
            return digest
        return digest.model_copy(update={"held": Held(matches=matches, since=since)})


def _listing(channel: Channel, rules: RuleSet) -> Listing | None:
    """Where an email channel's digest lists every match it holds; None for other types."""
    if not isinstance(channel, EmailChannel):
        return None
    return Listing(rules, int(channel.attachment_max_mb * 1_000_000))
