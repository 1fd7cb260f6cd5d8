"""`.json`: one article as an object; `.jsonl`: one a line, a bad line reported alone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from worker.ingest.formats.decoding import decode
from worker.ingest.formats.draft import (
    Draft,
    UnreadableError,
    dated,
    revised,
    spoken_in,
    title_of_text,
)

__all__ = ["read_json", "read_jsonl"]

_BODY_KEYS = ("body", "text", "content")
_DATE_KEYS = ("date", "published")
_LANGUAGE_KEYS = ("language", "lang")


def read_json(data: bytes) -> tuple[list[Draft], list[str]]:
    """One JSON object with a title, a body (or text, content), a date and so on."""
    return [_from_object(_loaded(decode(data)))], []


def read_jsonl(data: bytes) -> tuple[list[Draft], list[str]]:
    """One JSON object a line; a bad line is reported and the others are read."""
    drafts: list[Draft] = []
    problems: list[str] = []
    # Lines end at "\n" only: JSON strings may hold U+2028, U+2029 and U+0085 as they are,
    # which `splitlines()` would take for line ends.
    for number, line in enumerate(decode(data).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            drafts.append(_from_object(_loaded(line.removesuffix("\r"))))
        except UnreadableError as error:
            problems.append(f"line {number}: {error}")
    return drafts, problems


def _loaded(text: str) -> object:
    """The JSON value of `text`, or an UnreadableError saying why not."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        # json's own messages may end in "at" ("Unterminated string starting at").
        where = f"line {error.lineno} column {error.colno}"
        raise UnreadableError(
            f"not valid JSON: {error.msg.removesuffix(' at')} at {where}"
        ) from None
    except RecursionError:  # json recurses once per level of nesting
        raise UnreadableError("JSON nested too deeply; an article is one object of texts") from None


def _from_object(value: object) -> Draft:
    if not isinstance(value, dict):
        raise UnreadableError("must be a JSON object with a title and a body")
    body = _first_text(value, _BODY_KEYS)
    if body is None:
        raise UnreadableError("no article text; give one of the keys body, text or content")
    draft = Draft(
        title=_first_text(value, ("title",)) or "",
        body=body,
        source=_first_text(value, ("source",)),
        url=_first_text(value, ("url",)),
        author=_first_text(value, ("author",)),
        site=_first_text(value, ("site",)),
    )
    if not draft.title:
        title, body, _ = title_of_text(body)
        draft = revised(draft, title=title)
    key = next((key for key in _LANGUAGE_KEYS if value.get(key) is not None), "language")
    draft = spoken_in(draft, value.get(key), key)
    key = next((key for key in _DATE_KEYS if value.get(key) is not None), "date")
    return dated(draft, value.get(key), key)


def _first_text(value: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        found = value.get(key)
        if isinstance(found, str) and found.strip():
            return found
    return None
