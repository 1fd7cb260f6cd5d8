"""`.txt`: text with an optional ` date YYYY-MM-DD` first line; the title found in the text."""

from __future__ import annotations

import re

from worker.ingest.formats.decoding import decode
from worker.ingest.formats.draft import Draft, UnreadableError, dated, title_of_text

__all__ = ["read_txt"]

_DATE_HEADER = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})[ \t]*")


def read_txt(data: bytes) -> tuple[list[Draft], list[str]]:
    """Text with an optional ` date YYYY-MM-DD` first line; the title is found in the text."""
    text = decode(data)
    header = _DATE_HEADER.match(text)
    if header:
        text = text[header.end() :]
    if not text.strip():
        raise UnreadableError("no article text after the date line")
    title, body, source = title_of_text(text)
    draft = Draft(title=title, body=body, source=source)
    return [dated(draft, header.group(1) if header else None, "date")], []
