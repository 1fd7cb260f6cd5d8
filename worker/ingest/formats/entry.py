"""`.entry`: one entry of a feed, as the feed source hands it out.

A JSON object: the entry's title, summary (HTML or text), link, date, author and feed
name, and with `fetch: full` the page it links to (`page`, base64). The page's main text
is read as an `.html` article is; a page with no text in it leaves the summary.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from bs4 import BeautifulSoup

from worker.ingest.formats.draft import Draft, UnreadableError, dated, revised
from worker.ingest.formats.html import read_html

__all__ = ["read_entry", "text_of_html"]

_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr")


def read_entry(data: bytes) -> tuple[list[Draft], list[str]]:
    """The article of a feed's entry: its page's main text, else its summary as text."""
    try:
        entry = json.loads(data)
    except ValueError as error:
        raise UnreadableError(f"not a feed entry: {error}") from None
    if not isinstance(entry, dict):
        raise UnreadableError("not a feed entry")
    summary = text_of_html(_text(entry, "summary"))
    title = _text(entry, "title")
    draft = Draft(
        title=title or summary[:80],
        body=summary or title,
        source=_text(entry, "source") or None,
        url=_text(entry, "url") or None,
        author=_text(entry, "author") or None,
    )
    page = _page_of(entry)
    if page is not None and page.body.strip():
        draft = revised(
            draft,
            title=title or page.title,
            body=page.body,
            author=draft.author or page.author,
            language=page.language,
            site=page.site,
        )
    return [dated(draft, entry.get("date"), "date")], []


def _page_of(entry: dict[str, Any]) -> Draft | None:
    """The article on the page the entry links to, if it came with the entry and reads."""
    page = entry.get("page")
    if not isinstance(page, str):
        return None
    try:
        drafts, _ = read_html(base64.b64decode(page, validate=True))
    except (binascii.Error, UnreadableError):
        return None
    return drafts[0] if drafts else None


def text_of_html(markup: str) -> str:
    """The text of a piece of HTML (a feed's summary), a paragraph a block."""
    if "<" not in markup:
        return markup.strip()
    soup = BeautifulSoup(markup, "html.parser")
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n\n")
    paragraphs = (" ".join(part.split()) for part in soup.get_text().split("\n\n"))
    return "\n\n".join(part for part in paragraphs if part)


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return value.strip() if isinstance(value, str) else ""
