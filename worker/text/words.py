"""Words as a reader sees them: tokens with their place in the text, folded for comparison."""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import TypeVar

import Stemmer

from worker.text.sentences import Sentences

__all__ = [
    "Layout",
    "Passage",
    "Remembered",
    "Token",
    "fold",
    "inflects",
    "is_cjk",
    "is_cyrillic",
    "same_word_forms",
    "terms_of",
    "tokenize",
    "words_as_written",
    "words_of_piece",
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

# No word holds a space: the words of a text are those of its pieces between spaces. A
# news vocabulary repeats its pieces, so each is split once and remembered (a bound on
# memory: the cache is emptied when full, and pieces come back on their next sight).
_REMEMBERED_PIECES = 100_000
_LONGEST_PIECE = 64
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
        # A word already folded is given back as it is: not a copy for each rule word.
        return word if word.islower() else word.lower()
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


def words_as_written(text: str) -> tuple[str, ...]:
    """The words of `text` as it writes them (the words `tokenize` folds)."""
    return tuple(_TOKEN.findall(text))


def terms_of(phrase: str) -> tuple[str, ...]:
    """The folded words of a keyword or alias, as they must appear in a text, in order."""
    return tuple(token.text for token in tokenize(phrase))


_Found = TypeVar("_Found")


class Remembered(dict[str, _Found]):
    """What `work_out` gives for each word or piece of text seen so far, worked out on first
    sight: looking it up again is a step of C. Bounded: emptied when `limit` are remembered
    (they come back on their next sight); what is longer than `longest` is not kept (a run
    of Chinese or Japanese without a space is seldom seen twice)."""

    def __init__(self, work_out: Callable[[str], _Found], limit: int, longest: int) -> None:
        super().__init__()
        self._work_out = work_out
        self._limit = limit
        self._longest = longest

    def __missing__(self, text: str) -> _Found:
        found = self._work_out(text)
        if len(text) <= self._longest:
            if len(self) >= self._limit:
                self.clear()
            self[text] = found
        return found


def _words_in(piece: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(piece))


def _starts_in(piece: str) -> tuple[int, ...]:
    return tuple(match.start() for match in _TOKEN.finditer(piece))


# The words as written of a piece of text between two spaces.
words_of_piece: Callable[[str], tuple[str, ...]] = Remembered(
    _words_in, _REMEMBERED_PIECES, _LONGEST_PIECE
).__getitem__
_starts_in_piece = Remembered(_starts_in, _REMEMBERED_PIECES, _LONGEST_PIECE).__getitem__


class Layout:
    """Where the words of a text stand among its pieces between spaces.

    Most pieces hold one word each; only those that hold none (a dash, the gap of a
    double space) or several (`China-Russia`, `end.\n\nNext`) are noted, in order, so a
    word's piece is found by bisection and noting costs nothing for the rest.
    """

    __slots__ = ("_counts", "_firsts", "_pieces", "words")

    def __init__(self) -> None:
        self._pieces: list[int] = []  # each such piece's number
        self._firsts: list[int] = []  # the number of words before it
        self._counts: list[int] = []  # and how many it holds
        self.words = 0  # the words of the text, once every piece is noted

    def note(self, piece: int, first: int, count: int) -> None:
        """Piece number `piece`, with `first` words before it, holds `count` words (not 1)."""
        self._pieces.append(piece)
        self._firsts.append(first)
        self._counts.append(count)

    def place(self, index: int) -> tuple[int, int]:
        """The piece word `index` is in, and its place in that piece."""
        noted = bisect_right(self._firsts, index) - 1
        if noted < 0:
            return index, 0
        first, count = self._firsts[noted], self._counts[noted]
        if index < first + count:
            return self._pieces[noted], index - first
        return self._pieces[noted] + 1 + index - first - count, 0

    @classmethod
    def of(cls, pieces: list[str]) -> Layout:
        """The layout of these pieces, each split into words."""
        layout = cls()
        words = 0
        for number, piece in enumerate(pieces):
            count = len(words_of_piece(piece))
            if count != 1:
                layout.note(number, words, count)
            words += count
        layout.words = words
        return layout


class Passage:
    """One text split into words as written; where each word stands is worked out on demand.

    Matching needs only the words; offsets, sentences and paragraphs are needed for the
    few articles that match, so they are computed then.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        # Splitting at spaces and looking each piece up is a step of C for each piece,
        # where a pattern over the whole text made a string of every word and every gap.
        self.pieces = text.split(" ")
        self._words: list[str] | None = None
        # Where the words stand among the pieces: noted by whoever looks the pieces up
        # anyway (the matcher's scan), else worked out when first asked.
        self.layout: Layout | None = None
        # Where some pieces start, in order: the pieces worked out so far (a few hits'
        # worth), each from the nearest one before it.
        self._known_pieces = [0]
        self._known_starts = [0]

    @property
    def words(self) -> list[str]:
        """The words of the text as written, in order."""
        if self._words is None:
            self._words = list(chain.from_iterable(map(words_of_piece, self.pieces)))
        return self._words

    @property
    def word_count(self) -> int:
        return self._layout().words

    def _layout(self) -> Layout:
        if self.layout is None:
            self.layout = Layout.of(self.pieces)
        return self.layout

    def _place(self, index: int) -> tuple[int, int]:
        """Where word `index` starts and ends: where its piece starts, plus where the word
        stands in its piece."""
        piece, in_piece = self._layout().place(index)
        text = self.pieces[piece]
        start = self._piece_start(piece) + _starts_in_piece(text)[in_piece]
        return start, start + len(words_of_piece(text)[in_piece])

    def _piece_start(self, piece: int) -> int:
        """Where piece `piece` starts in the text: after the pieces before it, and a space
        after each. Summed in C from the nearest piece before it worked out already."""
        known = bisect_right(self._known_pieces, piece) - 1
        before, start = self._known_pieces[known], self._known_starts[known]
        if before == piece:
            return start
        start += sum(map(len, self.pieces[before:piece])) + piece - before
        self._known_pieces.insert(known + 1, piece)
        self._known_starts.insert(known + 1, start)
        return start

    def _start(self, index: int) -> int:
        return self._place(index)[0]

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
        start, end = self._place(first)
        return start, end if last == first else self._place(last)[1]

    def one_sentence(self, first: int, last: int) -> bool:
        """Whether words `first` to `last` all stand in one sentence."""
        # No word holds a character that may end a sentence: the gaps between them are
        # all there is to look at, and the pieces they stand in hold them.
        if not _MAY_END.search(self._between(first, last)):
            return True
        return self.sentence(first) == self.sentence(last)

    def _between(self, first: int, last: int) -> str:
        """The text from where word `first` starts to where word `last` starts, from their
        pieces alone: no offset in the whole text is needed."""
        layout = self._layout()
        piece, in_piece = layout.place(first)
        last_piece, in_last = layout.place(last)
        pieces = self.pieces[piece : last_piece + 1]
        joined = " ".join(pieces)
        end = len(joined) - len(pieces[-1]) + _starts_in_piece(pieces[-1])[in_last]
        return joined[_starts_in_piece(pieces[0])[in_piece] : end]

    def sentence(self, index: int) -> int:
        """Where the sentence word `index` is in ends: one number for each sentence, rising
        through the text (quicker than counting sentences when only a few words ask)."""
        return self._sentences.end(self._start(index))

    def paragraph(self, index: int) -> int:
        """The number of the paragraph word `index` is in, counting from 0."""
        return bisect_right(self._paragraph_ends, self._start(index))


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
