"""A feed's bytes to its entries: RSS 0.9x, 1.0 and 2.0 and Atom (feedparser), JSON Feed 1.1.

Pure: what cannot be read is said (`NotAFeedError`), and a feed that is broken part way keeps
the entries read before the fault (`Feed.problem` says what was wrong).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from time import struct_time
from typing import Any

__all__ = ["Entry", "FeedDocument", "NotAFeedError", "read_feed"]

# A document that declares entities could expand a few bytes into gigabytes ("billion
# laughs"), or read local files (external entities): no feed needs them.
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
# Where the prolog ends (and with it the only place entities can be declared): the root.
_ROOT = re.compile(rb"<[A-Za-z_]")
_HTML = re.compile(rb"<(!doctype html|html[\s>])", re.IGNORECASE)
_JSON_FEED = "https://jsonfeed.org/version/"


class NotAFeedError(Exception):
    """The bytes are no feed wirewatch can read; the message says what they are."""


@dataclass(frozen=True)
class Entry:
    """One entry of a feed, as the publisher wrote it."""

    key: str  # its identity in the feed: its id (guid), else its link, else its content
    title: str
    link: str | None
    published: datetime | None
    author: str | None
    summary: str  # HTML or text, as given

    @property
    def fingerprint(self) -> str:
        """What the entry says: an entry edited in place has another fingerprint."""
        said = f"{self.title}\n{self.link or ''}\n{self.author or ''}\n{self.summary}"
        return hashlib.sha256(said.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class FeedDocument:
    """A feed as read: its title, its entries, and what was wrong with it, if anything."""

    title: str | None
    entries: tuple[Entry, ...]
    problem: str | None = None


def read_feed(data: bytes, content_type: str = "") -> FeedDocument:
    """The entries of a feed; NotAFeedError when the bytes are none (an HTML page, say)."""
    if not data.strip():
        raise NotAFeedError("the feed is empty")
    if _declares_entities(data):
        raise NotAFeedError("the feed declares XML entities, which are refused (a feed needs none)")
    if "json" in content_type.lower() or data.lstrip()[:1] == b"{":
        return _json_feed(data)
    return _xml_feed(data)


def _declares_entities(data: bytes) -> bool:
    """Whether the document's prolog declares entities; an article about XML may well
    quote `<!ENTITY` in its text, which is no declaration."""
    root = _ROOT.search(data)
    return bool(_ENTITY.search(data if root is None else data[: root.start()]))


# --- RSS and Atom -------------------------------------------------------------------------


def _xml_feed(data: bytes) -> FeedDocument:
    # Imported here: its start-up time is paid only when a feed is read.
    import feedparser

    parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=True)
    entries = tuple(_xml_entry(entry) for entry in parsed.entries)
    if not parsed.version and not entries:
        if _HTML.search(data[:2048]):
            raise NotAFeedError(
                "an HTML page, not a feed; give the address of its RSS or Atom feed"
            )
        raise NotAFeedError(f"not an RSS, Atom or JSON feed ({_fault(parsed)})")
    problem = (
        f"malformed XML ({_fault(parsed)}); the entries before it are kept"
        if (parsed.get("bozo") and not _harmless(parsed))
        else None
    )
    title = parsed.feed.get("title") or None
    return FeedDocument(title, entries, problem)


def _fault(parsed: Mapping[str, Any]) -> str:
    fault = parsed.get("bozo_exception")
    return " ".join(str(fault).split()) or type(fault).__name__ if fault else "no entries"


def _harmless(parsed: Mapping[str, Any]) -> bool:
    """A feed whose only fault is that its declared encoding differs from the one sent."""
    name = type(parsed.get("bozo_exception")).__name__
    return name in ("CharacterEncodingOverride", "NonXMLContentType")


def _xml_entry(entry: Mapping[str, Any]) -> Entry:
    title = _text(entry.get("title"))
    link = _text(entry.get("link"))
    summary = _xml_summary(entry)
    moment = entry.get("published_parsed") or entry.get("updated_parsed")
    return Entry(
        key=_key(_text(entry.get("id")), link, title, summary),
        title=title,
        link=link or None,
        published=_from_struct(moment),
        author=_text(entry.get("author")) or None,
        summary=summary,
    )


def _xml_summary(entry: Mapping[str, Any]) -> str:
    """The longest text the entry gives: its content (Atom, content:encoded) or summary."""
    contents = [_text(part.get("value")) for part in entry.get("content") or []]
    return max([*contents, _text(entry.get("summary"))], key=len)


def _from_struct(moment: object) -> datetime | None:
    if not isinstance(moment, struct_time):
        return None
    try:
        return datetime(*moment[:6], tzinfo=UTC)
    except ValueError:
        return None


# --- JSON Feed ----------------------------------------------------------------------------


def _json_feed(data: bytes) -> FeedDocument:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise NotAFeedError(f"not valid JSON: {error}") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
        _JSON_FEED
    ):
        raise NotAFeedError(f"JSON, but not a JSON Feed (no version {_JSON_FEED}…)")
    items = document.get("items")
    if not isinstance(items, list):
        raise NotAFeedError("a JSON Feed without items")
    entries = tuple(_json_entry(item) for item in items if isinstance(item, dict))
    skipped = len(items) - len(entries)
    problem = f"{skipped} items are not objects and were skipped" if skipped else None
    return FeedDocument(_text(document.get("title")) or None, entries, problem)


def _json_entry(item: Mapping[str, Any]) -> Entry:
    title = _text(item.get("title"))
    link = _text(item.get("url")) or _text(item.get("external_url"))
    summary = _text(item.get("content_html")) or _text(item.get("content_text"))
    summary = summary or _text(item.get("summary"))
    return Entry(
        key=_key(_text(item.get("id")), link, title, summary),
        title=title,
        link=link or None,
        published=_from_iso(item.get("date_published") or item.get("date_modified")),
        author=_json_author(item),
        summary=summary,
    )


def _json_author(item: Mapping[str, Any]) -> str | None:
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item.get("author")]  # JSON Feed 1.0
    names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
    return ", ".join(name for name in names if name) or None


def _from_iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- shared -------------------------------------------------------------------------------


def _key(given: str, link: str, title: str, summary: str) -> str:
    """The entry's identity: its id, else its link, else a hash of what it says."""
    if given.strip():
        return f"id:{given.strip()}"
    if link.strip():
        return f"link:{link.strip()}"
    said = unicodedata.normalize("NFC", f"{' '.join(title.split())}\n{' '.join(summary.split())}")
    return "content:" + hashlib.sha256(said.encode("utf-8")).hexdigest()[:16]


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
