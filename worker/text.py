"""Words as a reader sees them: tokens with their place in the text, folded for comparison."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Token", "fold", "terms_of", "tokenize"]

# Chinese and Japanese are written without spaces: each ideograph or kana is a token of
# its own, so a phrase of them matches anywhere in a run of text.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
# Letters whose mark is part of the letter, not an accent a reader would drop.
_KEEP_MARKS = frozenset("йЙ")


@dataclass(frozen=True)
class Token:
    """One word of a text: its folded form and where it stands in the original."""

    text: str
    start: int
    end: int


def fold(word: str) -> str:
    """Fold one word for comparison: NFKC, case folded, accents removed (Lavróv → lavrov)."""
    if word.isascii():
        return word.lower()
    folded = unicodedata.normalize("NFKC", word).casefold()
    return "".join(_strip_accents(char) for char in folded)


def _strip_accents(char: str) -> str:
    if char in _KEEP_MARKS:
        return char
    return "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))


def tokenize(text: str) -> list[Token]:
    """Split `text` into folded words; `Putin's` gives `putin` and `s`, `China-Russia` two words."""
    return [Token(fold(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def terms_of(phrase: str) -> tuple[str, ...]:
    """The folded words of a keyword or alias, as they must appear in a text, in order."""
    return tuple(token.text for token in tokenize(phrase))
