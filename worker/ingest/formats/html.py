"""`.html`: the article on a web page, not the page around it.

Its main text, title, author, date, site name and language, as trafilatura finds them:
menus, "Most read" sidebars, comments and footers left out, and the title without the
site's name after it. A page it finds no text in is read by the plain reading below, the
text of the page's `<article>` (or `<main>`, or body) without navigation, scripts and footers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bs4 import BeautifulSoup, Tag

from worker.ingest.formats.decoding import BINARY_SAMPLE, looks_binary
from worker.ingest.formats.draft import (
    Draft,
    UnreadableError,
    dated,
    language_code,
    one_line,
    opening,
    revised,
)
from worker.text.sentences import first_sentence

__all__ = ["read_html"]

_NOT_TEXT = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td")
_DATE_META = ("article:published_time", "date", "dc.date", "pubdate", "og:published_time")
_AUTHOR_META = ("author", "article:author", "dc.creator")
# Where a page says its language besides `<html lang>`.
_LANGUAGE_META = ("content-language", "og:locale", "dc.language", "language")
# What stands between a page's title and its site's name: `Story | The Site`.
_TITLE_SEPARATORS = (" | ", " – ", " — ", " - ", " :: ", " · ", " « ")


def read_html(data: bytes) -> tuple[list[Draft], list[str]]:
    """The article on a web page: its main text, title, author, date, site and language."""
    if looks_binary(data[:BINARY_SAMPLE]):
        raise UnreadableError("binary file")
    draft = _extracted(data) or _read_page(data)
    title = _without_site(draft.title, draft.site)
    return [revised(draft, title=title or opening(first_sentence(draft.body)))], []


# --- the article as trafilatura finds it ----------------------------------------------


def _extracted(data: bytes) -> Draft | None:
    """The article trafilatura finds on the page, or None when it finds no text."""
    # Imported here: its start-up time and memory are paid only once a page is read.
    import trafilatura
    from trafilatura.utils import load_html

    page = load_html(data)
    if page is None:
        return None
    found = trafilatura.bare_extraction(page, with_metadata=True, include_comments=False)
    fields = _fields(found)
    body = _paragraphs_of(fields.get("text"), fields.get("title"))
    if not body:
        return None
    site = _text(fields.get("sitename"))
    draft = Draft(
        title=_text(fields.get("title")) or "",
        body=body,
        source=site,
        url=_text(fields.get("url")),
        author=_text(fields.get("author")),
        language=language_code(_text(fields.get("language")) or _language_of(page)),
        site=site,
    )
    return dated(draft, _text(fields.get("date")), "published date")


def _fields(found: object) -> dict[str, Any]:
    """What trafilatura found, by name (a dict from versions before 2, a Document since)."""
    if found is None:
        return {}
    if isinstance(found, dict):
        return found
    as_dict = getattr(found, "as_dict", None)
    return as_dict() if callable(as_dict) else {}


def _paragraphs_of(text: object, title: object) -> str:
    """Trafilatura's text (a paragraph a line) as paragraphs, without the headline it
    repeats at the top."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    if lines and isinstance(title, str) and one_line(lines[0]) == one_line(title):
        lines = lines[1:]
    return "\n\n".join(lines)


def _language_of(page: Any) -> str | None:
    """The language the page says it is in: `<html lang>`, or a meta tag."""
    said = page.get("lang") or page.get("xml:lang")
    if said:
        return str(said)
    for meta in page.iter("meta"):
        name = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if name in _LANGUAGE_META and meta.get("content"):
            return str(meta.get("content"))
    return None


def _text(value: object) -> str | None:
    return one_line(value) or None if isinstance(value, str) else None


def _without_site(title: str, site: str | None) -> str:
    """The title without the site's name after it: `Story | The Site` is `Story`. Without a
    site name, only a name after `|` is taken off (a dash may be part of the story's title)."""
    for separator in _TITLE_SEPARATORS:
        head, _, tail = title.rpartition(separator)
        if not head.strip():
            continue
        if (site and tail.strip().casefold() == site.casefold()) or (
            site is None and separator == " | "
        ):
            return head.strip()
    return title


# --- the plain reading, for a page trafilatura finds no text in -------------------------


def _read_page(data: bytes) -> Draft:
    """The title and text of the page's `<article>`, `<main>` or body, without navigation,
    scripts and footers."""
    page = BeautifulSoup(data, "html.parser")
    title = _meta(page, "og:title") or _tag_text(page, "title") or _tag_text(page, "h1")
    site = _meta(page, "og:site_name")
    draft = Draft(
        title=title or "",
        body="",
        source=site,
        url=_meta(page, "og:url") or _canonical(page),
        author=next((value for name in _AUTHOR_META if (value := _meta(page, name))), None),
        language=language_code(_page_language(page)),
        site=site,
    )
    for tag in page.find_all(_NOT_TEXT):
        tag.decompose()
    main = page.find("article") or page.find("main") or page.body or page
    body = "\n\n".join(_paragraphs(main)) if isinstance(main, Tag) else ""
    if not body.strip():
        raise UnreadableError("no article text in the page")
    draft = revised(draft, body=body)
    day = next((value for name in _DATE_META if (value := _meta(page, name))), None)
    time = page.find("time", attrs={"datetime": True})
    if day is None and isinstance(time, Tag):
        day = str(time["datetime"])
    return dated(draft, day, "published date")


def _page_language(page: BeautifulSoup) -> str | None:
    root = page.find("html")
    if isinstance(root, Tag) and isinstance(root.get("lang"), str):
        return str(root["lang"])
    return next((value for name in _LANGUAGE_META if (value := _meta(page, name))), None)


def _meta(page: BeautifulSoup, name: str) -> str | None:
    tag = (
        page.find("meta", attrs={"property": name})
        or page.find("meta", attrs={"name": name})
        or page.find("meta", attrs={"http-equiv": name})
    )
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
