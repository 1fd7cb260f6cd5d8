"""The Discord webhook message for a digest: embeds, article text in Discord Markdown."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from worker.model import Alert, Digest
from worker.notify.messages.shared import (
    Markdown,
    Message,
    Section,
    clipped,
    heading,
    headline,
    length,
    markdown_item,
    more,
    overview,
    packed,
    participants,
    trimmed,
)

__all__ = ["discord_alert", "discord_message"]

# Embeds: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
CONTENT = 2000
EMBEDS = 10
TITLE = 256
DESCRIPTION = 4096
FOOTER = 2048
TOTAL = 6000

_COLOURS = {"high": 0xE74C3C, "normal": 0x5865F2, "low": 0x95A5A6}  # by rule priority

_MARKUP = re.compile(r"([\\*_~`|<>\[\]@])")
# Only at the start of a line do these begin a heading, quote or list.
_LINE_START = re.compile(r"^([#>+-])|^(\d+)\.")


def discord_message(digest: Digest) -> Message:
    """A Discord webhook message: the overview as content, an embed per rule, no mentions."""
    return trimmed(digest, partial(markdown_item, markdown=_MARKDOWN), _build, _fits)


def discord_alert(alert: Alert) -> Message:
    """A Discord message of an alert about wirewatch itself: its text, pinging no one."""
    text = "\n".join(_escape(line) for line in alert.text.splitlines())
    return {"content": clipped(text, CONTENT), "allowed_mentions": {"parse": []}}


def _escape(text: str) -> str:
    text = _MARKUP.sub(r"\\\1", text)
    return _LINE_START.sub(lambda found: f"\\{found[1]}" if found[1] else f"{found[2]}\\.", text)


def _link(url: str, title: str) -> str:
    for char, code in (("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return f"[{title}]({url})"


_MARKDOWN = Markdown(
    escape=_escape, strong="**", link=_link, item=DESCRIPTION, meta=400, summary=900, path=300
)


def _build(digest: Digest, sections: list[Section[str]], left_out: int) -> Message:
    lines = [
        f"**{clipped(headline(digest), 200, _escape)}**",
        clipped(overview(digest), 300, _escape),
        clipped(participants(digest), 1400, _escape),
    ]
    embeds = [embed for section in sections for embed in _embeds(section)]
    if left_out and embeds:
        embeds[-1]["footer"] = {"text": more(left_out, digest)}
    elif left_out:
        lines.append(more(left_out, digest))
    return {
        "content": "\n".join(line for line in lines if line),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},  # article text never pings anyone
    }


def _embeds(section: Section[str]) -> list[dict[str, Any]]:
    """The rule's items in as many embeds as they need, each after the first `(continued)`."""
    colour = _COLOURS[section.rule.priority]
    first = clipped(heading(section), TITLE, _escape)
    later = clipped(f"{heading(section)} (continued)", TITLE, _escape)
    return [
        {"title": later if number else first, "description": text, "color": colour}
        for number, text in enumerate(packed(section.items, DESCRIPTION))
    ]


def _fits(message: Message) -> bool:
    """Whether Discord takes the message: its text, each embed and all embeds within limits."""
    embeds = message["embeds"]
    return (
        length(message["content"]) <= CONTENT
        and len(embeds) <= EMBEDS
        and all(_embed_fits(embed) for embed in embeds)
        and sum(sum(_lengths(embed)) for embed in embeds) <= TOTAL
    )


def _embed_fits(embed: dict[str, Any]) -> bool:
    title, description, footer = _lengths(embed)
    return title <= TITLE and description <= DESCRIPTION and footer <= FOOTER


def _lengths(embed: dict[str, Any]) -> tuple[int, int, int]:
    """The lengths of the embed's title, description and footer, as Discord counts them."""
    footer = embed.get("footer", {}).get("text", "")
    return length(embed["title"]), length(embed["description"]), length(footer)
