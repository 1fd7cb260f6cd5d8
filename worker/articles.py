"""Turn the bytes of one file into articles: pure functions, one per file format.

`parse_file` never raises for what is in a file: what cannot be read comes back as a
problem, in words a user can act on, beside whatever articles could be read.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

import yaml
from bs4 import BeautifulSoup, Tag
from charset_normalizer import from_bytes

from worker.sentences import first_sentence, sentence_spans

__all__ = ["SUFFIXES", "Article", "Parsed", "is_web_address", "parse_date", "parse_file"]


@dataclass(frozen=True)
class Article:
    """One news article: its text, and where and when it comes from."""

    id: str
    title: str
    body: str
    date: date
    path: str
    source: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Parsed:
    """What a file held: the articles read, and why any part of it could not be read."""

    articles: tuple[Article, ...] = ()
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Draft:
    """An article before it has an id and a path."""

    title: str
    body: str
    date: date | None = None
    source: str | None = None
    url: str | None = None
    warnings: tuple[str, ...] = field(default=())


class _UnreadableError(Exception):
    """The whole file cannot be read; the message says why."""


_TITLE_LIMIT = 110
_BINARY_SAMPLE = 8192


def parse_file(path: str, data: bytes, modified: date) -> Parsed:
    """The articles in a file; `modified` dates those that carry no date of their own."""
    reader = _READERS.get(PurePath(path).suffix.lower(), _read_txt)
    try:
        if not data.strip():
            raise _UnreadableError("empty file")
        drafts, problems = reader(data)
    except _UnreadableError as error:
        return Parsed(problems=(str(error),))
    fallback = PurePath(path).stem
    drafts = [_linked(draft) for draft in drafts]
    articles = tuple(_finish(draft, path, modified, fallback) for draft in drafts)
    if not articles and not problems:
        problems = ["no article text in the file"]
    warnings = tuple(warning for draft in drafts for warning in draft.warnings)
    return Parsed(articles, tuple(problems), warnings)


def _finish(draft: _Draft, path: str, modified: date, fallback_title: str) -> Article:
    # Composed (NFC): an accent written as a mark of its own after its letter (as macOS
    # writes file text) would otherwise split `Lavróv` in two words.
    title = unicodedata.normalize("NFC", _one_line(draft.title) or fallback_title)
    body = unicodedata.normalize("NFC", draft.body.strip())
    return Article(
        id=_content_id(title, body),
        title=title,
        body=body,
        date=draft.date or modified,
        path=path,
        source=draft.source,
        url=draft.url,
    )


def _content_id(title: str, body: str) -> str:
    """The same text is the same article, whatever the file is called or how it is spaced."""
    text = unicodedata.normalize("NFC", f"{_one_line(title)}\n{' '.join(body.split())}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- bytes to text ---------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes) -> str:
    """The text of a file: UTF-8, a byte-order mark, or a detected encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_after_bom(data, bom, encoding)
    if _looks_binary(data[:_BINARY_SAMPLE]):
        raise _UnreadableError("binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise _UnreadableError("unknown text encoding; save the file as UTF-8")
    return str(best)


def _decode_after_bom(data: bytes, bom: bytes, encoding: str) -> str:
    try:
        return data[len(bom) :].decode(encoding)
    except UnicodeDecodeError as error:
        at = len(bom) + error.start
        message = f"not valid {encoding.upper()} at byte {at}; save the file as UTF-8"
        raise _UnreadableError(message) from None


def _looks_binary(sample: bytes) -> bool:
    """NUL bytes, or many control characters, are not in any text a person wrote."""
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r\f\v\x1b")
    return controls > max(2, len(sample) // 100)


# --- dates -----------------------------------------------------------------------------


def parse_date(value: object) -> date | None:
    """A date from YAML or JSON: `2024-05-16`, an ISO 8601 time, or an RFC 2822 time."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def _dated(draft: _Draft, value: object, key: str) -> _Draft:
    """The draft with the date `value`, or a warning when it is not a date."""
    if value is None:
        return draft
    parsed = parse_date(value)
    if parsed is not None:
        return _replace(draft, date=parsed)
    warning = f"{key} {value!r} is not a date like 2024-05-16; the file's date is used"
    return _replace(draft, warnings=(*draft.warnings, warning))


def is_web_address(url: str) -> bool:
    """Whether `url` is a page a reader can open: http or https, with a host."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _linked(draft: _Draft) -> _Draft:
    """The draft with its link only when it is a web address: a `javascript:` or `file:`
    link must not become something a reader clicks in a digest."""
    if draft.url is None or is_web_address(draft.url):
        return draft
    shown = draft.url if len(draft.url) <= 60 else draft.url[:60] + "…"
    warning = f"url {shown!r} is not an http or https address; the article is kept without it"
    return _replace(draft, url=None, warnings=(*draft.warnings, warning))


def _replace(draft: _Draft, **changes: Any) -> _Draft:
    return _Draft(**{**draft.__dict__, **changes})


# --- .txt ------------------------------------------------------------------------------

_DATE_HEADER = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})[ \t]*")
_BREADCRUMB = re.compile(r"[»›]|\s[>/|]\s|^home\b", re.IGNORECASE)
_SITE_NAME = re.compile(r"(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)


def _read_txt(data: bytes) -> tuple[list[_Draft], list[str]]:
    """Text with an optional ` date YYYY-MM-DD` first line; the title is found in the text."""
    text = decode(data)
    header = _DATE_HEADER.match(text)
    if header:
        text = text[header.end() :]
    if not text.strip():
        raise _UnreadableError("no article text after the date line")
    title, body, source = _title_of_text(text)
    draft = _Draft(title=title, body=body, source=source)
    return [_dated(draft, header.group(1) if header else None, "date")], []


def _title_of_text(text: str) -> tuple[str, str, str | None]:
    """The headline (or opening words), the body, and a site name found above the headline."""
    lines = text.splitlines()
    source: str | None = None
    start = 0
    while start < len(lines):
        line = lines[start].strip()
        if line and _SITE_NAME.fullmatch(line) and source is None:
            source = line
        elif line and not _BREADCRUMB.search(line):
            break
        start += 1
    first = lines[start].strip() if start < len(lines) else ""
    if _reads_as_headline(first):
        return first, "\n".join(lines[start + 1 :]), source
    return _opening(first), "\n".join(lines[start:]), source


def _reads_as_headline(line: str) -> bool:
    """Short, one sentence, not ending like a sentence of running text."""
    words = line.split()
    return (
        2 <= len(words) <= 25
        and len(line) <= 160
        and line[-1] not in ".,;:"
        and len(sentence_spans(line)) == 1
    )


def _opening(paragraph: str) -> str:
    """The first sentence of a paragraph, cut at a word near the title limit."""
    sentence = first_sentence(paragraph)
    if len(sentence) <= _TITLE_LIMIT:
        return sentence.rstrip(".")
    cut = sentence[:_TITLE_LIMIT].rsplit(" ", 1)[0].rstrip(",;:—–- ")
    return cut + "…"


# --- .md -------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)
_MD_FIELDS = ("title", "date", "url", "source")


def _read_md(data: bytes) -> tuple[list[_Draft], list[str]]:
    """Markdown with optional YAML front matter; else the first `# heading` is the title."""
    text = decode(data)
    meta: dict[str, Any] = {}
    front = _FRONT_MATTER.match(text)
    if front:
        meta = _front_matter(front.group(1))
        text = text[front.end() :]
    heading = _HEADING.search(text)
    if meta.get("title"):
        title, body = str(meta["title"]), text
    elif heading and not text[: heading.start()].strip():
        title, body = heading.group(1), text[heading.end() :]
    else:
        title, body, _ = _title_of_text(text)
    draft = _Draft(title=title, body=body, source=_text_or_none(meta.get("source")))
    draft = _replace(draft, url=_text_or_none(meta.get("url")))
    return [_dated(draft, meta.get("date"), "date")], []


def _front_matter(text: str) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise _UnreadableError(f"front matter is not valid YAML{where}; fix it") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise _UnreadableError("front matter must be keys and values, like 'title: ...'")
    return {key: value for key, value in meta.items() if key in _MD_FIELDS}


def _text_or_none(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None


# --- .json and .jsonl ------------------------------------------------------------------

_BODY_KEYS = ("body", "text", "content")
_DATE_KEYS = ("date", "published")


def _read_json(data: bytes) -> tuple[list[_Draft], list[str]]:
    """One JSON object with a title, a body (or text, content), a date and so on."""
    try:
        value = json.loads(decode(data))
    except json.JSONDecodeError as error:
        raise _UnreadableError(_bad_json(error)) from None
    return [_from_object(value)], []


def _read_jsonl(data: bytes) -> tuple[list[_Draft], list[str]]:
    """One JSON object a line; a bad line is reported and the others are read."""
    drafts: list[_Draft] = []
    problems: list[str] = []
    for number, line in enumerate(decode(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            drafts.append(_from_object(json.loads(line)))
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: {_bad_json(error)}")
        except _UnreadableError as error:
            problems.append(f"line {number}: {error}")
    return drafts, problems


def _bad_json(error: json.JSONDecodeError) -> str:
    return f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"


def _from_object(value: object) -> _Draft:
    if not isinstance(value, dict):
        raise _UnreadableError("must be a JSON object with a title and a body")
    body = _first_text(value, _BODY_KEYS)
    if body is None:
        raise _UnreadableError("no article text; give one of the keys body, text or content")
    draft = _Draft(
        title=_first_text(value, ("title",)) or "",
        body=body,
        source=_first_text(value, ("source",)),
        url=_first_text(value, ("url",)),
    )
    if not draft.title:
        title, body, _ = _title_of_text(body)
        draft = _replace(draft, title=title)
    key = next((key for key in _DATE_KEYS if value.get(key) is not None), "date")
    return _dated(draft, value.get(key), key)


def _first_text(value: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        found = value.get(key)
        if isinstance(found, str) and found.strip():
            return found
    return None


# --- .html -----------------------------------------------------------------------------

_NOT_TEXT = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td")
_DATE_META = ("article:published_time", "date", "dc.date", "pubdate", "og:published_time")


def _read_html(data: bytes) -> tuple[list[_Draft], list[str]]:
    """The title and main text of a web page, without navigation, scripts and footers."""
    if _looks_binary(data[:_BINARY_SAMPLE]):
        raise _UnreadableError("binary file")
    page = BeautifulSoup(data, "html.parser")
    title = _meta(page, "og:title") or _tag_text(page, "title") or _tag_text(page, "h1")
    draft = _Draft(
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
        raise _UnreadableError("no article text in the page")
    draft = _replace(draft, body=body, title=draft.title or _opening(first_sentence(body)))
    day = next((value for name in _DATE_META if (value := _meta(page, name))), None)
    time = page.find("time", attrs={"datetime": True})
    if day is None and isinstance(time, Tag):
        day = str(time["datetime"])
    return [_dated(draft, day, "published date")], []


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
    return _one_line(tag.get_text(" ")) or None if isinstance(tag, Tag) else None


def _paragraphs(main: Tag) -> Iterator[str]:
    blocks = main.find_all(_BLOCKS)
    if not blocks:
        yield _one_line(main.get_text(" "))
        return
    for block in blocks:
        if block.find(_BLOCKS):
            continue  # the inner blocks give its text
        text = _one_line(block.get_text(" "))
        if text:
            yield text


Reader = Callable[[bytes], tuple[list[_Draft], list[str]]]

_READERS: dict[str, Reader] = {
    ".txt": _read_txt,
    ".md": _read_md,
    ".markdown": _read_md,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
    ".html": _read_html,
    ".htm": _read_html,
}

SUFFIXES = frozenset(_READERS)
