"""The Slack incoming-webhook message for a digest: Block Kit, article text in mrkdwn."""

from __future__ import annotations

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

__all__ = ["slack_alert", "slack_message"]

# Block Kit: https://docs.slack.dev/reference/block-kit/blocks
BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 3000
# Slack also refuses a message whose blocks hold too much text in all (msg_blocks_too_long)
# without documenting the figure; reports put it near 12,000 characters
# (https://github.com/slackapi/bolt-js/issues/2509), so stay well below.
TOTAL_TEXT = 10_000


def slack_message(digest: Digest) -> Message:
    """A Slack incoming-webhook message: a header, a context line, sections per rule."""
    return trimmed(digest, partial(markdown_item, markdown=_MRKDWN), _build, _fits)


def slack_alert(alert: Alert) -> Message:
    """A Slack message of an alert about wirewatch itself: its text, nothing more."""
    return {"text": clipped(alert.text, SECTION_TEXT, _escape)}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, title: str) -> str:
    for char, code in (("|", "%7C"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return f"<{_escape(url)}|{title}>"


_MRKDWN = Markdown(
    escape=_escape, strong="*", link=_link, item=SECTION_TEXT, meta=500, summary=1200, path=400
)


def _text(text: str) -> dict[str, Any]:
    # verbatim: Slack leaves the text as written (no automatic links or @-mentions)
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _build(digest: Digest, sections: list[Section[str]], left_out: int) -> Message:
    title = headline(digest)
    context = [_text(clipped(overview(digest), 1000, _escape))]
    if found := participants(digest):
        context.append(_text(clipped(found, 1000, _escape)))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clipped(title, HEADER_TEXT)}},
        {"type": "context", "elements": context},
    ]
    for section in sections:
        rule = f"*{clipped(heading(section), 300, _escape)}*"
        texts = packed([rule, *section.items], SECTION_TEXT)
        blocks += [{"type": "section", "text": _text(text)} for text in texts]
    if left_out:
        blocks.append({"type": "context", "elements": [_text(more(left_out, digest))]})
    return {
        "text": _escape(title),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _texts(message: Message) -> list[str]:
    texts = [message["text"]]
    for block in message["blocks"]:
        texts += [element["text"] for element in block.get("elements", [])]
        if "text" in block:
            texts.append(block["text"]["text"])
    return texts


def _fits(message: Message) -> bool:
    """Whether Slack takes the message: each block within its limits, and all of them together."""
    blocks = message["blocks"]
    return (
        len(blocks) <= BLOCKS
        and all(_block_fits(block) for block in blocks)
        and sum(length(text) for text in _texts(message)) <= TOTAL_TEXT
    )


def _block_fits(block: dict[str, Any]) -> bool:
    if block["type"] == "header":
        return length(block["text"]["text"]) <= HEADER_TEXT
    if block["type"] == "context":
        elements = block["elements"]
        return len(elements) <= CONTEXT_ELEMENTS and all(
            length(element["text"]) <= CONTEXT_TEXT for element in elements
        )
    return length(block["text"]["text"]) <= SECTION_TEXT
