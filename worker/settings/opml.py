"""`feeds_from:` an OPML subscription list, as feed readers export it: each outline with
an `xmlUrl` is a feed, named by its `title` (or `text`)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["read_opml"]

# No subscription list needs a document type, whose entities could expand without end.
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def read_opml(path: Path) -> list[tuple[str, str | None]]:
    """The feeds an OPML file lists, as (address, name); ValueError says what is wrong."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"'{path}' cannot be read: {error.strerror or error}") from None
    if _DOCTYPE.search(data):
        raise ValueError(f"'{path}' declares a document type; an OPML file needs none")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise ValueError(f"'{path}' is not OPML: {error}") from None
    feeds = [
        (url.strip(), outline.get("title") or outline.get("text") or None)
        for outline in root.iter("outline")
        if (url := outline.get("xmlUrl") or outline.get("xmlurl"))
    ]
    for url, _ in feeds:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"'{path}': '{url}' is not an http or https address")
    if not feeds:
        raise ValueError(f"'{path}' lists no feed (no outline with an xmlUrl)")
    return feeds
