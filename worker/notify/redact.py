"""Keep secrets out of what a notifier says: URLs shown by their host, secrets blanked out."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["masked_url", "scrubbed"]

_HIDDEN = "…"
# Shorter strings would blank out ordinary words; a real token is longer than this.
_SHORTEST_SECRET = 6


def masked_url(url: str) -> str:
    """`url` with only its scheme, host and port: tokens live in the path, query and user info."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    rest = parts.path not in ("", "/") or parts.query or parts.fragment
    return f"{parts.scheme}://{host}/{_HIDDEN if rest else ''}"


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret replaced by an ellipsis, longest first."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= _SHORTEST_SECRET:
            text = text.replace(secret, _HIDDEN)
    return text
