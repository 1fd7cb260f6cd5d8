"""Turn raw bytes into articles: pure functions, one module per file format.

`parse` (what a source found) and `parse_file` (a file's bytes, as `wirewatch match` reads
them) never raise for what is in the bytes: what cannot be read comes back as a problem,
in words a user can act on, beside whatever articles could be read.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import PurePath

from worker.ingest.formats.draft import Draft, UnreadableError, one_line, parse_date, revised
from worker.ingest.formats.json import read_json, read_jsonl
from worker.ingest.formats.md import read_md
from worker.ingest.formats.txt import read_txt
from worker.ingest.identity import content_id
from worker.model import Article, RawArticle, is_web_address

__all__ = ["READERS", "SUFFIXES", "Parsed", "parse", "parse_date", "parse_file"]


@dataclass(frozen=True)
class Parsed:
    """What a file held: the articles read, and why any part of it could not be read."""

    articles: tuple[Article, ...] = ()
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


Reader = Callable[[bytes], tuple[list[Draft], list[str]]]


# The web page readers are imported at the first page read: BeautifulSoup, lxml and the
# extractor weigh more than the rest of the daemon, which one reading text never needs.
def read_html(data: bytes) -> tuple[list[Draft], list[str]]:
    """A web page's article (see `formats.html`)."""
    from worker.ingest.formats.html import read_html as read

    return read(data)


def read_entry(data: bytes) -> tuple[list[Draft], list[str]]:
    """A feed entry's article (see `formats.entry`)."""
    from worker.ingest.formats.entry import read_entry as read

    return read(data)


# Each format by the endings of its files; anything else is read as text.
READERS: dict[str, Reader] = {
    ".txt": read_txt,
    ".md": read_md,
    ".markdown": read_md,
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".html": read_html,
    ".htm": read_html,
}

# What a source other than the folders hands out; never read from a file of that ending.
_SOURCE_READERS: dict[str, Reader] = {".entry": read_entry}

SUFFIXES = frozenset(READERS)


def parse(raw: RawArticle, modified: date) -> Parsed:
    """The articles in what a source found; `modified` dates those without a date of their own."""
    parsed = _parse(raw.format, raw.data, modified, raw.uri, raw.path)
    if raw.identity is None or len(parsed.articles) != 1:
        return parsed
    return replace(parsed, articles=(replace(parsed.articles[0], id=raw.identity),))


def parse_file(path: str, data: bytes, modified: date) -> Parsed:
    """The articles in a file's bytes; `modified` dates those without a date of their own."""
    suffix = PurePath(path).suffix.lower()
    form = suffix if suffix in READERS else ".txt"
    return _parse(form, data, modified, path, path)


def _parse(form: str, data: bytes, modified: date, name: str, path: str | None) -> Parsed:
    """The articles in `data`, read as `form`; an article without a title is titled after
    the file or address `name` (its stem)."""
    reader = READERS.get(form) or _SOURCE_READERS.get(form, read_txt)
    try:
        if not data.strip():
            raise UnreadableError("empty file")
        drafts, problems = reader(data)
    except UnreadableError as error:
        return Parsed(problems=(str(error),))
    drafts = [_linked(draft) for draft in drafts]
    articles = tuple(_finish(draft, path, modified, name) for draft in drafts)
    if not articles and not problems:
        problems = ["no article text in the file"]
    warnings = tuple(warning for draft in drafts for warning in draft.warnings)
    return Parsed(articles, tuple(problems), warnings)


def _finish(draft: Draft, path: str | None, modified: date, name: str) -> Article:
    # Composed (NFC): an accent written as a mark of its own after its letter (as macOS
    # writes file text) would otherwise split `Lavróv` in two words.
    title = unicodedata.normalize("NFC", one_line(draft.title) or PurePath(name).stem)
    body = unicodedata.normalize("NFC", draft.body.strip())
    return Article(
        id=content_id(title, body),
        title=title,
        body=body,
        date=draft.date or modified,
        path=path,
        source=draft.source,
        url=draft.url,
        author=draft.author,
        language=draft.language,
        site=draft.site,
    )


def _linked(draft: Draft) -> Draft:
    """The draft with its link only when it is a web address: a `javascript:` or `file:`
    link must not become something a reader clicks in a digest."""
    if draft.url is None or is_web_address(draft.url):
        return draft
    shown = draft.url if len(draft.url) <= 60 else draft.url[:60] + "…"
    warning = f"url {shown!r} is not an http or https address; the article is kept without it"
    return revised(draft, url=None, warnings=(*draft.warnings, warning))
