"""Counts as a reader says them: 1 article, 2 articles."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, word: str, words: str = "") -> str:
    """`count` and the word for it: `words` (or `word` + s) unless it is one."""
    return f"{count} {word if count == 1 else words or word + 's'}"
