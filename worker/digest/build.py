"""Build a channel's digest from its pending matches: a pure function over stored data.

The digest is a typed `Digest`, whose document is the webhook body of the SPEC (plus the
rule titles the templates need). It is stored before delivery and every retry sends it
unchanged.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from worker.digest.stories import (
    ArticleMatches,
    Story,
    by_story,
    digest_article,
    signatures_of,
)
from worker.digest.summary import summarize
from worker.model import (
    Article,
    Digest,
    DigestArticle,
    DigestCounts,
    DigestItem,
    DigestRule,
    DigestUpdate,
    GroupBy,
    Hit,
    Period,
    StoredMatch,
    StoryShown,
)
from worker.rules.ruleset import Keywords, Participant, Rule, RuleSet
from worker.text.minhash import Signature

__all__ = ["Grouping", "PeopleFinder", "build_digest", "digest_id", "sample_digest"]

# The ids of the participants an article names, in the order it first names them.
PeopleFinder = Callable[[Article], Sequence[str]]


def _no_one(article: Article) -> Sequence[str]:
    return ()


_PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}


@dataclass(frozen=True)
class Grouping:
    """How a digest groups its matches into entries (see `group_by`, `same_story`)."""

    by: GroupBy = "article"
    same_story: float = 0.3  # the Jaccard estimate from which two articles are one story
    shown: Sequence[StoryShown] = ()  # stories the channel showed within `realert`
    signatures: Mapping[str, Signature] | None = None  # made from the articles when None


def build_digest(
    channel: str,
    matches: Sequence[StoredMatch],
    rules: RuleSet,
    now: datetime,
    since: datetime | None,
    zone: str = "UTC",
    max_items: int | None = None,
    people: PeopleFinder = _no_one,
    grouping: Grouping = Grouping(),
) -> Digest:
    """The digest of `matches` for `channel`, high priority first: an entry per story, or
    (grouped by rule) an entry per match in a section per rule.

    All matches count in the totals; at most `max_items` entries are listed (and
    summarized), the rest counted as omitted. The period runs from `since`, or from the
    oldest match if it is older (what an earlier digest left for this one). `zone` is the
    time zone the templates show times in. `people` finds who of the participants each
    article names.
    """
    order = {rule.id: position for position, rule in enumerate(rules.rules)}
    ordered = sorted(matches, key=lambda m: _section_key(m, rules, order))
    named = _Remembered(people)
    names = [_participants(match, rules, named(match.article)) for match in ordered]
    entries, updates = _entries(ordered, names, rules, grouping)
    listed = entries[:max_items]
    first = min((m.matched_at for m in matches), default=now)
    return Digest(
        digest_id=digest_id(channel, [(m.article.id, m.rule_id) for m in matches], now),
        channel=channel,
        generated_at=now,
        timezone=zone,
        period=Period(start=min(since or first, first), end=now),
        counts=_counts(ordered, names, omitted=len(entries) - len(listed)),
        rules=_rule_sections(ordered, rules),
        group_by=grouping.by,
        items=tuple(_item(story) for story in listed),
        updates=tuple(updates),
    )


def digest_id(channel: str, matches: Sequence[tuple[str, str]], now: datetime) -> str:
    """A stable id for the digest of exactly these (article, rule) matches on this channel.

    It is made of what the digest holds, not of row numbers a new state file would give
    out again: a receiver that drops repeated ids never drops a different digest. An
    empty digest, which holds nothing, is told apart by its time.
    """
    held = ",".join(sorted(f"{article}/{rule}" for article, rule in matches))
    covered = held or f"empty@{now.isoformat()}"
    return hashlib.sha256(f"{channel}:{covered}".encode()).hexdigest()[:24]


def sample_digest(zone: str) -> Digest:
    """The digest of one made-up article, to try templates on before anything is sent."""
    body = "Vladimir Putin met Xi Jinping in Beijing. They spoke about gas & oil <deals>."
    article = Article(
        "0123456789abcdef",
        "Putin & Xi meet",
        body,
        date(2026, 1, 2),
        "/inbox/a.txt",
        "Wire",
        "https://example.org/a",
    )
    at = body.index("gas")
    hits = (Hit("Vladimir Putin", "body", 0, 14, "putin"), Hit("gas", "body", at, at + 3))
    rules = RuleSet(
        {"putin": Participant(name="Vladimir Putin")},
        (Rule(id="sample", title="Sample rule", keywords=Keywords(any=("gas",))),),
    )
    now = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
    match = StoredMatch(1, "sample", article, hits, now)
    digest = build_digest("sample", [match], rules, now, None, zone, people=lambda _: ["putin"])
    # The same story from another outlet, and an update: every part a template may show.
    other = DigestArticle(
        id="fedcba9876543210",
        title="Xi and Putin meet in Beijing",
        date=date(2026, 1, 2),
        source="Ledger",
        url="https://example.org/b",
        path="/inbox/b.txt",
    )
    item = digest.items[0].model_copy(update={"also": (other,)})
    update = DigestUpdate(story=other, first_sent=now - timedelta(hours=3), articles=(other,))
    return digest.model_copy(update={"items": (item,), "updates": (update,)})


def _section_key(
    match: StoredMatch, rules: RuleSet, order: dict[str, int]
) -> tuple[int, int, int, str]:
    rule = rules.rule(match.rule_id)
    newest_first = -match.article.date.toordinal()
    return (_PRIORITY_ORDER[rule.priority], order[rule.id], newest_first, match.article.title)


class _Remembered:
    """Who each article names, found once per article however many of its matches there are."""

    def __init__(self, people: PeopleFinder) -> None:
        self._people = people
        self._found: dict[str, Sequence[str]] = {}

    def __call__(self, article: Article) -> Sequence[str]:
        if article.id not in self._found:
            self._found[article.id] = self._people(article)
        return self._found[article.id]


def _participants(match: StoredMatch, rules: RuleSet, named: Sequence[str]) -> list[str]:
    # Who the rule asked for first, then everyone else the article names.
    found = [h.participant for h in match.hits if h.participant] + list(named)
    return list(
        dict.fromkeys(rules.participants[pid].name for pid in found if pid in rules.participants)
    )


def _entries(
    ordered: Sequence[StoredMatch],
    names: Sequence[list[str]],
    rules: RuleSet,
    grouping: Grouping,
) -> tuple[list[Story], list[DigestUpdate]]:
    """The digest's entries in order, and its updates of stories shown before."""
    if grouping.by == "rule":
        alone = [
            ArticleMatches(m.article, (m,), tuple(n)) for m, n in zip(ordered, names, strict=True)
        ]
        return [Story(entry) for entry in alone], []
    articles = sorted(_by_article(ordered, names), key=lambda entry: _article_key(entry, rules))
    signatures = grouping.signatures
    if signatures is None:
        signatures = signatures_of([entry.article for entry in articles])
    return by_story(articles, signatures, grouping.shown, grouping.same_story)


def _by_article(ordered: Sequence[StoredMatch], names: Sequence[list[str]]) -> list[ArticleMatches]:
    """Each article once, with its matches in the digest's order and everyone they name."""
    matches: dict[str, list[StoredMatch]] = {}
    people: dict[str, dict[str, None]] = {}
    for match, found in zip(ordered, names, strict=True):
        matches.setdefault(match.article.id, []).append(match)
        people.setdefault(match.article.id, {}).update(dict.fromkeys(found))
    return [
        ArticleMatches(held[0].article, tuple(held), tuple(people[article_id]))
        for article_id, held in matches.items()
    ]


def _article_key(entry: ArticleMatches, rules: RuleSet) -> tuple[int, int, str]:
    # Highest rule priority first, then newest.
    best = min(_PRIORITY_ORDER[rules.rule(match.rule_id).priority] for match in entry.matches)
    return (best, -entry.article.date.toordinal(), entry.article.title)


def _item(story: Story) -> DigestItem:
    lead = story.lead
    hits = tuple(hit for match in lead.matches for hit in match.hits)
    summary = summarize(lead.article.body, hits)
    terms = dict.fromkeys(h.term for h in hits if h.participant is None)
    members = story.members
    rules = dict.fromkeys(match.rule_id for member in members for match in member.matches)
    people = dict.fromkeys(name for member in members for name in member.participants)
    return DigestItem(
        rule=lead.matches[0].rule_id,
        rules=tuple(rules),
        article=digest_article(lead.article),
        participants=tuple(people),
        terms=tuple(terms),
        summary=summary.text,
        highlights=tuple(summary.highlights),
        also=tuple(digest_article(member.article) for member in story.also),
    )


def _counts(
    matches: Sequence[StoredMatch], names: Sequence[list[str]], omitted: int
) -> DigestCounts:
    # An article counts once per participant, whichever of its rules found the person.
    by_article: dict[str, set[str]] = {}
    for match, found in zip(matches, names, strict=True):
        by_article.setdefault(match.article.id, set()).update(found)
    participants = Counter(name for named in by_article.values() for name in named)
    return DigestCounts(
        articles=len(by_article),
        matches=len(matches),
        rules=dict(Counter(match.rule_id for match in matches)),
        participants=dict(participants.most_common()),
        omitted=omitted,
    )


def _rule_sections(matches: Sequence[StoredMatch], rules: RuleSet) -> tuple[DigestRule, ...]:
    ids = dict.fromkeys(match.rule_id for match in matches)
    return tuple(
        DigestRule(id=rule.id, title=rule.title or rule.id, priority=rule.priority)
        for rule in map(rules.rule, ids)
    )
