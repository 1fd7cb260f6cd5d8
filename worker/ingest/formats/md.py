"""`.md`: Markdown with optional YAML front matter; else the first `# heading` is the title."""

from __future__ import annotations

import re
from typing import Any

import yaml

from worker.ingest.formats.decoding import decode
from worker.ingest.formats.draft import (
    Draft,
    UnreadableError,
    dated,
    revised,
    spoken_in,
    title_of_text,
)

__all__ = ["read_md"]

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)
_MD_FIELDS = ("title", "date", "url", "source", "author", "site", "language", "lang")


def read_md(data: bytes) -> tuple[list[Draft], list[str]]:
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
        title, body, _ = title_of_text(text)
    draft = Draft(title=title, body=body, source=_text_or_none(meta.get("source")))
    draft = revised(
        draft,
        url=_text_or_none(meta.get("url")),
        author=_text_or_none(meta.get("author")),
        site=_text_or_none(meta.get("site")),
    )
    key = "language" if meta.get("language") is not None else "lang"
    draft = spoken_in(draft, meta.get(key), key)
    return [dated(draft, meta.get("date"), "date")], []


def _front_matter(text: str) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise UnreadableError(f"front matter is not valid YAML{where}; fix it") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise UnreadableError("front matter must be keys and values, like 'title: ...'")
    return {key: value for key, value in meta.items() if key in _MD_FIELDS}


def _text_or_none(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None
