"""The Teams webhook message for a digest: an Adaptive Card, article text as written."""

from __future__ import annotations

from typing import Any

from worker.model import Alert, Digest, DigestItem
from worker.notify.messages.shared import (
    Message,
    Section,
    also_of,
    clipped,
    encode,
    heading,
    headline,
    length,
    meta,
    more,
    overview,
    participants,
    path_of,
    runs,
    summary_of,
    title_of,
    trimmed,
    web_url,
)

__all__ = ["teams_alert", "teams_message"]

# Teams refuses a message over about 28 KB, counted on what it stores, not on what we post
# (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook);
# the margin leaves room for that.
BYTES = 24_000
# Teams documents no limit on a link, only on the card. A longer link is left out, our choice,
# so that one article's link cannot take the room of several articles.
LINK = 2000


def teams_message(digest: Digest) -> Message:
    """An Adaptive Card in the message envelope that Teams webhooks and Workflows accept."""
    return trimmed(digest, _item, _build, _fits)


def teams_alert(alert: Alert) -> Message:
    """An Adaptive Card of an alert about wirewatch itself: its lines, the first in bold."""
    first, *rest = alert.text.splitlines()
    body = [_text_block([_run(clipped(first, 1000), weight="Bolder")])]
    body += [_text_block([_run(clipped(line, 1000))], spacing="None") for line in rest]
    return _envelope(body, alert.subject)


def _text_block(inlines: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    # RichTextBlock, not TextBlock: its text runs are never read as Markdown, so article
    # text needs no escaping and cannot restyle the card.
    return {"type": "RichTextBlock", "inlines": inlines, **settings}


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _item(item: DigestItem) -> dict[str, Any]:
    url = web_url(item)
    if url and length(url) > LINK:
        url = None  # the article is shown with its path instead, as one without a link
    title = _run(clipped(title_of(item), 300), weight="Bolder")
    summary = [
        _run(text, weight="Bolder") if bold else _run(text)
        for text, bold in runs(clipped(summary_of(item), 1000), item.highlights)
    ]
    details = _run(clipped(meta(item), 500), isSubtle=True, size="Small")
    blocks = [
        _text_block([{**title, "color": "Accent"} if url else title]),
        _text_block([details], spacing="None"),
    ]
    if summary:
        blocks.append(_text_block(summary, spacing="Small"))
    if also := also_of(item):
        blocks.append(_text_block([_run(clipped(also, 1000), size="Small")], spacing="Small"))
    if not url and path_of(item):
        path = _run(clipped(path_of(item), 400), isSubtle=True, size="Small")
        blocks.append(_text_block([path], spacing="None"))
    container: dict[str, Any] = {"type": "Container", "spacing": "Medium", "items": blocks}
    if url:
        container["selectAction"] = {"type": "Action.OpenUrl", "url": url, "title": "Open"}
    return container


def _build(digest: Digest, sections: list[Section[dict[str, Any]]], left_out: int) -> Message:
    body: list[dict[str, Any]] = [
        _text_block([_run(clipped(headline(digest), 300), weight="Bolder", size="Medium")]),
        _text_block([_run(clipped(overview(digest), 500), isSubtle=True)], spacing="None"),
    ]
    if found := participants(digest):
        body.append(_text_block([_run(clipped(found, 1000), isSubtle=True)]))
    for section in sections:
        rule = _run(clipped(heading(section), 300), weight="Bolder", size="Medium")
        body.append(_text_block([rule], separator=True, spacing="Large"))
        body += section.items
    if left_out:
        body.append(_text_block([_run(more(left_out, digest), italic=True)], spacing="Large"))
    return _envelope(body, headline(digest))


def _envelope(body: list[dict[str, Any]], fallback: str) -> Message:
    """The card of `body` in the message envelope that Teams webhooks and Workflows accept."""
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "fallbackText": fallback,
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


def _fits(message: Message) -> bool:
    return len(encode(message)) <= BYTES
