"""What the Slack, Discord and Teams messages have in common.

The lines every message shows for a digest (headline, overview, participants, rule
headings, how many items were left out), an article's title, details, link and
highlighted summary, text clipped to fit a limit, and the trimming of a digest to the
leading items that fit a service's limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.model import (
    Digest,
    DigestArticle,
    DigestItem,
    DigestRule,
    DigestUpdate,
    is_web_address,
)
from worker.wording import plural

__all__ = [
    "ELLIPSIS",
    "STORIES",
    "UPDATES",
    "Markdown",
    "Message",
    "Runs",
    "Section",
    "also_of",
    "clipped",
    "encode",
    "heading",
    "headline",
    "length",
    "markdown_item",
    "meta",
    "more",
    "overview",
    "packed",
    "participants",
    "path_of",
    "runs",
    "summary_of",
    "title_of",
    "trimmed",
    "web_url",
]

Message = dict[str, Any]
Runs = list[tuple[str, bool]]  # summary text in pieces, True where a matched term is shown bold
T = TypeVar("T")

ELLIPSIS = "…"

_UTC = ZoneInfo("UTC")


def encode(message: Message) -> bytes:
    """The request body for `message`: compact UTF-8 JSON, the bytes signed and measured."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


# -- trimming a digest to the service's limits --------------------------------------------


@dataclass(frozen=True)
class Section(Generic[T]):
    """One rule's items as a format renders them; `total` counts all of them in the digest."""

    rule: DigestRule
    total: int
    items: tuple[T, ...]


def trimmed(
    digest: Digest,
    render_item: Callable[[DigestItem], T],
    build: Callable[[Digest, list[Section[T]], int], Message],
    fits: Callable[[Message], bool],
) -> Message:
    """The message with the most leading items of the digest that still fit the service."""
    sections = _sections(digest)
    rendered = [
        (index, render_item(item)) for index, (_, items) in enumerate(sections) for item in items
    ]
    omitted = _count(digest.counts.omitted) + (_count(digest.more.count) if digest.more else 0)

    def attempt(kept: int) -> Message:
        shown = [
            Section(sections[index][0], len(sections[index][1]), tuple(r for _, r in group))
            for index, group in groupby(rendered[:kept], key=itemgetter(0))
        ]
        return build(digest, shown, len(rendered) - kept + omitted)

    # Bisection finds the most that fit: a message only grows with every item kept.
    return attempt(_most(len(rendered), lambda kept: fits(attempt(kept))))


def _most(high: int, holds: Callable[[int], bool]) -> int:
    """The largest n from 0 to `high` for which `holds(n)`, by bisection (0 if none).

    `holds` must hold for every number below one it holds for.
    """
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        if holds(middle):
            low = middle
        else:
            high = middle - 1
    return low


# The headings of a digest grouped by article: its entries, then its updates.
STORIES = DigestRule(id="", title="Stories")
UPDATES = DigestRule(id="", title="Updates to stories sent before")


def _sections(digest: Digest) -> list[tuple[DigestRule, list[DigestItem]]]:
    """The digest's entries, then its updates, or (grouped by rule) its items by rule."""
    updates = [_update_item(update) for update in digest.updates]
    if digest.group_by == "rule":
        return _rule_sections(digest) + ([(UPDATES, updates)] if updates else [])
    sections = [(STORIES, list(digest.items)), (UPDATES, updates)]
    return [(rule, items) for rule, items in sections if items]


def _update_item(update: DigestUpdate) -> DigestItem:
    """An update as an item: the story's title, and a line of the sources that came since."""
    return DigestItem(
        rule="",
        article=update.story,
        summary=f"{plural(len(update.articles), 'more source')}: {_sources(update.articles)}",
    )


def _sources(articles: Sequence[DigestArticle]) -> str:
    return "; ".join(
        f"{article.title} ({article.source})" if article.source else article.title
        for article in articles
    )


def _rule_sections(digest: Digest) -> list[tuple[DigestRule, list[DigestItem]]]:
    """The digest's items grouped by rule, in the order of its `rules` (then any others)."""
    known = {rule.id: rule for rule in digest.rules}
    grouped: dict[str, list[DigestItem]] = {}
    for item in digest.items:
        grouped.setdefault(item.rule, []).append(item)
    rules = [rule for rule in known.values() if rule.id in grouped]
    # Items of a rule missing from the digest's `rules` come last, headed by the rule's id.
    rules += [DigestRule(id=rule_id, title=rule_id) for rule_id in grouped if rule_id not in known]
    return [(rule, grouped[rule.id]) for rule in rules]


# -- what every message shows -------------------------------------------------------------


def _count(value: int) -> int:
    # Counts are not checked when a stored digest is read: a negative one is shown as none.
    return max(value, 0)


def more(left_out: int, digest: Digest | None = None) -> str:
    """The line that says how many items the message leaves out (and, for a backlog, how
    the digest's others are listed, and how many of each rule and participant)."""
    line = f"{ELLIPSIS} and {plural(left_out, 'more item')}"
    backlog = digest.more if digest is not None else None
    if backlog is None:
        return line
    counted = [
        f"{kind}: " + ", ".join(f"{name} ({count:,})" for name, count in list(by.items())[:_SHOWN])
        for kind, by in (("by rule", backlog.by_rule), ("by participant", backlog.by_participant))
        if by
    ]
    return "; ".join([f"{line} — `{backlog.command}` lists them", *counted])


_SHOWN = 10  # rules and participants a chat message names in its backlog line


def headline(digest: Digest) -> str:
    """How many articles matched on the digest's channel."""
    articles = _count(digest.counts.articles)
    return f"wirewatch: {plural(articles, 'article')} matched on {digest.channel}"


def overview(digest: Digest) -> str:
    """The period the digest covers, in the channel's time zone, what it counts, and what
    the channel's throttle held back for it."""
    zone = _zone(digest.timezone)
    period = digest.period
    span = f"{_minute(period.start, zone)} to {_minute(period.end, zone)} {zone.key}"
    parts = [
        span,
        plural(_count(digest.counts.articles), "article"),
        plural(_count(digest.counts.matches), "match", "matches"),
    ]
    if digest.held is not None:
        held = plural(digest.held.matches, "match", "matches")
        parts.append(f"{held} held back by the throttle since {_minute(digest.held.since, zone)}")
    return " · ".join(parts)


def participants(digest: Digest) -> str:
    """The participants the digest found and how often, or nothing when it found none."""
    found = digest.counts.participants
    if not found:
        return ""
    return "Participants: " + ", ".join(f"{name} ({count})" for name, count in found.items())


def _zone(name: str) -> ZoneInfo:
    """The channel's time zone, in which its digests show times (UTC if it names none we know)."""
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return _UTC


def _minute(moment: datetime, zone: ZoneInfo) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M")


def heading(section: Section[Any]) -> str:
    """The rule's title, how many matches it has, and whether it is of high priority."""
    rule = section.rule
    if rule is STORIES or rule is UPDATES:
        return " · ".join([rule.title, plural(section.total, "story", "stories")])
    parts = [rule.title or rule.id, plural(section.total, "match", "matches")]
    if rule.priority == "high":
        parts.append("high priority")
    return " · ".join(parts)


# -- an article ---------------------------------------------------------------------------


def title_of(item: DigestItem) -> str:
    """The article's title on one line."""
    return " ".join(item.article.title.split()) or "(untitled)"


def meta(item: DigestItem) -> str:
    """The article's date and source, the participants and the terms it matched, on one line."""
    article = item.article
    terms = ", ".join(item.terms)
    parts = [
        article.date.isoformat(),
        article.source or "",
        f"rules: {', '.join(item.rules)}" if len(item.rules) > 1 else "",
        ", ".join(item.participants),
        f"matched: {terms}" if terms else "",
    ]
    return " · ".join(" ".join(part.split()) for part in parts if part.strip())


def also_of(item: DigestItem) -> str:
    """Who else reported the item's story, or nothing."""
    if not item.also:
        return ""
    return f"Also reported by {plural(len(item.also), 'source')}: {_sources(item.also)}"


def path_of(item: DigestItem) -> str:
    """The file the article was read from, or nothing."""
    return item.article.path or ""


def summary_of(item: DigestItem) -> str:
    """The item's summary on one line."""
    return " ".join(item.summary.split())


def web_url(item: DigestItem) -> str | None:
    """The article's address when it is one a reader can open (http or https)."""
    if item.article.url is None:
        return None
    printable = "".join(char for char in item.article.url.strip() if char.isprintable())
    url = printable.replace(" ", "%20")
    return url if is_web_address(url) else None


def runs(summary: str, highlights: Iterable[tuple[int, int]]) -> Runs:
    """The summary cut at its highlight spans (clamped, sorted and merged)."""
    spans = sorted((_within(start, summary), _within(end, summary)) for start, end in highlights)
    pieces: Runs = []
    at = 0
    for start, end in spans:
        start = max(start, at)
        if start >= end:
            continue
        pieces += [(summary[at:start], False), (summary[start:end], True)]
        at = end
    pieces.append((summary[at:], False))
    return [(text, bold) for text, bold in pieces if text]


def _within(offset: int, text: str) -> int:
    return max(0, min(offset, len(text)))


# -- text within a limit ------------------------------------------------------------------


def length(text: str) -> int:
    """Characters as the services count them: UTF-16 code units, never fewer than ours."""
    return len(text.encode("utf-16-le")) // 2


def _fitted(size: int, render: Callable[[int], str], limit: int) -> str:
    """render(size), or render(n) for the largest n below it whose result fits in `limit`."""
    whole = render(size)
    if length(whole) <= limit:
        return whole
    return render(_most(size - 1, lambda keep: length(render(keep)) <= limit))


def _cut(text: str, keep: int) -> str:
    return text if keep >= len(text) else text[:keep].rstrip() + ELLIPSIS


def clipped(text: str, limit: int, escape: Callable[[str], str] = str) -> str:
    """`text` escaped, shortened with an ellipsis until the escaped text fits in `limit`."""
    return _fitted(len(text), lambda keep: escape(_cut(text, keep)), limit)


def packed(pieces: Sequence[str], limit: int) -> list[str]:
    """The pieces joined by blank lines, a new text begun wherever one would exceed `limit`."""
    texts = [""]
    for piece in pieces:
        if texts[-1] and length(texts[-1]) + 2 + length(piece) > limit:
            texts.append(piece)
        else:
            texts[-1] = f"{texts[-1]}\n\n{piece}" if texts[-1] else piece
    return texts


# -- an article in a service's Markdown ---------------------------------------------------


@dataclass(frozen=True)
class Markdown:
    """A service's Markdown: how it escapes, bolds and links text, and the room of an item."""

    escape: Callable[[str], str]
    strong: str  # the mark on either side of bold text
    link: Callable[[str, str], str]  # (url, escaped title) -> the linked title
    item: int  # the most an item may take in all: the limit of the text that holds it
    meta: int
    summary: int
    path: int
    title: int = 250


def markdown_item(item: DigestItem, markdown: Markdown) -> str:
    """An article in the service's Markdown, never longer than `markdown.item`."""
    escape, strong = markdown.escape, markdown.strong
    title = clipped(title_of(item), markdown.title, escape)
    url = web_url(item)
    return _item_text(
        f"{strong}{title}{strong}",
        f"{strong}{markdown.link(url, title)}{strong}" if url else None,
        [
            clipped(meta(item), markdown.meta, escape),
            _marked_summary(item, markdown),
            clipped(also_of(item), markdown.summary, escape),
        ],
        clipped(path_of(item), markdown.path, escape),
        markdown.item,
    )


def _marked_summary(item: DigestItem, markdown: Markdown) -> str:
    """The summary escaped, its highlights between `strong` marks, fitted in its limit."""
    summary = summary_of(item)

    def render(keep: int) -> str:
        pieces = runs(summary[:keep], item.highlights)
        if keep < len(summary):
            pieces.append((ELLIPSIS, False))
        return "".join(_styled(text, bold, markdown) for text, bold in pieces)

    return _fitted(len(summary), render, markdown.summary)


def _styled(text: str, bold: bool, markdown: Markdown) -> str:
    core = text.strip()
    if not bold or not core:
        return markdown.escape(text)
    # Markup must touch the word it marks, so spaces go outside the marks.
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    escape, strong = markdown.escape, markdown.strong
    return f"{escape(lead)}{strong}{escape(core)}{strong}{escape(trail)}"


def _item_text(
    title: str, linked_title: str | None, details: list[str], path: str, limit: int
) -> str:
    """An article's lines: its linked title when they fit in `limit`, else its title and path.

    The other lines are clipped, but a link cannot be cut, and a block over the service's
    limit makes it refuse the whole digest on every retry: a link that long is left out.
    """
    if linked_title is not None:
        linked = "\n".join(line for line in [linked_title, *details] if line)
        if length(linked) <= limit:
            return linked
    return "\n".join(line for line in [title, *details, path] if line)
