"""Rules compiled into conditions over one vocabulary of words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from worker.match.conditions import (
    AllOf,
    AnyOf,
    AtLeast,
    Condition,
    Dated,
    Described,
    EitherOf,
    Mention,
    Needs,
    NoneOf,
    Phrase,
    Positional,
    Within,
)
from worker.match.vocabulary import Scan, Vocabulary
from worker.rules.query import (
    DESCRIBING,
    And,
    Describing,
    Field,
    Near,
    Node,
    Not,
    Or,
    ParticipantTerm,
    Query,
    Term,
)
from worker.rules.query import keyword_term as _keyword_term
from worker.rules.ruleset import Keywords, Participant, ParticipantCondition, Rule

__all__ = ["Compiled", "Compiler"]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A rule compiled, and the sets of words that decide it quickly."""

    rule_id: str
    condition: AllOf
    # Kept as tuples, a third the size of sets: a large rule set has many.
    required: tuple[int, ...]  # patterns in any article the rule holds for
    alternatives: tuple[tuple[int, ...], ...]  # and one of each of these
    # For a rule of single words only, the words it excludes: with the sets above they
    # decide it, and its conditions need not be evaluated.
    excluded: tuple[int, ...] | None
    window: Dated | None

    @classmethod
    def of(cls, rule_id: str, condition: AllOf, needs: Needs) -> Compiled:
        """A rule's conditions and the sets of words that decide it quickly, from what it needs
        (worked out once the whole rule set is compiled, to weigh words by all their uses)."""
        required = frozenset(p for patterns in needs if len(patterns) == 1 for p in patterns)
        alternatives = {p for p in needs if len(p) > 1 and p.isdisjoint(required)}
        first = condition.operands[:1]
        window = first[0] if first and type(first[0]) is Dated else None
        excluded = _excluded_words(condition)
        return cls(
            rule_id,
            condition,
            tuple(required),
            tuple(map(tuple, alternatives)),
            None if excluded is None else tuple(excluded),
            window,
        )

    def holds(self, scan: Scan, present: set[int]) -> bool:
        """Whether the rule holds for the scanned article, whose patterns are `present`."""
        if not present.issuperset(self.required):
            return False
        for patterns in self.alternatives:
            if present.isdisjoint(patterns):
                return False
        if self.excluded is None:
            return self.condition.holds(scan)
        return present.isdisjoint(self.excluded) and (
            self.window is None or self.window.holds(scan)
        )


# The kinds of condition are told apart by their exact types below (none has subclasses):
# isinstance on an abstract class's subclass is a call into abc, and compiling 100,000
# rules made a million of them.


def _excluded_words(condition: Condition) -> set[int] | None:
    """The words excluded by a condition made only of single words, ORs of them and NOTs
    of those; None for any other condition (its sets of needed words do not decide it)."""
    if type(condition) is Dated:
        return set()
    if type(condition) is AllOf:
        excluded: set[int] = set()
        for operand in condition.operands:
            part = _excluded_words(operand)
            if part is None:
                return None
            excluded |= part
        return excluded
    if type(condition) is NoneOf:
        words = _single_words(condition.operand)
        return None if words is None else set(words)
    return None if _single_words(condition) is None else set()


def _single_words(condition: Condition) -> list[int] | None:
    """The patterns of a single word, or of an OR of single words; None for anything else."""
    operands = condition.operands if type(condition) is AnyOf else (condition,)
    words: list[int] = []
    for operand in operands:
        if type(operand) is not Phrase or operand.word is None:
            return None
        words.append(operand.word)
    return words


class Compiler:
    """Turns rules into conditions over one vocabulary."""

    def __init__(self, participants: Mapping[str, Participant]) -> None:
        self.vocabulary = Vocabulary()
        self._phrases: dict[tuple[int, str, str], Phrase] = {}
        phrases = {
            pid: [self.vocabulary.alias(pid, text, _keyword_term(text)) for text in person.aliases]
            for pid, person in participants.items()
        }
        self.vocabulary.file_aliases()
        # A mention of a participant needs the anchor of one of its aliases.
        self.anchors = {
            pid: frozenset(map(self.vocabulary.anchor, aliases)) for pid, aliases in phrases.items()
        }

    def condition(self, rule: Rule) -> AllOf:
        """A rule's conditions, all of which must hold."""
        parts: list[Condition] = []
        if rule.since is not None or rule.until is not None:
            parts.append(Dated(rule.since, rule.until))
        if rule.query is not None:
            condition = self._query(rule.query, rule.query.take_node())
            # The parts of a query's top-level AND are the rule's conditions, as if
            # each were written as a block of its own.
            parts.extend(condition.operands if isinstance(condition, AllOf) else [condition])
        if rule.keywords is not None:
            parts.extend(self._keywords(rule.keywords))
        if rule.participants is not None:
            parts.extend(self._participants(rule.participants))
        return AllOf(parts, rule.id)

    def _query(self, query: Query, node: Node) -> Condition:
        label = query.source(node)
        if isinstance(node, Not):
            return NoneOf(self._query(query, node.operand), label)
        if isinstance(node, And):
            return AllOf([self._query(query, operand) for operand in node.operands], label)
        if isinstance(node, Or):
            return AnyOf([self._query(query, operand) for operand in node.operands], label)
        if isinstance(node, Term) and node.field in DESCRIBING:
            return Described(cast(Describing, node.field), node, label)
        return self._positional(query, node, label)

    def _positional(self, query: Query, node: Node, label: str | None = None) -> Positional:
        label = query.source(node) if label is None else label
        if isinstance(node, Term):
            return self._phrase(self.vocabulary.phrase(node), node.text, label)
        if isinstance(node, ParticipantTerm):
            return self._mention(node.participant, node.field, label)
        if isinstance(node, Or):
            return EitherOf([self._positional(query, operand) for operand in node.operands], label)
        if isinstance(node, Near):
            left, right = self._positional(query, node.left), self._positional(query, node.right)
            return Within(left, right, node.distance, node.ordered, label)
        raise ValueError(f"{label}: NEAR joins only words, phrases, participants and OR groups")

    def _mention(self, participant: str, field: Field | None, label: str) -> Mention:
        if participant not in self.anchors:
            raise ValueError(f"unknown participant '@{participant}'")
        return Mention(participant, field, label, self.anchors[participant])

    def _keyword(self, text: str) -> Phrase:
        return self._phrase(self.vocabulary.phrase(_keyword_term(text)), text, text)

    def _phrase(self, phrase: int, text: str, label: str) -> Phrase:
        """The condition of a phrase, one for every rule that writes it alike (it is only
        read)."""
        key = (phrase, text, label)
        found = self._phrases.get(key)
        if found is None:
            found = self._phrases[key] = Phrase(phrase, text, label, self.vocabulary)
        return found

    def _keywords(self, block: Keywords) -> list[Condition]:
        parts: list[Condition] = []
        if block.any:
            terms = [self._keyword(text) for text in block.any]
            parts.append(AnyOf(terms, f"keywords.any: {_listed(block.any)}"))
        if block.all:
            terms = [self._keyword(text) for text in block.all]
            parts.append(AllOf(terms, f"keywords.all: {_listed(block.all)}"))
        if block.none:
            terms = [self._keyword(text) for text in block.none]
            label = f"keywords.none: {_listed(block.none)}"
            parts.append(NoneOf(AnyOf(terms, label), label))
        return parts

    def _participants(self, block: ParticipantCondition) -> list[Condition]:
        def mentions(ids: Iterable[str]) -> list[Mention]:
            return [self._mention(pid, None, f"@{pid}") for pid in ids]

        parts: list[Condition] = []
        if block.any:
            parts.append(AnyOf(mentions(block.any), f"participants.any: {_listed(block.any)}"))
        if block.all:
            parts.append(AllOf(mentions(block.all), f"participants.all: {_listed(block.all)}"))
        if block.none:
            label = f"participants.none: {_listed(block.none)}"
            parts.append(NoneOf(AnyOf(mentions(block.none), label), label))
        if block.min is not None:
            named = dict.fromkeys((*block.any, *block.all)) or self.anchors
            parts.append(AtLeast(mentions(named), block.min, f"participants.min: {block.min}"))
        return parts


def _listed(items: Sequence[str], limit: int = 6) -> str:
    shown = [f'"{item}"' if " " in item else item for item in items[:limit]]
    return ", ".join(shown) + (", …" if len(items) > limit else "")
