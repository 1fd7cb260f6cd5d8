"""Words as a reader sees them: tokens with their place in the text, folded for comparison."""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

import Stemmer

from worker.text.sentences import Sentences

__all__ = [
    "Passage",
    "Token",
    "fold",
    "inflects",
    "is_cjk",
    "is_cyrillic",
    "same_word_forms",
    "terms_of",
    "tokenize",
    "written_form",
]

# Chinese and Japanese are written without spaces: each ideograph or kana is a token of
# its own, so a phrase of them matches anywhere in a run of text.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# An apostrophe between letters is part of the word, as Unicode word segmentation (UAX #29)
# has it: Xi'an and O'Brien are one word each, so `Xi` does not find Xi'an. Folding then
# drops a possessive (`Putin` finds Putin's) and an elided article (`Ukraine`, d'Ukraine).
_LETTERS = rf"[^\W_{_CJK}]+"
_WORD = rf"[{_CJK}]|{_LETTERS}(?:['’]{_LETTERS})*"
_TOKEN = re.compile(_WORD)
_CJK_CHARACTER = re.compile(f"[{_CJK}]")
_SPLIT = re.compile(f"({_WORD})")
# The same split, quicker, for text without Chinese, Japanese or underscores.
_SPLIT_RUNS = re.compile(r"(\w+)")
# In UTF-8 each of those Chinese and Japanese characters begins with a byte from E3 to EF
# (so do some others: they only cost the text the full split). Deleting all other bytes
# is far quicker than looking for a character of a class.
_NOT_CJK_LEAD_BYTES = bytes(byte for byte in range(256) if not 0xE3 <= byte <= 0xEF)
_APOSTROPHES = ("'", "’")
_POSSESSIVE = ("'s", "'S")
# French and Italian elided articles and prepositions, as Elasticsearch's French and
# Italian elision filters list them: `Ukraine` finds l'Ukraine and d'Ukraine, `Ucraina`
# dell'Ucraina. A name such as D'Arcy loses its D' too, in a rule as in the text, so
# `D'Arcy` still finds it (and so does `Arcy`); O'Brien and Xi'an keep theirs.
_ELISIONS = frozenset(
    (
        *("c", "d", "j", "l", "m", "n", "s", "t", "v", "qu", "jusqu", "lorsqu", "puisqu"),
        *("quoiqu", "un", "gl", "agl", "all", "coll", "dagl", "dall", "degl", "dell"),
        *("negl", "nell", "pell", "sugl", "sull"),
    )
)
# Letters whose mark is part of the letter, not an accent a reader would drop.
_KEEP_MARKS = frozenset("йЙ")

# Where a word starts is worked out from where its block of parts starts: adding up the
# length of every part cost as much as the rest of finding an article's hits, and joining
# each block of parts and taking its length costs a third less.
_BLOCK = 32
_MAY_END = re.compile(r"[.!?…。！？\n]")  # a gap between words without these ends no sentence
_PARAGRAPH_END = re.compile(r"\n\s*\n")

_CYRILLIC = re.compile(r"[а-яёіїєґ]+")
# Shorter Cyrillic words are matched as written: with three letters the stemmer cannot
# tell an ending from the word (Ван, the name, would find ванна, a bath).
_INFLECTS_FROM = 4
_RUSSIAN = Stemmer.Stemmer("russian")
_STEMMER_LOCK = threading.Lock()  # a Snowball stemmer object is not thread-safe


@dataclass(frozen=True)
class Token:
    """One word of a text: its folded form and where it stands in the original."""

    text: str
    start: int
    end: int


def fold(word: str) -> str:
    """Fold one word for comparison: NFKC, case folded, accents removed (Lavróv → lavrov)."""
    word = _word_itself(word)
    if word.isascii():
        return word.lower()
    folded = unicodedata.normalize("NFKC", word).casefold()
    return "".join(_strip_accents(char) for char in folded)


def _word_itself(word: str) -> str:
    """A word without a possessive after it or an elided article before it (d'Ukraine's →
    Ukraine), its apostrophes all written '."""
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


def written_form(word: str) -> str:
    """A word as written, for case-sensitive comparison: NFKC, without a possessive."""
    word = _word_itself(word)
    return word if word.isascii() else unicodedata.normalize("NFKC", word)


def tokenize(text: str) -> list[Token]:
    """Split `text` into folded words; `China-Russia` gives two words, `Putin's` one: `putin`."""
    return [Token(fold(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def terms_of(phrase: str) -> tuple[str, ...]:
    """The folded words of a keyword or alias, as they must appear in a text, in order."""
    return tuple(token.text for token in tokenize(phrase))


class Passage:
    """One text split into words as written; where each word stands is worked out on demand.

    Matching needs only the words; offsets, sentences and paragraphs are needed for the
    few articles that match, so they are computed then.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._parts = _split(text)  # separator, word, separator, word, …, separator
        self.words: list[str] = self._parts[1::2]
        self._block_starts = [0]  # where each block of `_BLOCK` parts starts, as far as asked

    def _start(self, index: int) -> int:
        part = 2 * index + 1
        block = part // _BLOCK
        starts = self._block_starts
        while len(starts) <= block:  # only as far as asked: hits are seldom all at the end
            at = (len(starts) - 1) * _BLOCK
            starts.append(starts[-1] + len("".join(self._parts[at : at + _BLOCK])))
        return starts[block] + len("".join(self._parts[block * _BLOCK : part]))

    # The sentences a digest's summary is cut from: one notion of a sentence for both.
    @cached_property
    def _sentences(self) -> Sentences:
        return Sentences(self.text)

    @cached_property
    def _paragraph_ends(self) -> list[int]:
        return [m.end() for m in _PARAGRAPH_END.finditer(self.text)]

    def span(self, index: int) -> tuple[int, int]:
        """Character offsets of word `index` in the text."""
        return self.extent(index, index)

    def extent(self, first: int, last: int) -> tuple[int, int]:
        """Character offsets of words `first` to `last` and what stands between them."""
        start = self._start(first)
        end = start if last == first else self._start(last)
        return start, end + len(self.words[last])

    def one_sentence(self, first: int, last: int) -> bool:
        """Whether words `first` to `last` all stand in one sentence."""
        if last == first + 1 and self._parts[2 * last] == " ":
            return True
        between = self._parts[2 * first + 2 : 2 * last + 1 : 2]
        if all(gap == " " or not _MAY_END.search(gap) for gap in between):
            return True
        return self.sentence(first) == self.sentence(last)

    def sentence(self, index: int) -> int:
        """Where the sentence word `index` is in ends: one number for each sentence, rising
        through the text (quicker than counting sentences when only a few words ask)."""
        return self._sentences.end(self._start(index))

    def paragraph(self, index: int) -> int:
        """The number of the paragraph word `index` is in, counting from 0."""
        return bisect_right(self._paragraph_ends, self._start(index))


def _split(text: str) -> list[str]:
    """The text as separator, word, separator, word, …, separator."""
    if "_" in text or _may_be_cjk(text):
        return _SPLIT.split(text)
    parts = _SPLIT_RUNS.split(text)
    # Joining the words around each apostrophe afterwards costs half what a pattern that
    # looks for an apostrophe after every word does.
    apostrophes = [apostrophe for apostrophe in _APOSTROPHES if apostrophe in text]
    if apostrophes:
        _join_at_apostrophes(parts, apostrophes)
    return parts


def _may_be_cjk(text: str) -> bool:
    """Whether `text` may have Chinese or Japanese in it (False means it has none)."""
    if text.isascii():
        return False
    encoded = text.encode("utf-8", "surrogatepass")
    return bool(encoded.translate(None, _NOT_CJK_LEAD_BYTES))


def _join_at_apostrophes(parts: list[str], apostrophes: Iterable[str]) -> None:
    """Put `Xi` `'` `an` back together as one word, as the full pattern finds it."""
    last = len(parts) - 1
    # From the end, so that a join does not move the places still to be joined:
    # `rock'n'roll` joins `n'roll`, then `rock`.
    for at in sorted(_places(parts, apostrophes), reverse=True):
        if 0 < at < last:  # between two words, not before the first or after the last
            parts[at - 1 : at + 2] = [parts[at - 1] + parts[at] + parts[at + 1]]


def _places(parts: list[str], wanted: Iterable[str]) -> Iterator[int]:
    """Where each of the `wanted` parts stands in `parts`."""
    for part in wanted:
        at = -1
        while True:
            try:
                at = parts.index(part, at + 1)
            except ValueError:
                break
            yield at


def is_cjk(word: str) -> bool:
    """Whether the word is a Chinese or Japanese character: a word of its own."""
    return bool(_CJK_CHARACTER.fullmatch(word))


def is_cyrillic(word: str) -> bool:
    """Whether a folded word is written in Cyrillic letters only."""
    return _CYRILLIC.fullmatch(word) is not None


def inflects(word: str) -> bool:
    """Whether a folded word of a rule finds its inflected forms (Путин → Путина, Путиным)."""
    return len(word) >= _INFLECTS_FROM and is_cyrillic(word)


def same_word_forms(word: str, rule_word: str) -> bool:
    """Whether folded `word` of a text is a form of the folded Cyrillic `rule_word`.

    Both must agree up to the rule word's last letter at least, and the Russian Snowball
    stemmer must place both words' endings after the part they share: Лавров finds
    Лаврова and Лавровым, not лавры (laurels); Путин finds Путину, not Путинизм.
    """
    shared = len(rule_word) - 1
    if word[:shared] != rule_word[:shared] or not is_cyrillic(word):
        return False
    while shared < min(len(word), len(rule_word)) and word[shared] == rule_word[shared]:
        shared += 1
    with _STEMMER_LOCK:
        stems = _RUSSIAN.stemWords([word, rule_word])
    return all(len(stem) <= shared for stem in stems)
