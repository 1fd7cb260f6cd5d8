"""A plain inverted-index matcher, the reference the matcher is measured against.

Rules of words only (AND, OR, NOT of single words): the text is lower-cased and split into
runs of word characters, each rule is filed under the longest word it cannot hold without
(the rarest, as a rule), and the rules filed under a word of the article are verified
against its set of words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.model import Article
from worker.rules.query import And, Node, Not, Or, Term
from worker.rules.ruleset import RuleSet

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class WordRule:
    rule_id: str
    order: int
    required: frozenset[str]
    alternatives: tuple[frozenset[str], ...]
    excluded: frozenset[str]

    def holds(self, words: set[str]) -> bool:
        return (
            self.required <= words
            and all(not alternative.isdisjoint(words) for alternative in self.alternatives)
            and self.excluded.isdisjoint(words)
        )


class InvertedIndex:
    def __init__(self, rules: RuleSet) -> None:
        self.index: dict[str, list[WordRule]] = {}
        for order, rule in enumerate(rules.rules):
            assert rule.query is not None, "keyword-only rules are written as queries"
            compiled = _word_rule(rule.id, order, rule.query.node)
            self.index.setdefault(max(compiled.required, key=len), []).append(compiled)

    def match(self, article: Article) -> list[str]:
        words = set(_WORD.findall(f"{article.title}\n{article.body}".lower()))
        held = [
            rule
            for word in words & self.index.keys()
            for rule in self.index[word]
            if rule.holds(words)
        ]
        return [rule.rule_id for rule in sorted(held, key=lambda rule: rule.order)]


def _word_rule(rule_id: str, order: int, node: Node) -> WordRule:
    required: set[str] = set()
    alternatives: list[frozenset[str]] = []
    excluded: set[str] = set()
    for operand in node.operands if isinstance(node, And) else (node,):
        if isinstance(operand, Term):
            required.add(_word(operand))
        elif isinstance(operand, Or):
            alternatives.append(frozenset(_word(term) for term in operand.operands))
        elif isinstance(operand, Not):
            excluded.add(_word(operand.operand))
        else:
            raise ValueError(f"{rule_id}: not a rule of words only")
    return WordRule(rule_id, order, frozenset(required), tuple(alternatives), frozenset(excluded))


def _word(node: Node) -> str:
    if not isinstance(node, Term) or len(node.words) > 1 or node.prefix:
        raise ValueError(f"not a single word: {node}")
    return node.words[0].lower()
