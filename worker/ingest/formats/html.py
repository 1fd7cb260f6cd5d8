"""`.html`: the title and main text of a web page, without navigation, scripts and footers."""

from __future__ import annotations

from collections.abc import Iterator

from bs4 import BeautifulSoup, Tag

from worker.ingest.formats.decoding import BINARY_SAMPLE, looks_binary
from worker.ingest.formats.draft import (
    Draft,
    UnreadableError,
    dated,
    one_line,
    opening,
    revised,
)
from worker.text.sentences import first_sentence

__all__ = ["read_html"]

_NOT_TEXT = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td")
_DATE_META = ("article:published_time", "date", "dc.date", "pubdate", "og:published_time")


def read_html(data: bytes) -> tuple[list[Draft], list[str]]:
    """The title and main text of a web page, without navigation, scripts and footers."""
    if looks_binary(data[:BINARY_SAMPLE]):
        raise UnreadableError("binary file")
    page = BeautifulSoup(data, "html.parser")
    title = _meta(page, "og:title") or _tag_text(page, "title") or _tag_text(page, "h1")
    draft = Draft(
        title=title or "",
        body="",
        source=_meta(page, "og:site_name"),
        url=_meta(page, "og:url") or _canonical(page),
    )
    for tag in page.find_all(_NOT_TEXT):
        tag.decompose()
    main = page.find("article") or page.find("main") or page.body or page
    body = "\n\n".join(_paragraphs(main)) if isinstance(main, Tag) else ""
    if not body.strip():
        raise UnreadableError("no article text in the page")
    draft = revised(draft, body=body, title=draft.title or opening(first_sentence(body)))
    day = next((value for name in _DATE_META if (value := _meta(page, name))), None)
    time = page.find("time", attrs={"datetime": True})
    if day is None and isinstance(time, Tag):
        day = str(time["datetime"])
    return [dated(draft, day, "published date")], []


def _meta(page: BeautifulSoup, name: str) -> str | None:
    tag = page.find("meta", attrs={"property": name}) or page.find("meta", attrs={"name": name})
    if isinstance(tag, Tag) and isinstance(tag.get("content"), str):
        return str(tag["content"]).strip() or None
    return None


def _canonical(page: BeautifulSoup) -> str | None:
    tag = page.find("link", rel="canonical", href=True)
    return str(tag["href"]) if isinstance(tag, Tag) else None


def _tag_text(page: BeautifulSoup, name: str) -> str | None:
    tag = page.find(name)
    return one_line(tag.get_text(" ")) or None if isinstance(tag, Tag) else None


def _paragraphs(main: Tag) -> Iterator[str]:
    blocks = main.find_all(_BLOCKS)
    if not blocks:
        yield one_line(main.get_text(" "))
        return
    for block in blocks:
        if block.find(_BLOCKS):
            continue  # the inner blocks give its text
        text = one_line(block.get_text(" "))
        if text:
            yield text
