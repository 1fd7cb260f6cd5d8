"""The words of every rule, compiled once, and an article scanned for them in one pass.

A rule word becomes a *pattern*: a folded word, a prefix, a case-sensitive word, or a
Cyrillic word with its inflected forms. Each distinct word of a text is looked up once
(then remembered) to find the patterns it stands for, so scanning an article costs one
dictionary lookup per word, however many rules there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from itertools import chain, compress, count, repeat
from operator import is_not
from typing import NamedTuple

from worker.model import Article, Hit
from worker.rules.query import Field, Term
from worker.text.words import (
    Layout,
    Passage,
    Remembered,
    fold,
    inflects,
    is_cyrillic,
    same_word_forms,
    words_of_piece,
    written_form,
)

__all__ = ["BODY", "Found", "Scan", "Vocabulary"]

# Body words are numbered from here, title words from 0: one numbering for both fields,
# in which a title word and a body word are never near each other.
BODY = 1 << 32

# Words of texts remembered; a news vocabulary fits many times over.
_REMEMBERED_WORDS = 200_000
_LONGEST_WORD = 1_000  # a word longer than this is no word a rule looks for twice
# And the pieces of texts between spaces, each with the patterns of its words.
_REMEMBERED_PIECES = 100_000
_LONGEST_PIECE = 64

Span = tuple[int, int]  # first word, and the word after the last

# What most pieces of a text stand for: one word, of no rule. Each such piece looks up to
# this one object, so the scan passes over them in C and looks only at the others.
_PLAIN: tuple[tuple[int, ...], ...] = ((),)
_NOT_PLAIN = partial(is_not, _PLAIN)


class Found(NamedTuple):
    """One place a term or a participant was found: word positions, and what was found."""

    start: int
    end: int
    term: str  # as the user wrote it
    participant: str = ""  # whose alias, for a mention


class _Phrase(NamedTuple):  # hashed and compared in C: a large rule set has many
    patterns: tuple[int, ...]
    field: Field | None


@dataclass(frozen=True, slots=True)
class _Alias:
    participant: str
    text: str
    patterns: tuple[int, ...]
    anchor: int  # the index in `patterns` of the pattern it is filed under


class Vocabulary:
    """Every word, phrase and alias of a rule set; built once, then only read.

    (It remembers the words of the texts it has looked up: a cache, bounded, that does
    not change what any lookup gives.)
    """

    def __init__(self) -> None:
        self._exact: dict[str, int] = {}
        self._cased: dict[str, int] = {}
        self._prefixes: dict[str, int] = {}
        self._forms: dict[str, list[tuple[str, int]]] = {}  # by the rule word less its last letter
        self._prefix_lengths: tuple[int, ...] = ()
        self._form_lengths: tuple[int, ...] = ()
        self._phrase_ids: dict[_Phrase, int] = {}
        self._terms: dict[tuple[object, ...], int] = {}  # by a term's words and kind
        self.phrases: list[_Phrase] = []
        self._rarity: list[float] = []  # by the length of the word: longer words are rarer
        self._uses: list[int] = []  # phrases that use the pattern: a word many use is common
        self._aliases: list[tuple[str, str, int]] = []
        self._anchors: list[int] = []  # by phrase (-1: not yet), once all rules are in
        self.aliases: dict[int, list[_Alias]] = {}  # by the anchor of the alias
        words = Remembered(self._patterns_of, _REMEMBERED_WORDS, _LONGEST_WORD)
        # The patterns a word of a text stands for, remembered after the first time.
        self.lookup: Callable[[str], tuple[int, ...]] = words.__getitem__
        pieces = Remembered(self._patterns_of_piece, _REMEMBERED_PIECES, _LONGEST_PIECE)
        # The patterns of each word of a piece of text between spaces: one lookup for
        # most words of a text, in C.
        self.lookup_piece: Callable[[str], tuple[tuple[int, ...], ...]] = pieces.__getitem__

    # --- building ---------------------------------------------------------------

    def phrase(self, term: Term) -> int:
        """The id of a term's phrase, the same for the same words in the same field."""
        # Rules share their words: a term seen before is not folded again.
        seen = (term.words, term.prefix, term.case_sensitive, term.field)
        known = self._terms.get(seen)
        if known is None:
            known = self._terms[seen] = self._new_phrase(term)
        return known

    def _new_phrase(self, term: Term) -> int:
        last = len(term.words) - 1
        patterns = tuple(
            self._pattern(word, term.prefix and i == last, term.case_sensitive)
            for i, word in enumerate(term.words)
        )
        phrase = _Phrase(patterns, term.field)
        number = self._phrase_ids.get(phrase)
        if number is None:
            number = self._phrase_ids[phrase] = len(self.phrases)
            self.phrases.append(phrase)
            for pattern in set(patterns):
                self._uses[pattern] += 1
        return number

    def alias(self, participant: str, text: str, term: Term) -> int:
        """Add an alias of a participant; returns the id of its phrase."""
        phrase = self.phrase(term)
        self._aliases.append((participant, text, phrase))
        return phrase

    def file_aliases(self) -> None:
        """File every alias under its anchor, once all of them are added."""
        for participant, text, phrase in self._aliases:
            patterns = self.phrases[phrase].patterns
            anchor = self.anchor(phrase)
            alias = _Alias(participant, text, patterns, patterns.index(anchor))
            self.aliases.setdefault(anchor, []).append(alias)

    def finish(self) -> None:
        """Let go of what only building needs, once every rule is compiled: the tables
        that number words and phrases and weigh them (a tenth of a large rule set's
        memory). Looking up and scanning stay as they were; nothing can be added after."""
        del self._terms, self._phrase_ids, self._aliases, self._rarity, self._uses, self._anchors

    def cost(self, pattern: int) -> float:
        """How likely a pattern is to be in an article, by a rough guess."""
        return self._rarity[pattern] * self._uses[pattern]

    def needed(self, phrase: int) -> frozenset[int]:
        """What an article holds where the phrase is in it: the pattern of its anchor. Asked
        once every rule is in (the weights are final then), for each use of the phrase."""
        anchors = self._anchors
        if not anchors:
            anchors.extend([-1] * len(self.phrases))
        anchor = anchors[phrase]
        if anchor < 0:
            anchor = anchors[phrase] = self.anchor(phrase)
        # A set made for each use, not kept: a set of one takes 200 bytes.
        return frozenset((anchor,))

    def anchor(self, phrase: int) -> int:
        """The pattern of a phrase least likely to be in an article: the one to index it by."""
        patterns = self.phrases[phrase].patterns
        return patterns[0] if len(patterns) == 1 else min(patterns, key=self.cost)

    def _pattern(self, word: str, prefix: bool, cased: bool) -> int:
        folded = fold(word)
        if cased:
            kind, key = "cased", written_form(word)
            pattern = self._cased.get(key)
        elif prefix:
            kind, key = "prefix", folded
            pattern = self._prefixes.get(key)
        elif inflects(folded):
            kind, key = "forms", folded
            forms = self._forms.get(key[:-1], ())
            pattern = next((known for form, known in forms if form == key), None)
        else:
            kind, key = "exact", folded
            pattern = self._exact.get(key)
        return self._new(kind, key) if pattern is None else pattern

    def _new(self, kind: str, key: str) -> int:
        pattern = len(self._rarity)
        # Longer words are rarer; a prefix finds more words than a whole word.
        self._rarity.append((3 if kind == "prefix" else 1) / max(len(key), 1))
        self._uses.append(0)
        if kind == "cased":
            self._cased[key] = pattern
        elif kind == "prefix":
            self._prefixes[key] = pattern
            self._prefix_lengths = tuple(sorted({*self._prefix_lengths, len(key)}))
        elif kind == "forms":
            self._forms.setdefault(key[:-1], []).append((key, pattern))
            self._form_lengths = tuple(sorted({*self._form_lengths, len(key) - 1}))
        else:
            self._exact[key] = pattern
        return pattern

    # --- looking up -------------------------------------------------------------

    def _patterns_of(self, written: str) -> tuple[int, ...]:
        """Every pattern a word of a text, as written, stands for."""
        word = fold(written)
        found = [
            pattern
            for pattern in (self._exact.get(word), self._cased.get(written_form(written)))
            if pattern is not None
        ]
        for length in self._prefix_lengths:
            if length > len(word):
                break
            pattern = self._prefixes.get(word[:length])
            if pattern is not None:
                found.append(pattern)
        if self._form_lengths and is_cyrillic(word):
            found.extend(self._inflected(word))
        return tuple(found)

    def _patterns_of_piece(self, piece: str) -> tuple[tuple[int, ...], ...]:
        found = tuple(map(self.lookup, words_of_piece(piece)))
        return _PLAIN if found == _PLAIN else found  # the one object: told apart in C

    def _inflected(self, word: str) -> Iterable[int]:
        for length in self._form_lengths:
            for rule_word, pattern in self._forms.get(word[:length], ()):
                if same_word_forms(word, rule_word):
                    yield pattern

    def scan(self, article: Article, places: bool = True) -> Scan:
        """Find the words of every rule in an article; without `places`, which words are
        there first, and where they stand only when a rule asks."""
        return Scan(self, article, places)


class Scan:
    """One article, its words looked up once; phrases and mentions worked out when asked for."""

    def __init__(self, vocabulary: Vocabulary, article: Article, places: bool = True) -> None:
        self.article = article
        self.title = Passage(article.title)
        self.body = Passage(article.body)
        lookup = vocabulary.lookup_piece
        # The patterns of each piece's words, title and body, to check a phrase around a word.
        self._title_pieces = list(map(lookup, self.title.pieces))
        self._body_pieces = list(map(lookup, self.body.pieces))
        self._positions: dict[int, list[int]] | None = None
        # The patterns the article holds: all most rules need to be decided.
        self.present = (
            set(self.positions) if places else _present(self._title_pieces, self._body_pieces)
        )
        self._vocabulary = vocabulary
        self._phrases: dict[int, list[Span]] = {}
        self._mentions: dict[str, list[Found]] | None = None
        self.memo: dict[object, list[Found]] = {}  # for conditions that are costly to repeat
        # What was found, as a hit of a match: the same for every rule that found it.
        self.hit: Callable[[Found], Hit] = _Hits(self.title, self.body).__getitem__

    @property
    def positions(self) -> dict[int, list[int]]:
        """Where each pattern stands, by word, title and body."""
        if self._positions is None:
            positions: dict[int, list[int]] = {}
            _collect(positions, self.title, self._title_pieces, 0)
            _collect(positions, self.body, self._body_pieces, BODY)
            self._positions = positions
        return self._positions

    def has(self, phrase: int) -> bool:
        """Whether a phrase is in the article."""
        return bool(self.occurrences(phrase))

    def occurrences(self, phrase: int) -> list[Span]:
        """Where a phrase stands: its words side by side, in order, in one sentence."""
        spans = self._phrases.get(phrase)
        if spans is None:
            spans = self._phrases[phrase] = self._find(self._vocabulary.phrases[phrase])
        return spans

    def _find(self, phrase: _Phrase) -> list[Span]:
        patterns = phrase.patterns
        positions = self.positions
        if len(patterns) == 1:
            spans = [(p, p + 1) for p in positions.get(patterns[0], ())]
        else:
            # Look around the places of the word this article has fewest of.
            places = [positions.get(pattern, ()) for pattern in patterns]
            at = min(range(len(places)), key=lambda i: len(places[i]))
            spans = [
                (p - at, p - at + len(patterns)) for p in places[at] if self._fits(patterns, p - at)
            ]
        if phrase.field is None:
            return spans
        return [span for span in spans if (span[0] >= BODY) == (phrase.field == "body")]

    def _fits(self, patterns: tuple[int, ...], start: int) -> bool:
        """Whether the words from `start` on stand for `patterns`, in one sentence."""
        passage, first = self._passage(start)
        pieces = self._body_pieces if passage is self.body else self._title_pieces
        last = first + len(patterns) - 1
        if first < 0 or last >= passage.word_count:
            return False
        layout = passage.layout
        assert layout is not None  # noted by the scan
        for offset, pattern in enumerate(patterns):
            piece, in_piece = layout.place(first + offset)
            if pattern not in pieces[piece][in_piece]:
                return False
        return first == last or passage.one_sentence(first, last)

    def mentions(self) -> dict[str, list[Found]]:
        """Each participant's mentions; where aliases overlap, the longest stands."""
        if self._mentions is None:
            aliases = self._vocabulary.aliases
            positions = self.positions
            found = [
                Found(start, start + len(alias.patterns), alias.text, alias.participant)
                for anchor in positions.keys() & aliases.keys()
                for position in positions[anchor]
                for alias in aliases[anchor]
                # A one-word alias is where its word is: no need to look.
                if len(alias.patterns) == 1 or self._fits(alias.patterns, position - alias.anchor)
                for start in (position - alias.anchor,)
            ]
            self._mentions = _longest_mentions(found)
        return self._mentions

    def _passage(self, position: int) -> tuple[Passage, int]:
        return (self.body, position - BODY) if position >= BODY else (self.title, position)

    def sentence(self, position: int) -> int:
        """Which sentence a word is in: one number for each sentence of both fields."""
        passage, index = self._passage(position)
        return passage.sentence(index) + (BODY if passage is self.body else 0)

    def paragraph(self, position: int) -> int:
        """The paragraph a word is in, numbered across both fields."""
        passage, index = self._passage(position)
        return passage.paragraph(index) + (BODY if passage is self.body else 0)

    def where(self, found: Found) -> tuple[str, int, int]:
        """The field and character offsets of what was found."""
        return _where(self.title, self.body, found)

    def text_of(self, found: Found) -> str:
        """What was found, as the article writes it."""
        field, start, end = self.where(found)
        return (self.article.body if field == "body" else self.article.title)[start:end]


def _where(title: Passage, body: Passage, found: Found) -> tuple[str, int, int]:
    if found.start >= BODY:
        return "body", *body.extent(found.start - BODY, found.end - 1 - BODY)
    return "title", *title.extent(found.start, found.end - 1)


class _Hits(dict[Found, Hit]):
    """The hit of each place found in one article, worked out on first sight."""

    def __init__(self, title: Passage, body: Passage) -> None:
        super().__init__()
        self._title = title
        self._body = body

    def __missing__(self, found: Found) -> Hit:
        where = _where(self._title, self._body, found)
        hit = self[found] = Hit(found.term, *where, found.participant or None)
        return hit


def _present(*passages: list[tuple[tuple[int, ...], ...]]) -> set[int]:
    """The patterns of the words of these passages' pieces, gathered in C."""
    special = (filter(_NOT_PLAIN, pieces) for pieces in passages)
    return set(chain.from_iterable(chain.from_iterable(chain.from_iterable(special))))


def _collect(
    positions: dict[int, list[int]],
    passage: Passage,
    by_piece: list[tuple[tuple[int, ...], ...]],
    base: int,
) -> None:
    """Note where each pattern stands, and the passage's layout, from the patterns of each
    piece's words."""
    # The hot loop of matching. Most pieces are one word of no rule: `compress` passes
    # over them in C, and only the rest take a step of Python.
    layout = Layout()
    shift = base  # the position of a piece's first word, less the piece's number
    for piece in compress(count(), map(is_not, by_piece, repeat(_PLAIN))):
        words = by_piece[piece]
        if len(words) != 1:  # none, or several words: noted in the layout
            _note_words(positions, words, piece + shift)
            layout.note(piece, piece + shift - base, len(words))
            shift += len(words) - 1
            continue
        position = piece + shift
        for pattern in words[0]:
            found = positions.get(pattern)
            if found is None:
                positions[pattern] = [position]
            else:
                found.append(position)
    layout.words = len(by_piece) + shift - base
    passage.layout = layout


def _note_words(
    positions: dict[int, list[int]], words: tuple[tuple[int, ...], ...], first: int
) -> None:
    """Note where the patterns of these words, from position `first` on, stand."""
    for position, patterns in enumerate(words, first):
        for pattern in patterns:
            positions.setdefault(pattern, []).append(position)


def _longest_mentions(found: list[Found]) -> dict[str, list[Found]]:
    """Overlapping alias hits are one mention: of the participant with the longest alias,
    spanning all of that participant's aliases there ("President Xi" + "Xi Jinping")."""
    mentions: dict[str, list[Found]] = {}
    found.sort()
    cluster: list[Found] = []
    end = 0
    for hit in found:
        if cluster and hit.start >= end:
            _add_mention(mentions, cluster)
            cluster = []
        cluster.append(hit)
        if hit.end > end:
            end = hit.end
    if cluster:
        _add_mention(mentions, cluster)
    return mentions


def _add_mention(mentions: dict[str, list[Found]], cluster: list[Found]) -> None:
    mention = cluster[0]
    if len(cluster) > 1:
        longest = max(cluster, key=_words_long)
        own = [f for f in cluster if f.participant == longest.participant]
        # The cluster is in order: its first hit of the participant starts the mention.
        end = max(f.end for f in own)
        mention = Found(own[0].start, end, longest.term, longest.participant)
    mentions.setdefault(mention.participant, []).append(mention)


def _words_long(found: Found) -> int:
    return found.end - found.start
