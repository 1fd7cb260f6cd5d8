"""Keep secrets out of what a notifier says: URLs shown by their host, secrets blanked out."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["masked_service_url", "masked_url", "scrubbed", "service_url_secrets"]

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


# A server's name and port: labels of letters, digits and hyphens ending in a name, or an IP
# address. A token in the host's place (tgram://TOKEN/CHAT) is none of these.
_SERVER = re.compile(
    r"(?i)(localhost|([a-z0-9-]{1,63}\.)+[a-z]{2,63}|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])"
    r"(:\d{1,5})?"
)


def _split(url: str) -> tuple[str, str, str, str]:
    """An Apprise URL's scheme, user info, host[:port] and what follows the host."""
    scheme, _, rest = url.partition("://")
    netloc, *after = re.split(r"(?=[/?#])", rest, maxsplit=1)
    user_info, _, host_port = netloc.rpartition("@")
    return scheme, user_info, host_port, "".join(after)


def masked_service_url(url: str) -> str:
    """An Apprise URL by its scheme, and by its host when that is a server's name: many
    services put a token where the host goes (tgram://TOKEN/CHAT, pover://USER@TOKEN)."""
    scheme, _, host_port, after = _split(url)
    if "://" not in url:
        return _HIDDEN
    if not _SERVER.fullmatch(host_port):
        return f"{scheme}://{_HIDDEN}"
    return f"{scheme}://{host_port}/{_HIDDEN if after.strip('/') else ''}"


def service_url_secrets(url: str) -> list[str]:
    """Every part of an Apprise URL that may be secret, as written and decoded: all but its
    scheme, a server's name and port, and the names of its parameters."""
    _, user_info, host_port, after = _split(url)
    path, _, query = after.partition("?")
    path, _, fragment = path.partition("#")
    pieces = [url, url.partition("://")[2], after, user_info, *user_info.split(":")]
    pieces += [path, *path.split("/"), query, fragment, *(v for _, v in parse_qsl(query))]
    if not _SERVER.fullmatch(host_port):
        pieces += [host_port, *host_port.split(":")]
    return [form for piece in pieces if piece for form in {piece, unquote(piece)}]
