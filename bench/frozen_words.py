"""The tokenizer as it was before the speed-ups, frozen: the baseline of the "× tokenize" ratios.

A copy of the splitting and folding of `worker/text/words.py` at that time, kept unchanged
so that the ratios of one run of `make bench` compare with those of the next, however the
tokenizer itself changes. Not used by wirewatch.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LETTERS = rf"[^\W_{_CJK}]+"
_WORD = rf"[{_CJK}]|{_LETTERS}(?:['’]{_LETTERS})*"
_SPLIT = re.compile(f"({_WORD})")
_SPLIT_RUNS = re.compile(r"(\w+)")
_NOT_CJK_LEAD_BYTES = bytes(byte for byte in range(256) if not 0xE3 <= byte <= 0xEF)
_APOSTROPHES = ("'", "’")
_POSSESSIVE = ("'s", "'S")
_ELISIONS = frozenset(
    (
        *("c", "d", "j", "l", "m", "n", "s", "t", "v", "qu", "jusqu", "lorsqu", "puisqu"),
        *("quoiqu", "un", "gl", "agl", "all", "coll", "dagl", "dall", "degl", "dell"),
        *("negl", "nell", "pell", "sugl", "sull"),
    )
)
_KEEP_MARKS = frozenset("йЙ")


def fold(word: str) -> str:
    word = _word_itself(word)
    if word.isascii():
        return word.lower()
    folded = unicodedata.normalize("NFKC", word).casefold()
    return "".join(_strip_accents(char) for char in folded)


def _word_itself(word: str) -> str:
    if "’" in word:
        word = word.replace("’", "'")
    if "'" not in word:
        return word
    if word.endswith(_POSSESSIVE) and len(word) > 2:
        word = word[:-2]
    article, _, rest = word.partition("'")
    if rest and article.lower() in _ELISIONS:
        return rest
    return word


def _strip_accents(char: str) -> str:
    if char in _KEEP_MARKS:
        return char
    return "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))


def split(text: str) -> list[str]:
    """The text as separator, word, separator, word, …, separator."""
    if "_" in text or _may_be_cjk(text):
        return _SPLIT.split(text)
    parts = _SPLIT_RUNS.split(text)
    apostrophes = [apostrophe for apostrophe in _APOSTROPHES if apostrophe in text]
    if apostrophes:
        _join_at_apostrophes(parts, apostrophes)
    return parts


def _may_be_cjk(text: str) -> bool:
    if text.isascii():
        return False
    encoded = text.encode("utf-8", "surrogatepass")
    return bool(encoded.translate(None, _NOT_CJK_LEAD_BYTES))


def _join_at_apostrophes(parts: list[str], apostrophes: Iterable[str]) -> None:
    last = len(parts) - 1
    for at in sorted(_places(parts, apostrophes), reverse=True):
        if 0 < at < last:
            parts[at - 1 : at + 2] = [parts[at - 1] + parts[at] + parts[at + 1]]


def _places(parts: list[str], wanted: Iterable[str]) -> Iterator[int]:
    for part in wanted:
        at = -1
        while True:
            try:
                at = parts.index(part, at + 1)
            except ValueError:
                break
            yield at


class Folded(dict[str, str]):
    """Each distinct word folded once, and remembered: as the matcher does."""

    def __missing__(self, word: str) -> str:
        folded = self[word] = fold(word)
        return folded


def tokenize(title: str, body: str, folded: Folded) -> int:
    """Title and body split into words, each folded: the least any matcher does."""
    title_words = list(map(folded.__getitem__, split(title)[1::2]))
    body_words = list(map(folded.__getitem__, split(body)[1::2]))
    return len(title_words) + len(body_words)
