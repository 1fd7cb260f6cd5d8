"""Match articles against the rule set: which rules hold, and the words that made them hold.

The rule set is compiled once. Each rule becomes a tree of conditions and is filed in an
index under the words it cannot hold without (the rarest set of them). An article is
scanned once for the words of every rule; only the rules filed under a word it contains,
and the few that can hold with none of their words present (`NOT sport`), are evaluated.
So the cost per article grows with the article, not with the number of rules.

A `Matcher` is never changed after it is built: a new rule set is compiled beside the old
one and swapped in whole.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from worker.articles import Article
from worker.query import And, Distance, Field, Near, Node, Not, Or, ParticipantTerm, Query, Term
from worker.query import keyword_term as _keyword_term
from worker.rules import Keywords, Participant, ParticipantCondition, Rule, RuleSet
from worker.scan import BODY, Found, Hit, Scan, Vocabulary

__all__ = ["Clause", "Explanation", "Hit", "Match", "Matcher"]


@dataclass(frozen=True)
class Match:
    """A rule that holds for an article, with the hits that show why."""

    rule_id: str
    hits: tuple[Hit, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        """The terms found, each once, in order of first appearance."""
        return tuple(dict.fromkeys(h.term for h in self.hits if h.participant is None))

    @property
    def participants(self) -> tuple[str, ...]:
        """The participants found, each once, in order of first appearance."""
        return tuple(dict.fromkeys(h.participant for h in self.hits if h.participant))


Kind = Literal["term", "participant", "near", "any", "all", "not", "min", "date"]


@dataclass(frozen=True)
class Clause:
    """One condition of a rule: whether it held for an article, and what was found for it."""

    label: str  # as the user wrote it: a part of the query, or `keywords.any: …`
    held: bool
    found: tuple[str, ...] = ()  # the text found; for a NOT that failed, what excluded it
    clauses: tuple[Clause, ...] = ()
    kind: Kind = "term"


@dataclass(frozen=True)
class Explanation:
    """Why a rule matched an article, or which of its conditions failed."""

    rule_id: str
    matched: bool
    clauses: tuple[Clause, ...]
    hits: tuple[Hit, ...]


# Sets of patterns such that any article a condition holds for has one of each set.
Needs = list[frozenset[int]]


def _cheapest(needs: Needs, vocabulary: Vocabulary) -> frozenset[int] | None:
    """The set of patterns least likely to be in an article."""
    return min(needs, key=lambda patterns: sum(map(vocabulary.cost, patterns)), default=None)


class _Condition(ABC):
    """A compiled condition of a rule, evaluated over a scanned article."""

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


class _Positional(_Condition):
    """A condition found at places in the text, between which NEAR measures."""

    @abstractmethod
    def found(self, scan: Scan) -> list[Found]:
        """Every place it was found, in reading order."""

    def holds(self, scan: Scan) -> bool:
        return bool(self.found(scan))

    def hits(self, scan: Scan) -> list[Found]:
        return self.found(scan)


class _Term(_Positional):
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
            return self.word in scan.positions
        return scan.has(self.phrase)

    def found(self, scan: Scan) -> list[Found]:
        found = scan.memo.get(self.key)
        if found is None:
            spans = scan.occurrences(self.phrase)
            found = scan.memo[self.key] = [Found(start, end, self.text) for start, end in spans]
        return found

    hits = found

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return [frozenset((vocabulary.anchor(self.phrase),))]


class _Mention(_Positional):
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


class _Near(_Positional):
    kind: Kind = "near"

    def __init__(
        self,
        left: _Positional,
        right: _Positional,
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


class _Any(_Condition):
    kind: Kind = "any"

    def __init__(self, operands: Sequence[_Condition], label: str) -> None:
        self.operands = tuple(operands)
        self.label = label

    def holds(self, scan: Scan) -> bool:
        for operand in self.operands:  # noqa: SIM110  (a loop is quicker than any())
            if operand.holds(scan):
                return True
        return False

    def hits(self, scan: Scan) -> list[Found]:
        return [hit for op in self.operands if op.holds(scan) for hit in op.hits(scan)]

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return _needs_one_of(self.operands, vocabulary)

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return tuple(operand.explain(scan) for operand in self.operands)


def _needs_one_of(operands: Sequence[_Condition], vocabulary: Vocabulary) -> Needs:
    """What an OR needs: one of the patterns each operand cannot do without."""
    cheapest = [_cheapest(operand.needs(vocabulary), vocabulary) for operand in operands]
    if any(patterns is None for patterns in cheapest):
        return []  # an operand can hold with none of its words: so can the OR
    return [frozenset().union(*(p for p in cheapest if p is not None))]


class _Either(_Positional):
    """An OR group inside NEAR: the places of any of its operands."""

    kind: Kind = "any"

    def __init__(self, operands: Sequence[_Positional], label: str) -> None:
        self.operands = tuple(operands)
        self.label = label

    def found(self, scan: Scan) -> list[Found]:
        return sorted(found for operand in self.operands for found in operand.found(scan))

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return _needs_one_of(self.operands, vocabulary)

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return tuple(operand.explain(scan) for operand in self.operands)


class _All(_Condition):
    kind: Kind = "all"

    def __init__(self, operands: Sequence[_Condition], label: str) -> None:
        self.operands = tuple(operands)
        self.label = label

    def holds(self, scan: Scan) -> bool:
        for operand in self.operands:  # noqa: SIM110  (a loop is quicker than all())
            if not operand.holds(scan):
                return False
        return True

    def hits(self, scan: Scan) -> list[Found]:
        return [hit for operand in self.operands for hit in operand.hits(scan)]

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return [patterns for operand in self.operands for patterns in operand.needs(vocabulary)]

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return tuple(operand.explain(scan) for operand in self.operands)


class _None(_Condition):
    kind: Kind = "not"

    def __init__(self, operand: _Condition, label: str) -> None:
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


class _AtLeast(_Condition):
    kind: Kind = "min"

    def __init__(self, mentions: Sequence[_Mention], count: int, label: str) -> None:
        self.mentions = tuple(mentions)
        self.count = count
        self.label = label

    def holds(self, scan: Scan) -> bool:
        return sum(mention.holds(scan) for mention in self.mentions) >= self.count

    def hits(self, scan: Scan) -> list[Found]:
        return [hit for mention in self.mentions for hit in mention.found(scan)]

    def needs(self, vocabulary: Vocabulary) -> Needs:
        return [frozenset().union(*(mention.anchors for mention in self.mentions))]

    def _parts(self, scan: Scan) -> tuple[Clause, ...]:
        return tuple(mention.explain(scan) for mention in self.mentions)


class _Dated(_Condition):
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


def _texts(scan: Scan, found: Iterable[Found]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(scan.text_of(f) for f in sorted(found)))


@dataclass(frozen=True)
class _Compiled:
    """A rule compiled, and the sets of words that decide it quickly."""

    rule_id: str
    condition: _All
    required: frozenset[int]  # patterns in any article the rule holds for
    alternatives: tuple[frozenset[int], ...]  # and one of each of these
    # For a rule of single words only, the words it excludes: with the sets above they
    # decide it, and its conditions need not be evaluated.
    excluded: frozenset[int] | None
    window: _Dated | None

    def holds(self, scan: Scan, present: set[int]) -> bool:
        """Whether the rule holds for the scanned article, whose patterns are `present`."""
        if not self.required <= present:
            return False
        for patterns in self.alternatives:
            if patterns.isdisjoint(present):
                return False
        if self.excluded is None:
            return self.condition.holds(scan)
        return self.excluded.isdisjoint(present) and (
            self.window is None or self.window.holds(scan)
        )


def _excluded_words(condition: _Condition) -> frozenset[int] | None:
    """The words excluded by a condition made only of single words, ORs of them and NOTs
    of those; None for any other condition (its sets of needed words do not decide it)."""
    if isinstance(condition, _Dated):
        return frozenset()
    if isinstance(condition, _All):
        parts = [_excluded_words(operand) for operand in condition.operands]
        if any(part is None for part in parts):
            return None
        return frozenset(word for part in parts if part is not None for word in part)
    if isinstance(condition, _None):
        words = _single_words(condition.operand)
        return None if words is None else frozenset(words)
    return None if _single_words(condition) is None else frozenset()


def _single_words(condition: _Condition) -> list[int] | None:
    """The patterns of a single word, or of an OR of single words; None for anything else."""
    operands = condition.operands if isinstance(condition, _Any) else (condition,)
    words = [operand.word for operand in operands if isinstance(operand, _Term)]
    if len(words) < len(operands) or None in words:
        return None
    return [word for word in words if word is not None]


class _Compiler:
    """Turns rules into conditions over one vocabulary."""

    def __init__(self, participants: Mapping[str, Participant]) -> None:
        self.vocabulary = Vocabulary()
        phrases = {
            pid: [self.vocabulary.alias(pid, text, _keyword_term(text)) for text in person.aliases]
            for pid, person in participants.items()
        }
        self.vocabulary.file_aliases()
        # A mention of a participant needs the anchor of one of its aliases.
        self.anchors = {
            pid: frozenset(map(self.vocabulary.anchor, aliases)) for pid, aliases in phrases.items()
        }

    def rule(self, rule: Rule) -> _Compiled:
        parts: list[_Condition] = []
        if rule.since is not None or rule.until is not None:
            parts.append(_Dated(rule.since, rule.until))
        if rule.query is not None:
            condition = self._query(rule.query, rule.query.node)
            # The parts of a query's top-level AND are the rule's conditions, as if
            # each were written as a block of its own.
            parts.extend(condition.operands if isinstance(condition, _All) else [condition])
        if rule.keywords is not None:
            parts.extend(self._keywords(rule.keywords))
        if rule.participants is not None:
            parts.extend(self._participants(rule.participants))
        condition = _All(parts, rule.id)
        needs = condition.needs(self.vocabulary)
        required = frozenset(p for patterns in needs if len(patterns) == 1 for p in patterns)
        alternatives = tuple({p for p in needs if len(p) > 1 and p.isdisjoint(required)})
        window = parts[0] if parts and isinstance(parts[0], _Dated) else None
        excluded = _excluded_words(condition)
        return _Compiled(rule.id, condition, required, alternatives, excluded, window)

    def _query(self, query: Query, node: Node) -> _Condition:
        label = query.source(node)
        if isinstance(node, Not):
            return _None(self._query(query, node.operand), label)
        if isinstance(node, And):
            return _All([self._query(query, operand) for operand in node.operands], label)
        if isinstance(node, Or):
            return _Any([self._query(query, operand) for operand in node.operands], label)
        return self._positional(query, node)

    def _positional(self, query: Query, node: Node) -> _Positional:
        label = query.source(node)
        if isinstance(node, Term):
            return _Term(self.vocabulary.phrase(node), node.text, label, self.vocabulary)
        if isinstance(node, ParticipantTerm):
            return self._mention(node.participant, node.field, label)
        if isinstance(node, Or):
            return _Either([self._positional(query, operand) for operand in node.operands], label)
        if isinstance(node, Near):
            left, right = self._positional(query, node.left), self._positional(query, node.right)
            return _Near(left, right, node.distance, node.ordered, label)
        raise ValueError(f"{label}: NEAR joins only words, phrases, participants and OR groups")

    def _mention(self, participant: str, field: Field | None, label: str) -> _Mention:
        if participant not in self.anchors:
            raise ValueError(f"unknown participant '@{participant}'")
        return _Mention(participant, field, label, self.anchors[participant])

    def _keyword(self, text: str) -> _Term:
        return _Term(self.vocabulary.phrase(_keyword_term(text)), text, text, self.vocabulary)

    def _keywords(self, block: Keywords) -> list[_Condition]:
        parts: list[_Condition] = []
        if block.any:
            terms = [self._keyword(text) for text in block.any]
            parts.append(_Any(terms, f"keywords.any: {_listed(block.any)}"))
        if block.all:
            terms = [self._keyword(text) for text in block.all]
            parts.append(_All(terms, f"keywords.all: {_listed(block.all)}"))
        if block.none:
            terms = [self._keyword(text) for text in block.none]
            label = f"keywords.none: {_listed(block.none)}"
            parts.append(_None(_Any(terms, label), label))
        return parts

    def _participants(self, block: ParticipantCondition) -> list[_Condition]:
        def mentions(ids: Iterable[str]) -> list[_Mention]:
            return [self._mention(pid, None, f"@{pid}") for pid in ids]

        parts: list[_Condition] = []
        if block.any:
            parts.append(_Any(mentions(block.any), f"participants.any: {_listed(block.any)}"))
        if block.all:
            parts.append(_All(mentions(block.all), f"participants.all: {_listed(block.all)}"))
        if block.none:
            label = f"participants.none: {_listed(block.none)}"
            parts.append(_None(_Any(mentions(block.none), label), label))
        if block.min is not None:
            named = dict.fromkeys((*block.any, *block.all)) or self.anchors
            parts.append(_AtLeast(mentions(named), block.min, f"participants.min: {block.min}"))
        return parts


def _listed(items: Sequence[str], limit: int = 6) -> str:
    shown = [f'"{item}"' if " " in item else item for item in items[:limit]]
    return ", ".join(shown) + (", …" if len(items) > limit else "")


_ANY_ARTICLE = frozenset((-1,))  # a need every article meets: its pattern is in them all


class Matcher:
    """The rule set compiled once; `match` costs in proportion to the article's words."""

    def __init__(self, rules: RuleSet) -> None:
        compiler = _Compiler(rules.participants)
        self._vocabulary = compiler.vocabulary
        self._rules = tuple(compiler.rule(rule) for rule in rules.rules)
        self._by_id = {compiled.rule_id: compiled for compiled in self._rules}
        # Each rule is filed under the patterns of its cheapest need, with the next cheapest
        # it has: that one set lookup weeds out most rules before any is evaluated.
        vocabulary = self._vocabulary
        index: dict[int, list[tuple[int, frozenset[int]]]] = {}
        always: list[int] = []
        for number, compiled in enumerate(self._rules):
            needs = compiled.condition.needs(vocabulary)
            needed = _cheapest(needs, vocabulary)
            if needed is None:
                always.append(number)
            for pattern in needed or ():
                others = [patterns for patterns in needs if pattern not in patterns]
                second = _cheapest(others, vocabulary) or _ANY_ARTICLE
                index.setdefault(pattern, []).append((number, second))
        self._index = index
        self._always = frozenset(always)

    def match(self, article: Article) -> list[Match]:
        """Every rule that holds for `article`, in rule-set order."""
        scan = self._vocabulary.scan(article)
        present = {*_ANY_ARTICLE, *scan.positions}
        matches = []
        for number in self._candidates(present):
            compiled = self._rules[number]
            if compiled.holds(scan, present):
                hits = _hits(scan, compiled.condition.hits(scan))
                matches.append(Match(compiled.rule_id, hits))
        return matches

    def _candidates(self, present: set[int]) -> list[int]:
        """The rules filed under a word of the article, and those filed under none."""
        index = self._index
        found = {
            number
            for pattern in present & index.keys()
            for number, second in index[pattern]
            if not second.isdisjoint(present)
        }
        return sorted(found.union(self._always))

    def explain(self, article: Article, rule_id: str) -> Explanation:
        """Why rule `rule_id` matches `article`, or which of its conditions fail."""
        condition = self._by_id[rule_id].condition
        scan = self._vocabulary.scan(article)
        held = condition.holds(scan)
        hits = _hits(scan, condition.hits(scan)) if held else ()
        clauses = tuple(part.explain(scan) for part in condition.operands)
        return Explanation(rule_id, held, clauses, hits)


def _hits(scan: Scan, found: Iterable[Found]) -> tuple[Hit, ...]:
    """Hits in reading order (the title first), each place and term once."""
    return tuple(map(scan.hit, sorted(set(found))))
