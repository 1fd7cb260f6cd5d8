"""The conditions a rule is compiled into: each decides on a scanned article, names the
words it cannot hold without, and explains itself in the user's terms."""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Literal
from urllib.parse import urlsplit

from worker.match.vocabulary import BODY, Found, Scan, Vocabulary
from worker.model import Article
from worker.rules.query import Describing, Distance, Field, Term
from worker.text.words import fold, tokenize, written_form

__all__ = [
    "AllOf",
    "AnyOf",
    "AtLeast",
    "Clause",
    "Condition",
    "Dated",
    "Described",
    "EitherOf",
    "Mention",
    "Needs",
    "NoneOf",
    "Phrase",
    "Positional",
    "Within",
    "cheapest",
    "described",
]


Kind = Literal["term", "participant", "near", "any", "all", "not", "min", "date", "described"]


@dataclass(frozen=True)
class Clause:
    """One condition of a rule: whether it held for an article, and what was found for it."""

    label: str  # as the user wrote it: a part of the query, or `keywords.any: …`
    held: bool
    found: tuple[str, ...] = ()  # the text found; for a NOT that failed, what excluded it
    clauses: tuple[Clause, ...] = ()
    kind: Kind = "term"


# Sets of patterns such that any article a condition holds for has one of each set.
Needs = list[frozenset[int]]


def cheapest(needs: Needs, vocabulary: Vocabulary) -> frozenset[int] | None:
    """The set of patterns least likely to be in an article."""
    if len(needs) == 1:  # most conditions need one set: nothing to weigh
        return needs[0]
    return min(needs, key=lambda patterns: sum(map(vocabulary.cost, patterns)), default=None)


class Condition(ABC):
    """A compiled condition of a rule, evaluated over a scanned article."""

    __slots__ = ("label",)  # a rule set of 100,000 rules has a million conditions
    label: str
    kind: Kind

    @abstractmethod
    def holds(self, scan: Scan) -> bool:
        """Whether the condition holds for the article."""

    @abstractmethod
    def hits(self, scan: Scan) -> list[Found]:
        """What was found that makes it hold (only asked when it holds)."""

    @abstractmethod
    def needs(self, vocabulary: Vocabulary) -> Needs:
        """What an article must contain for the condition to hold."""

    def explain(self, scan: Scan) -> Clause:
        """Whether it holds, what was found, and the same for its parts."""
        held = self.holds(scan)
        found = self.hits(scan) if held else []
        return Clause(self.label, held, _texts(scan, found), self._parts(scan), self.kind)

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return ()


class Positional(Condition):
    """A condition found at places in the text, between which NEAR measures."""

    __slots__ = ()

    @abstractmethod
    def found(self, scan: Scan) -> list[Found]:
        """Every place it was found, in reading order."""

    def holds(self, scan: Scan) -> bool:
        return bool(self.found(scan))

    def hits(self, scan: Scan) -> list[Found]:
        return self.found(scan)


class Phrase(Positional):
    __slots__ = ("key", "phrase", "text", "word")

    kind: Kind = "term"

    def __init__(self, phrase: int, text: str, label: str, vocabulary: Vocabulary) -> None:
        self.phrase = phrase
        self.text = text
        self.label = label
        self.key = (phrase, text)  # rules share words: what one found, the next finds in memo
        # One word anywhere in the article: a lookup is enough to tell whether it is there.
        only = vocabulary.phrases[phrase]
        self.word = only.patterns[0] if len(only.patterns) == 1 and only.field is None else None

    def holds(self, scan: Scan) -> bool:
        if self.word is not None:
            return self.word in scan.present
        return scan.has(self.phrase)

    def found(self, scan: Scan) -> list[Found]:
        found = scan.memo.get(self.key)
        if found is None:
            spans = scan.occurrences(self.phrase)
            found = scan.memo[self.key] = [Found(start, end, self.text) for start, end in spans]
        return found

    hits = found

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return [vocabulary.needed(self.phrase)]


class Mention(Positional):
    __slots__ = ("anchors", "field", "participant")

    kind: Kind = "participant"

    def __init__(
        self, participant: str, field: Field | None, label: str, anchors: frozenset[int]
    ) -> None:
        self.participant = participant
        self.field = field
        self.label = label
        self.anchors = anchors

    def found(self, scan: Scan) -> list[Found]:
        mentions = scan.mentions().get(self.participant, [])
        if self.field is None:
            return mentions
        return [m for m in mentions if (m.start >= BODY) == (self.field == "body")]

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return [self.anchors]


class Within(Positional):
    __slots__ = ("distance", "left", "ordered", "right")

    kind: Kind = "near"

    def __init__(
        self,
        left: Positional,
        right: Positional,
        distance: Distance,
        ordered: bool,
        label: str,
    ) -> None:
        self.left = left
        self.right = right
        self.distance = distance
        self.ordered = ordered
        self.label = label

    def holds(self, scan: Scan) -> bool:
        found = scan.memo.get(self)
        if found is not None:
            return bool(found)
        return next(self._pairs(scan), None) is not None  # the first pair is enough

    def found(self, scan: Scan) -> list[Found]:
        found = scan.memo.get(self)
        if found is None:
            found = scan.memo[self] = sorted(set(self._pairs(scan)))
        return found

    def _pairs(self, scan: Scan) -> Iterator[Found]:
        left = self.left.found(scan)
        right = sorted(self.right.found(scan)) if left else []
        if not right:
            return iter(())
        if isinstance(self.distance, int):
            return _pairs_within(left, right, self.distance, self.ordered)
        unit = scan.sentence if self.distance == "sentence" else scan.paragraph
        return _pairs_in_unit(left, right, unit, self.ordered)

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return self.left.needs(vocabulary) + self.right.needs(vocabulary)

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return (self.left.explain(scan), self.right.explain(scan))


def _apart(a: Found, b: Found, ordered: bool) -> bool:
    """Two places that do not overlap, `a` first if `ordered`."""
    return a.end <= b.start or (not ordered and b.end <= a.start)


def _pairs_within(
    left: list[Found], right: list[Found], distance: int, ordered: bool
) -> Iterator[Found]:
    """The places of each side within `distance` words of a place of the other side."""
    starts = [b.start for b in right]
    longest = max(b.end - b.start for b in right)
    for a in left:
        # b may start this far before a (a `b` of `longest` words ending `distance` before)
        low = bisect_left(starts, a.start - distance - longest + 1)
        high = bisect_right(starts, a.end - 1 + distance)
        for b in right[low:high]:
            if _apart(a, b, ordered) and _gap(a, b) <= distance:
                yield a
                yield b


def _gap(a: Found, b: Found) -> int:
    """How far apart two places are: 1 for neighbours, 2 with one word between, …"""
    return b.start - a.end + 1 if a.end <= b.start else a.start - b.end + 1


def _pairs_in_unit(
    left: list[Found], right: list[Found], unit: Callable[[int], int], ordered: bool
) -> Iterator[Found]:
    """The places of each side in one sentence (or paragraph) with a place of the other."""
    by_unit: dict[int, list[Found]] = {}
    for b in right:
        by_unit.setdefault(unit(b.start), []).append(b)
    for a in left:
        for b in by_unit.get(unit(a.start), ()):
            if _apart(a, b, ordered):
                yield a
                yield b


class AnyOf(Condition):
    __slots__ = ("operands",)

    kind: Kind = "any"

    def __init__(self, operands: Sequence[Condition], label: str) -> None:
        self.operands = tuple(operands)
        self.label = label

    def holds(self, scan: Scan) -> bool:
        for operand in self.operands:  # noqa: SIM110  (a loop is quicker than any())
            if operand.holds(scan):
                return True
        return False

    def hits(self, scan: Scan) -> list[Found]:
        found: list[Found] = []
        for operand in self.operands:
            if operand.holds(scan):
                found.extend(operand.hits(scan))  # a long text has many: extend copies in C
        return found

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return _needs_one_of(self.operands, vocabulary)

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return tuple(operand.explain(scan) for operand in self.operands)


def _needs_one_of(operands: Sequence[Condition], vocabulary: Vocabulary) -> Needs:
    """What an OR needs: one of the patterns each operand cannot do without."""
    each = [cheapest(operand.needs(vocabulary), vocabulary) for operand in operands]
    if any(patterns is None for patterns in each):
        return []  # an operand can hold with none of its words: so can the OR
    return [frozenset().union(*(p for p in each if p is not None))]


class EitherOf(Positional):
    """An OR group inside NEAR: the places of any of its operands."""

    __slots__ = ("operands",)
    kind: Kind = "any"

    def __init__(self, operands: Sequence[Positional], label: str) -> None:
        self.operands = tuple(operands)
        self.label = label

    def found(self, scan: Scan) -> list[Found]:
        return sorted(found for operand in self.operands for found in operand.found(scan))

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return _needs_one_of(self.operands, vocabulary)

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return tuple(operand.explain(scan) for operand in self.operands)


class AllOf(Condition):
    __slots__ = ("operands",)

    kind: Kind = "all"

    def __init__(self, operands: Sequence[Condition], label: str) -> None:
        self.operands = tuple(operands)
        self.label = label

    def holds(self, scan: Scan) -> bool:
        for operand in self.operands:  # noqa: SIM110  (a loop is quicker than all())
            if not operand.holds(scan):
                return False
        return True

    def hits(self, scan: Scan) -> list[Found]:
        return _joined([operand.hits(scan) for operand in self.operands])

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return [patterns for operand in self.operands for patterns in operand.needs(vocabulary)]

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return tuple(operand.explain(scan) for operand in self.operands)


class NoneOf(Condition):
    __slots__ = ("operand",)

    kind: Kind = "not"

    def __init__(self, operand: Condition, label: str) -> None:
        self.operand = operand
        self.label = label

    def holds(self, scan: Scan) -> bool:
        return not self.operand.holds(scan)

    def hits(self, scan: Scan) -> list[Found]:
        return []

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return []

    def explain(self, scan: Scan) -> Clause:
        inner = self.operand.explain(scan)
        return Clause(self.label, not inner.held, inner.found, inner.clauses, self.kind)


class AtLeast(Condition):
    __slots__ = ("count", "mentions")

    kind: Kind = "min"

    def __init__(self, mentions: Sequence[Mention], count: int, label: str) -> None:
        self.mentions = tuple(mentions)
        self.count = count
        self.label = label

    def holds(self, scan: Scan) -> bool:
        return sum(mention.holds(scan) for mention in self.mentions) >= self.count

    def hits(self, scan: Scan) -> list[Found]:
        return _joined([mention.found(scan) for mention in self.mentions])

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return [frozenset().union(*(mention.anchors for mention in self.mentions))]

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return tuple(mention.explain(scan) for mention in self.mentions)


class Dated(Condition):
    __slots__ = ("since", "until")

    kind: Kind = "date"

    def __init__(self, since: date | None, until: date | None) -> None:
        self.since = since
        self.until = until
        window = [f"since {since}" if since else "", f"until {until}" if until else ""]
        self.label = " ".join(part for part in window if part)

    def holds(self, scan: Scan) -> bool:
        day = scan.article.date
        return (self.since is None or day >= self.since) and (
            self.until is None or day <= self.until
        )

    def hits(self, scan: Scan) -> list[Found]:
        return []

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return []

    def explain(self, scan: Scan) -> Clause:
        return Clause(self.label, self.holds(scan), (str(scan.article.date),), kind=self.kind)


class Described(Condition):
    """`site:`, `author:` or `lang:`: words of what the article says of itself, not of its text."""

    __slots__ = ("field", "term")
    kind: Kind = "described"

    def __init__(self, field: Describing, term: Term, label: str) -> None:
        self.field = field
        self.term = term
        self.label = label

    def holds(self, scan: Scan) -> bool:
        return any(_has_term(value, self.term) for value in described(scan.article, self.field))

    def hits(self, scan: Scan) -> list[Found]:
        return []  # nothing in the text to show

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return []

    def explain(self, scan: Scan) -> Clause:
        values = described(scan.article, self.field)
        return Clause(self.label, self.holds(scan), values, kind=self.kind)


def described(article: Article, field: Describing) -> tuple[str, ...]:
    """What `site:`, `author:` or `lang:` search in an article: its site's name (its source
    when it names no site) and its web address's host; its author; its language."""
    values: tuple[str | None, ...]
    if field == "author":
        values = (article.author,)
    elif field == "lang":
        values = (article.language,)
    else:
        values = (article.site or article.source, urlsplit(article.url or "").hostname)
    return tuple(value for value in values if value)


def _has_term(value: str, term: Term) -> bool:
    """Whether the words of `term` stand side by side in `value`, as words of a text match."""
    words = [value[token.start : token.end] for token in tokenize(value)]
    size = len(term.words)
    return any(_words_are(words[at : at + size], term) for at in range(len(words) - size + 1))


def _words_are(written: list[str], term: Term) -> bool:
    last = len(term.words) - 1
    pairs = enumerate(zip(written, term.words, strict=True))
    return all(_same_word(word, wanted, term, i == last) for i, (word, wanted) in pairs)


def _same_word(written: str, wanted: str, term: Term, last: bool) -> bool:
    if term.case_sensitive:
        return written_form(written) == written_form(wanted)
    if term.prefix and last:
        return fold(written).startswith(fold(wanted))
    return fold(written) == fold(wanted)


def _joined(lists: list[list[Found]]) -> list[Found]:
    """The places of several lists in one, in their order (a long text has many: copied
    in C)."""
    return list(chain.from_iterable(lists))


def _texts(scan: Scan, found: Iterable[Found]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(scan.text_of(f) for f in sorted(found)))
