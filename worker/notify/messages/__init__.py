"""The message each webhook format posts for a digest: pure functions of the digest document.

`json` posts the digest document itself. `slack`, `discord` and `teams` post the service's
own incoming-webhook message. A digest is always one message: a digest split over several
messages could be half delivered, and its retry would post the first half again. So a
long digest keeps as many of its items, in digest order, as the service's limits allow,
and the message ends with how many were left out. Article text is escaped for each
service, so no title or summary can change the message's markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.model import is_web_address
from worker.wording import plural

__all__ = [
    "FORMATS",
    "discord_message",
    "encode",
    "message_for",
    "slack_message",
    "teams_message",
]

Document = dict[str, Any]
Message = dict[str, Any]
Runs = list[tuple[str, bool]]  # summary text in pieces, True where a matched term is shown bold
T = TypeVar("T")

ELLIPSIS = "…"

# Slack Block Kit: https://docs.slack.dev/reference/block-kit/blocks
SLACK_BLOCKS = 50
SLACK_SECTION_TEXT = 3000
SLACK_HEADER_TEXT = 150
SLACK_CONTEXT_ELEMENTS = 10
SLACK_CONTEXT_TEXT = 3000
# Slack also refuses a message whose blocks hold too much text in all (msg_blocks_too_long)
# without documenting the figure; reports put it near 12,000 characters
# (https://github.com/slackapi/bolt-js/issues/2509), so stay well below.
SLACK_TOTAL_TEXT = 10_000

# Discord embeds: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
DISCORD_CONTENT = 2000
DISCORD_EMBEDS = 10
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
DISCORD_FOOTER = 2048
DISCORD_TOTAL = 6000

# Teams refuses a message over about 28 KB, counted on what it stores, not on what we post
# (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook);
# the margin leaves room for that.
TEAMS_BYTES = 24_000
# Teams documents no limit on a link, only on the card. A longer link is left out, our choice,
# so that one article's link cannot take the room of several articles.
TEAMS_LINK = 2000

_UTC = ZoneInfo("UTC")
_PRIORITY_COLOURS = {"high": 0xE74C3C, "normal": 0x5865F2, "low": 0x95A5A6}


def encode(message: Message) -> bytes:
    """The request body for `message`: compact UTF-8 JSON, the bytes signed and measured."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def message_for(format_name: str, digest: Document) -> Message:
    """The message of `format_name` (slack, discord, teams) for `digest`; the json format is
    the channel's digest.json template (see worker.render)."""
    return FORMATS[format_name](digest)


# -- what every format shows --------------------------------------------------------------


@dataclass(frozen=True)
class _Section(Generic[T]):
    """One rule's items as a format renders them; `total` counts all of them in the digest."""

    rule: dict[str, Any]
    total: int
    items: tuple[T, ...]


def _trimmed(
    digest: Document,
    render_item: Callable[[dict[str, Any]], T],
    build: Callable[[Document, list[_Section[T]], int], Message],
    fits: Callable[[Message], bool],
) -> Message:
    """The message with the most leading items of the digest that still fits the service."""
    sections = _sections(digest)
    rendered = [
        (index, render_item(item)) for index, (_, items) in enumerate(sections) for item in items
    ]
    omitted = _count(digest.get("counts", {}).get("omitted"))

    def attempt(kept: int) -> Message:
        shown = [
            _Section(sections[index][0], len(sections[index][1]), tuple(r for _, r in group))
            for index, group in groupby(rendered[:kept], key=itemgetter(0))
        ]
        return build(digest, shown, len(rendered) - kept + omitted)

    # A message grows with every item kept, so the most that fit are found by bisection.
    low, high = 0, len(rendered)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(attempt(middle)):
            low = middle
        else:
            high = middle - 1
    return attempt(low)


def _sections(digest: Document) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The digest's items grouped by rule, in the order of its `rules` (then any others)."""
    rules = {rule["id"]: rule for rule in digest.get("rules", [])}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in digest.get("items", []):
        grouped.setdefault(str(item.get("rule", "")), []).append(item)
    order = [rule_id for rule_id in rules if rule_id in grouped]
    order += [rule_id for rule_id in grouped if rule_id not in rules]
    unknown = {"title": None, "priority": "normal"}
    return [
        (rules.get(rule_id) or {**unknown, "id": rule_id}, grouped[rule_id]) for rule_id in order
    ]


def _count(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _more(left_out: int) -> str:
    return f"{ELLIPSIS} and {plural(left_out, 'more item')}"


def _headline(digest: Document) -> str:
    articles = _count(digest.get("counts", {}).get("articles"))
    return f"wirewatch: {plural(articles, 'article')} matched on {digest.get('channel', '')}"


def _overview(digest: Document) -> str:
    period = digest.get("period", {})
    counts = digest.get("counts", {})
    zone = _zone(digest.get("timezone"))
    span = f"{_minute(period.get('from'), zone)} to {_minute(period.get('to'), zone)} {zone.key}"
    return " · ".join(
        [
            span,
            plural(_count(counts.get("articles")), "article"),
            plural(_count(counts.get("matches")), "match", "matches"),
        ]
    )


def _participants(digest: Document) -> str:
    found = digest.get("counts", {}).get("participants") or {}
    if not found:
        return ""
    return "Participants: " + ", ".join(f"{name} ({count})" for name, count in found.items())


def _zone(name: object) -> ZoneInfo:
    """The channel's time zone, in which its digests show times (UTC if it has none)."""
    try:
        return ZoneInfo(str(name)) if name else _UTC
    except (ValueError, ZoneInfoNotFoundError):
        return _UTC


def _minute(stamp: object, zone: ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M")


def _heading(section: _Section[Any]) -> str:
    rule = section.rule
    parts = [
        str(rule.get("title") or rule.get("id", "")),
        plural(section.total, "match", "matches"),
    ]
    if rule.get("priority") == "high":
        parts.append("high priority")
    return " · ".join(parts)


def _title_of(item: dict[str, Any]) -> str:
    return " ".join(str(item.get("article", {}).get("title") or "").split()) or "(untitled)"


def _meta(item: dict[str, Any]) -> str:
    article = item.get("article", {})
    parts = [str(article.get("date") or ""), str(article.get("source") or "")]
    parts.append(", ".join(str(name) for name in item.get("participants") or []))
    terms = ", ".join(str(term) for term in item.get("terms") or [])
    parts.append(f"matched: {terms}" if terms else "")
    return " · ".join(" ".join(part.split()) for part in parts if part.strip())


def _path_of(item: dict[str, Any]) -> str:
    return str(item.get("article", {}).get("path") or "")


def _web_url(item: dict[str, Any]) -> str | None:
    """The article's address when it is one a reader can open (http or https)."""
    url = item.get("article", {}).get("url")
    if not isinstance(url, str):
        return None
    url = "".join(char for char in url.strip() if char.isprintable()).replace(" ", "%20")
    return url if is_web_address(url) else None


def _runs(summary: str, highlights: object) -> Runs:
    """The summary cut at its highlight spans (clamped, sorted and merged)."""
    spans: list[tuple[int, int]] = []
    for span in highlights if isinstance(highlights, list) else []:
        if isinstance(span, list | tuple) and len(span) == 2 and all(type(v) is int for v in span):
            start, end = (max(0, min(value, len(summary))) for value in span)
            if start < end:
                spans.append((start, end))
    runs: Runs = []
    at = 0
    for start, end in sorted(spans):
        start = max(start, at)
        if start >= end:
            continue
        runs += [(summary[at:start], False), (summary[start:end], True)]
        at = end
    runs.append((summary[at:], False))
    return [(text, bold) for text, bold in runs if text]


def _length(text: str) -> int:
    """Characters as the services count them: UTF-16 code units, never fewer than ours."""
    return len(text.encode("utf-16-le")) // 2


def _fitted(size: int, render: Callable[[int], str], limit: int) -> str:
    """render(size), or render(n) for the largest n below it whose result fits in `limit`."""
    whole = render(size)
    if _length(whole) <= limit:
        return whole
    low, high = 0, size - 1
    while low < high:
        middle = (low + high + 1) // 2
        if _length(render(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return render(low)


def _cut(text: str, keep: int) -> str:
    return text if keep >= len(text) else text[:keep].rstrip() + ELLIPSIS


def _clipped(text: str, limit: int, escape: Callable[[str], str] = str) -> str:
    """`text` escaped, shortened with an ellipsis until the escaped text fits in `limit`."""
    return _fitted(len(text), lambda keep: escape(_cut(text, keep)), limit)


def _marked_summary(
    item: dict[str, Any], limit: int, escape: Callable[[str], str], strong: str
) -> str:
    """The summary escaped, its highlights between `strong` marks, fitted in `limit`."""
    summary = " ".join(str(item.get("summary") or "").split())
    highlights = item.get("highlights", [])

    def render(keep: int) -> str:
        runs = _runs(summary[:keep], highlights)
        if keep < len(summary):
            runs.append((ELLIPSIS, False))
        return "".join(_styled(text, bold, escape, strong) for text, bold in runs)

    return _fitted(len(summary), render, limit)


def _styled(text: str, bold: bool, escape: Callable[[str], str], strong: str) -> str:
    core = text.strip()
    if not bold or not core:
        return escape(text)
    # Markup must touch the word it marks, so spaces go outside the marks.
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
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
        if _length(linked) <= limit:
            return linked
    return "\n".join(line for line in [title, *details, path] if line)


# -- Slack: Block Kit ---------------------------------------------------------------------


def slack_message(digest: Document) -> Message:
    """A Slack incoming-webhook message: a header, a context line, sections per rule."""
    return _trimmed(digest, _slack_item, _slack_build, _slack_fits)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_item(item: dict[str, Any]) -> str:
    """An article in mrkdwn, never longer than a section's text."""
    title = _clipped(_title_of(item), 250, _slack_escape)
    url = _web_url(item)
    return _item_text(
        f"*{title}*",
        f"*{_slack_link(url, title)}*" if url else None,
        [
            _clipped(_meta(item), 500, _slack_escape),
            _marked_summary(item, 1200, _slack_escape, "*"),
        ],
        _clipped(_path_of(item), 400, _slack_escape),
        SLACK_SECTION_TEXT,
    )


def _slack_link(url: str, title: str) -> str:
    for char, code in (("|", "%7C"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return f"<{_slack_escape(url)}|{title}>"


def _slack_text(text: str) -> dict[str, Any]:
    # verbatim: Slack leaves the text as written (no automatic links or @-mentions)
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _slack_build(digest: Document, sections: list[_Section[str]], left_out: int) -> Message:
    headline = _headline(digest)
    context = [_slack_text(_clipped(_overview(digest), 1000, _slack_escape))]
    if participants := _participants(digest):
        context.append(_slack_text(_clipped(participants, 1000, _slack_escape)))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clipped(headline, 150)}},
        {"type": "context", "elements": context},
    ]
    for section in sections:
        text = f"*{_clipped(_heading(section), 300, _slack_escape)}*"
        for item in section.items:
            if _length(text) + 2 + _length(item) > SLACK_SECTION_TEXT:
                blocks.append({"type": "section", "text": _slack_text(text)})
                text = item
            else:
                text += "\n\n" + item
        blocks.append({"type": "section", "text": _slack_text(text)})
    if left_out:
        blocks.append({"type": "context", "elements": [_slack_text(_more(left_out))]})
    return {
        "text": _slack_escape(headline),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _slack_texts(message: Message) -> list[str]:
    texts = [message["text"]]
    for block in message["blocks"]:
        texts += [element["text"] for element in block.get("elements", [])]
        if "text" in block:
            texts.append(block["text"]["text"])
    return texts


def _slack_fits(message: Message) -> bool:
    """Whether Slack takes the message: each block within its limits, and all of them together."""
    blocks = message["blocks"]
    return (
        len(blocks) <= SLACK_BLOCKS
        and all(_slack_block_fits(block) for block in blocks)
        and sum(_length(text) for text in _slack_texts(message)) <= SLACK_TOTAL_TEXT
    )


def _slack_block_fits(block: dict[str, Any]) -> bool:
    if block["type"] == "header":
        return _length(block["text"]["text"]) <= SLACK_HEADER_TEXT
    if block["type"] == "context":
        elements = block["elements"]
        return len(elements) <= SLACK_CONTEXT_ELEMENTS and all(
            _length(element["text"]) <= SLACK_CONTEXT_TEXT for element in elements
        )
    return _length(block["text"]["text"]) <= SLACK_SECTION_TEXT


# -- Discord: embeds ----------------------------------------------------------------------


def discord_message(digest: Document) -> Message:
    """A Discord webhook message: the overview as content, an embed per rule, no mentions."""
    return _trimmed(digest, _discord_item, _discord_build, _discord_fits)


_DISCORD_MARKUP = re.compile(r"([\\*_~`|<>\[\]@])")
# Only at the start of a line do these begin a heading, quote or list.
_DISCORD_LINE_START = re.compile(r"^([#>+-])|^(\d+)\.")


def _discord_escape(text: str) -> str:
    text = _DISCORD_MARKUP.sub(r"\\\1", text)
    return _DISCORD_LINE_START.sub(
        lambda found: f"\\{found[1]}" if found[1] else f"{found[2]}\\.", text
    )


def _discord_item(item: dict[str, Any]) -> str:
    """An article in Discord Markdown, never longer than an embed's description."""
    title = _clipped(_title_of(item), 250, _discord_escape)
    url = _web_url(item)
    return _item_text(
        f"**{title}**",
        f"**{_discord_link(url, title)}**" if url else None,
        [
            _clipped(_meta(item), 400, _discord_escape),
            _marked_summary(item, 900, _discord_escape, "**"),
        ],
        _clipped(_path_of(item), 300, _discord_escape),
        DISCORD_DESCRIPTION,
    )


def _discord_link(url: str, title: str) -> str:
    for char, code in (("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return f"[{title}]({url})"


def _discord_build(digest: Document, sections: list[_Section[str]], left_out: int) -> Message:
    lines = [
        f"**{_clipped(_headline(digest), 200, _discord_escape)}**",
        _clipped(_overview(digest), 300, _discord_escape),
        _clipped(_participants(digest), 1400, _discord_escape),
    ]
    embeds: list[dict[str, Any]] = []
    for section in sections:
        colour = _PRIORITY_COLOURS.get(str(section.rule.get("priority")), 0x5865F2)
        title = _clipped(_heading(section), DISCORD_TITLE, _discord_escape)
        text = ""
        for item in section.items:
            if text and _length(text) + 2 + _length(item) > DISCORD_DESCRIPTION:
                embeds.append({"title": title, "description": text, "color": colour})
                title = _clipped(f"{_heading(section)} (continued)", DISCORD_TITLE, _discord_escape)
                text = item
            else:
                text = f"{text}\n\n{item}" if text else item
        embeds.append({"title": title, "description": text, "color": colour})
    if left_out and embeds:
        embeds[-1]["footer"] = {"text": _more(left_out)}
    elif left_out:
        lines.append(_more(left_out))
    return {
        "content": "\n".join(line for line in lines if line),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},  # article text never pings anyone
    }


def _discord_fits(message: Message) -> bool:
    """Whether Discord takes the message: its text, each embed and all embeds within limits."""
    embeds = message["embeds"]
    return (
        _length(message["content"]) <= DISCORD_CONTENT
        and len(embeds) <= DISCORD_EMBEDS
        and all(_discord_embed_fits(embed) for embed in embeds)
        and sum(sum(_discord_lengths(embed)) for embed in embeds) <= DISCORD_TOTAL
    )


def _discord_embed_fits(embed: dict[str, Any]) -> bool:
    title, description, footer = _discord_lengths(embed)
    return (
        title <= DISCORD_TITLE and description <= DISCORD_DESCRIPTION and footer <= DISCORD_FOOTER
    )


def _discord_lengths(embed: dict[str, Any]) -> tuple[int, int, int]:
    """The lengths of the embed's title, description and footer, as Discord counts them."""
    footer = embed.get("footer", {}).get("text", "")
    return _length(embed["title"]), _length(embed["description"]), _length(footer)


# -- Teams: an Adaptive Card --------------------------------------------------------------


def teams_message(digest: Document) -> Message:
    """An Adaptive Card in the message envelope that Teams webhooks and Workflows accept."""
    return _trimmed(digest, _teams_item, _teams_build, _teams_fits)


def _text_block(runs: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    # RichTextBlock, not TextBlock: its text runs are never read as Markdown, so article
    # text needs no escaping and cannot restyle the card.
    return {"type": "RichTextBlock", "inlines": runs, **settings}


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _teams_item(item: dict[str, Any]) -> dict[str, Any]:
    url = _web_url(item)
    if url and _length(url) > TEAMS_LINK:
        url = None  # the article is shown with its path instead, as one without a link
    title = _run(_clipped(_title_of(item), 300), weight="Bolder")
    summary = _clipped(" ".join(str(item.get("summary") or "").split()), 1000)
    runs = [
        _run(text, weight="Bolder") if bold else _run(text)
        for text, bold in _runs(summary, item.get("highlights", []))
    ]
    meta = _run(_clipped(_meta(item), 500), isSubtle=True, size="Small")
    blocks = [
        _text_block([{**title, "color": "Accent"} if url else title]),
        _text_block([meta], spacing="None"),
    ]
    if runs:
        blocks.append(_text_block(runs, spacing="Small"))
    if not url and _path_of(item):
        path = _run(_clipped(_path_of(item), 400), isSubtle=True, size="Small")
        blocks.append(_text_block([path], spacing="None"))
    container: dict[str, Any] = {"type": "Container", "spacing": "Medium", "items": blocks}
    if url:
        container["selectAction"] = {"type": "Action.OpenUrl", "url": url, "title": "Open"}
    return container


def _teams_build(
    digest: Document, sections: list[_Section[dict[str, Any]]], left_out: int
) -> Message:
    body: list[dict[str, Any]] = [
        _text_block([_run(_clipped(_headline(digest), 300), weight="Bolder", size="Medium")]),
        _text_block([_run(_clipped(_overview(digest), 500), isSubtle=True)], spacing="None"),
    ]
    if participants := _participants(digest):
        body.append(_text_block([_run(_clipped(participants, 1000), isSubtle=True)]))
    for section in sections:
        heading = _run(_clipped(_heading(section), 300), weight="Bolder", size="Medium")
        body.append(_text_block([heading], separator=True, spacing="Large"))
        body += section.items
    if left_out:
        body.append(_text_block([_run(_more(left_out), italic=True)], spacing="Large"))
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "fallbackText": _headline(digest),
        "msteams": {"width": "Full"},
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _teams_fits(message: Message) -> bool:
    return len(encode(message)) <= TEAMS_BYTES


FORMATS: dict[str, Callable[[Document], Message]] = {
    "slack": slack_message,
    "discord": discord_message,
    "teams": teams_message,
}
