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

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from worker.match.compile import Compiled, Compiler
from worker.match.conditions import Clause, cheapest
from worker.match.vocabulary import Found, Scan
from worker.model import Article, Hit, Match
from worker.rules.ruleset import RuleSet

__all__ = ["Explanation", "Matcher"]


@dataclass(frozen=True)
class Explanation:
    """Why a rule matched an article, or which of its conditions failed."""

    rule_id: str
    matched: bool
    clauses: tuple[Clause, ...]
    hits: tuple[Hit, ...]


_ANY_ARTICLE = frozenset((-1,))  # a need every article meets: its pattern is in them all


class Matcher:
    """The rule set compiled once; `match` costs in proportion to the article's words."""

    def __init__(self, rules: RuleSet) -> None:
        with _collector_paused():
            self._compile(rules)

    def _compile(self, rules: RuleSet) -> None:
        compiler = Compiler(rules.participants)
        self._vocabulary = compiler.vocabulary
        # Every rule's words first: how common a word is guessed from all its uses.
        conditions = [compiler.condition(rule) for rule in rules.rules]
        vocabulary = self._vocabulary
        every: list[Compiled] = []
        # Each rule is filed under the patterns of its cheapest need, and under those of the
        # next cheapest it has: two set intersections weed out most rules, in C, before any
        # rule is looked at.
        index: dict[int, dict[int, int]] = {}
        several: list[list[int]] = []
        always: list[int] = []
        for number, (rule, condition) in enumerate(zip(rules.rules, conditions, strict=True)):
            needs = condition.needs(vocabulary)
            every.append(Compiled.of(rule.id, condition, needs))
            needed = cheapest(needs, vocabulary)
            if needed is None:
                always.append(number)
            for pattern in needed or ():
                others = [patterns for patterns in needs if pattern not in patterns]
                filed = index.setdefault(pattern, {})
                for second in cheapest(others, vocabulary) or _ANY_ARTICLE:
                    _file(filed, second, number, several)
        vocabulary.finish()
        self._index, self._several = index, tuple(map(tuple, several))
        self._always = frozenset(always)
        self._rules = tuple(every)

    def match(self, article: Article) -> list[Match]:
        """Every rule that holds for `article`, in rule-set order."""
        scan = self._vocabulary.scan(article)
        return [
            Match(compiled.rule_id, _hits(scan, compiled.condition.hits(scan)))
            for compiled in self._holding(scan)
        ]

    def rule_ids(self, article: Article) -> list[str]:
        """The ids of the rules that hold for `article`, in rule-set order, without their
        hits: what a count of matches needs (a backtest over months of articles)."""
        scan = self._vocabulary.scan(article, places=False)
        return [compiled.rule_id for compiled in self._holding(scan)]

    def _holding(self, scan: Scan) -> list[Compiled]:
        """The rules that hold for the scanned article, in rule-set order."""
        present = scan.present | _ANY_ARTICLE
        rules = (self._rules[number] for number in self._candidates(present))
        return [compiled for compiled in rules if compiled.holds(scan, present)]

    def _candidates(self, present: set[int]) -> list[int]:
        """The rules filed under a word of the article, and those filed under none."""
        index = self._index
        found = set(self._always)
        for pattern in present & index.keys():
            filed = index[pattern]
            for second in filed.keys() & present:
                found.add(filed[second])
        if found and min(found) < 0:  # places where several rules are filed
            several = [number for number in found if number < 0]
            found.difference_update(several)
            for number in several:
                found.update(self._several[~number])
        return sorted(found)

    @cached_property
    def _by_id(self) -> dict[str, Compiled]:
        # Only explaining one rule looks a rule up by its id: the daemon never does.
        return {rule.rule_id: rule for rule in self._rules}

    def explain(self, article: Article, rule_id: str) -> Explanation:
        """Why rule `rule_id` matches `article`, or which of its conditions fail."""
        (explanation,) = self.explain_all(article, rule_id)
        return explanation

    def explain_all(self, article: Article, rule_id: str | None = None) -> tuple[Explanation, ...]:
        """Why each rule that matches `article` does, in rule-set order; with `rule_id`, why
        that one rule matches or fails. The article is scanned once for all of them."""
        scan = self._vocabulary.scan(article)
        if rule_id is not None:
            return (_explained(self._by_id[rule_id], scan),)
        return tuple(_explained(compiled, scan) for compiled in self._holding(scan))


def _file(filed: dict[int, int], second: int, number: int, several: list[list[int]]) -> None:
    """File rule `number` under `second`. Where one rule is filed (most places) the index
    holds its number; where several are, ~n, n the place of their numbers in `several`.
    100,000 rules are filed in some 350,000 places: a tuple of one number for each took
    16 MB, and a list for each while compiling as much again."""
    known = filed.get(second)
    if known is None:
        filed[second] = number
    elif known >= 0:
        filed[second] = ~len(several)
        several.append([known, number])
    else:
        several[~known].append(number)


def _explained(compiled: Compiled, scan: Scan) -> Explanation:
    condition = compiled.condition
    held = condition.holds(scan)
    hits = _hits(scan, condition.hits(scan)) if held else ()
    clauses = tuple(part.explain(scan) for part in condition.operands)
    return Explanation(compiled.rule_id, held, clauses, hits)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a rule set compiles: it makes many objects and
    no garbage, and the collector, walking them all again and again, took half the time of
    compiling 20,000 rules."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _hits(scan: Scan, found: Iterable[Found]) -> tuple[Hit, ...]:
    """Hits in reading order (the title first), each place and term once."""
    return tuple(map(scan.hit, sorted(set(found))))
