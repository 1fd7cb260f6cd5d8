"""An article's identity is its content: the same text is one article, whatever its file."""

from __future__ import annotations

import hashlib
import unicodedata

__all__ = ["content_id"]


def content_id(title: str, body: str) -> str:
    """The same text is the same article, whatever the file is called or how it is spaced."""
    text = unicodedata.normalize("NFC", f"{' '.join(title.split())}\n{' '.join(body.split())}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
