"""What every format reader makes: a draft of an article, its date and its title."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from worker.text.sentences import first_sentence, sentence_spans

__all__ = [
    "Draft",
    "UnreadableError",
    "dated",
    "language_code",
    "one_line",
    "opening",
    "parse_date",
    "revised",
    "spoken_in",
    "title_of_text",
]

TITLE_LIMIT = 110


@dataclass(frozen=True)
class Draft:
    """An article before it has an id and a path."""

    title: str
    body: str
    date: date | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None
    language: str | None = None
    site: str | None = None
    warnings: tuple[str, ...] = field(default=())


class UnreadableError(Exception):
    """The whole file cannot be read; the message says why."""


def revised(draft: Draft, **changes: Any) -> Draft:
    """The draft with these fields changed."""
    return Draft(**{**draft.__dict__, **changes})


def one_line(text: str) -> str:
    """The text with every run of white space, line breaks too, as one space."""
    return " ".join(text.split())


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


def dated(draft: Draft, value: object, key: str) -> Draft:
    """The draft with the date `value`, or a warning when it is not a date."""
    warning = f"{key} {value!r} is not a date like 2024-05-16; the file's date is used"
    return _given(draft, value, date=parse_date(value), warning=warning)


def _given(draft: Draft, value: object, warning: str, **read: object) -> Draft:
    """The draft with the field `value` was read as, or `warning` when it read as nothing."""
    if value is None:
        return draft
    if None not in read.values():
        return revised(draft, **read)
    return revised(draft, warnings=(*draft.warnings, warning))


# A language tag as pages and files write it: en, en-GB, ru_RU, zh-Hans-CN.
_LANGUAGE_TAG = re.compile(r"([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*", re.IGNORECASE)


def language_code(value: object) -> str | None:
    """The language of a tag such as `en-GB`, `ru_RU` or `de`, as its code: en, ru, de."""
    if not isinstance(value, str):
        return None
    tag = _LANGUAGE_TAG.fullmatch(value.strip())
    return tag.group(1).lower() if tag else None


def spoken_in(draft: Draft, value: object, key: str) -> Draft:
    """The draft in the language `value`, or a warning when it is not a language code."""
    warning = f"{key} {value!r} is not a language code like en or ru; it is left out"
    return _given(draft, value, language=language_code(value), warning=warning)


# --- titles found in text ---------------------------------------------------------------

_BREADCRUMB = re.compile(r"[»›]|\s[>/|]\s|^home\b", re.IGNORECASE)
_SITE_NAME = re.compile(r"(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)


def title_of_text(text: str) -> tuple[str, str, str | None]:
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
    return opening(first), "\n".join(lines[start:]), source


def _reads_as_headline(line: str) -> bool:
    """Short, one sentence, not ending like a sentence of running text."""
    words = line.split()
    return (
        2 <= len(words) <= 25
        and len(line) <= 160
        and line[-1] not in ".,;:"
        and len(sentence_spans(line)) == 1
    )


def opening(paragraph: str) -> str:
    """The first sentence of a paragraph, cut at a word near the title limit."""
    sentence = first_sentence(paragraph)
    if len(sentence) <= TITLE_LIMIT:
        return sentence.rstrip(".")
    cut = sentence[:TITLE_LIMIT].rsplit(" ", 1)[0].rstrip(",;:—–- ")
    return cut + "…"
