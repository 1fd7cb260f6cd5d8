"""Words as a reader says them: 1 article, 2 articles; a path on one line; a likely name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean", "plural", "quoted"]


def plural(count: int, word: str, words: str = "") -> str:
    """`count` and the word for it: `words` (or `word` + s) unless it is one."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def quoted(path: object) -> str:
    """A path as it is, or quoted with escapes (`'in\\nbox.txt'`) when it holds a character
    that is not printable: a newline in a file name must not split a log line."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`; did you mean 'x'?` when a known name is close to `word`, else nothing."""
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
