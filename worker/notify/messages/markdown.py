"""A digest in plain Markdown (CommonMark), for services that render it themselves."""

from __future__ import annotations

import re
from functools import partial

from worker.model import Digest
from worker.notify.messages.shared import (
    Markdown,
    Message,
    Section,
    clipped,
    heading,
    length,
    markdown_item,
    more,
    overview,
    participants,
    trimmed,
)

__all__ = ["markdown_message"]

# The most one article may take, however much room the message has.
ITEM = 4000

_MARKUP = re.compile(r"([\\`*_\[\]<>#!|~])")
# Only at the start of a line do these begin a quote or list.
_LINE_START = re.compile(r"^([>+-])|^(\d+)\.")


def markdown_message(digest: Digest, room: int) -> str:
    """The digest in Markdown, as many of its items as fit in `room` characters, in order."""
    markdown = Markdown(
        escape=_escape,
        strong="**",
        link=_link,
        item=min(room, ITEM),
        meta=500,
        summary=1200,
        path=400,
    )
    message = trimmed(
        digest, partial(markdown_item, markdown=markdown), _build, lambda m: _fits(m, room)
    )
    return str(message["text"])


def _escape(text: str) -> str:
    text = _MARKUP.sub(r"\\\1", text)
    return _LINE_START.sub(lambda found: f"\\{found[1]}" if found[1] else f"{found[2]}\\.", text)


def _link(url: str, title: str) -> str:
    for char, code in (("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E"), (" ", "%20")):
        url = url.replace(char, code)
    return f"[{title}]({url})"


def _build(digest: Digest, sections: list[Section[str]], left_out: int) -> Message:
    blocks = [_escape(overview(digest)), clipped(participants(digest), 1400, _escape)]
    for section in sections:
        blocks.append(f"## {clipped(heading(section), 300, _escape)}")
        blocks.extend(section.items)
    if left_out:
        blocks.append(more(left_out))
    return {"text": "\n\n".join(block for block in blocks if block)}


def _fits(message: Message, room: int) -> bool:
    return length(message["text"]) <= room
