"""What `check` warns of in rule files that load: a rule that can never match, or matches by
what an article lacks alone; a participant no rule uses; two rules with the same conditions;
a wildcard too short to mean much; a rule that matched too large a share of the articles
stored. Warnings never stop a rule set from loading; `check --strict` makes them errors.

Pure: the files are read, and the matches counted, by the caller.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from worker.errors import Problem
from worker.rules.query import And, Node, Not, Or, Term, keyword_term, leaves
from worker.rules.ruleset import Rule, RuleFile
from worker.settings.yamlfile import YamlFile
from worker.text.words import is_cjk

__all__ = [
    "FEWEST_ARTICLES",
    "SHORTEST_PREFIX",
    "TOO_BROAD",
    "Broad",
    "rule_warnings",
    "too_broad",
]

# Letters before a `*` for a wildcard to mean something: `ab*` finds most of a dictionary.
SHORTEST_PREFIX = 3
# The share of the last 30 days' articles past which a rule is too broad to read.
TOO_BROAD = 0.5
# Fewer articles than this say nothing of a rule's share.
FEWEST_ARTICLES = 20

RuleFiles = Sequence[tuple[YamlFile, RuleFile]]


def rule_warnings(files: RuleFiles) -> list[Problem]:
    """Every warning about these rule files, file by file, from the top down."""
    found = [
        *_never_matching(files),
        *_absence_only(files),
        *_short_wildcards(files),
        *_same_conditions(files),
        *_empty_aliases(files),
        *_unused_participants(files),
    ]
    order = {document.path: n for n, (document, _) in enumerate(files)}
    return sorted(found, key=lambda p: (order.get(p.file, 0), p.line or 0))


@dataclass(frozen=True)
class Broad:
    """How many of the articles stored lately a rule matched."""

    rule_id: str
    matched: int
    articles: int

    @property
    def share(self) -> float:
        """The share of the articles it matched."""
        return self.matched / self.articles if self.articles else 0.0


def too_broad(files: RuleFiles, counted: Sequence[Broad], threshold: float) -> list[Problem]:
    """`too broad: 74%` for each rule that matched more than `threshold` of the articles,
    when there were enough of them to tell."""
    places = dict(_rules(files))
    return [
        _at(places[count.rule_id], (), _broad(count))
        for count in counted
        if count.rule_id in places and count.articles >= FEWEST_ARTICLES and count.share > threshold
    ]


def _broad(count: Broad) -> str:
    return (
        f"too broad: {count.share:.0%} ({count.matched} of {count.articles} articles of the"
        " last 30 days); narrow it, or it floods every digest"
    )


_Place = tuple[YamlFile, int]  # a rule's file and its index under rules:


def _rules(files: RuleFiles) -> Iterator[tuple[str, tuple[_Place, Rule]]]:
    for document, content in files:
        for i, rule in enumerate(content.rules):
            yield rule.id, ((document, i), rule)


def _at(located: tuple[_Place, Rule], key: tuple[str | int, ...], message: str) -> Problem:
    (document, i), rule = located
    return document.problem(("rules", i, *key), f"warning: rule '{rule.id}': {message}")


# --- a rule that can never match ----------------------------------------------------------


def _never_matching(files: RuleFiles) -> Iterator[Problem]:
    defined = sum(len(content.participants) for _, content in files)
    for _, located in _rules(files):
        for key, why in _contradictions(located[1], defined):
            yield _at(located, key, f"can never match: {why}")


def _contradictions(rule: Rule, defined: int) -> Iterator[tuple[tuple[str, ...], str]]:
    words = rule.keywords
    if words is not None:
        for word in _folded(words.all) & _folded(words.none):
            yield ("keywords",), f"'{word}' is under both all and none; remove one"
    people = rule.participants
    if people is not None:
        for pid in sorted(set(people.all) & set(people.none)):
            yield ("participants",), f"'{pid}' is under both all and none; remove one"
        if people.any and set(people.any) <= set(people.none):
            yield ("participants",), "every participant under any is also under none"
        if people.min is not None and not (people.any or people.all) and people.min > defined:
            told = f"min {people.min}, but {defined} participants are defined; lower min"
            yield ("participants", "min"), told
    if rule.query is not None:
        for node in _denied(rule.query.node):
            told = f"it needs {rule.query.source(node)} and NOT {rule.query.source(node)} at once"
            yield ("query",), told


def _folded(words: Sequence[str]) -> set[str]:
    return {" ".join(word.casefold().split()) for word in words}


def _denied(node: Node) -> Iterator[Node]:
    """A part the query needs and excludes at once (`a AND NOT a`)."""
    if not isinstance(node, And):
        return
    needed = [part for part in node.operands if not isinstance(part, Not)]
    excluded = {part.operand for part in node.operands if isinstance(part, Not)}
    yield from (part for part in needed if part in excluded)


# --- a rule that matches by absence alone --------------------------------------------------


def _absence_only(files: RuleFiles) -> Iterator[Problem]:
    for _, located in _rules(files):
        if not _finds_something(located[1]):
            yield _at(
                located,
                (),
                "only NOT terms: it finds nothing and matches every article that lacks"
                " them; add a word or participant it must find",
            )


def _finds_something(rule: Rule) -> bool:
    """Whether the rule needs an article to hold something, not only to lack it."""
    words, people = rule.keywords, rule.participants
    return (
        (rule.query is not None and _positive(rule.query.node))
        or (words is not None and bool(words.any or words.all))
        or (people is not None and bool(people.any or people.all or people.min))
    )


def _positive(node: Node) -> bool:
    """Whether the query holds only where something is found."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(map(_positive, node.operands))
    if isinstance(node, Or):
        return all(map(_positive, node.operands))
    return True  # a term, a participant, a NEAR (both sides found)


# --- a wildcard too short -------------------------------------------------------------------


def _short_wildcards(files: RuleFiles) -> Iterator[Problem]:
    for _, located in _rules(files):
        rule = located[1]
        if rule.query is not None:
            for term in _terms(rule.query.node):
                if _too_short(term):
                    told = f"column {term.start + 1}: {_short(rule.query.source(term))}"
                    yield _at(located, ("query",), told)
        for block, words in _keyword_blocks(rule):
            for j, word in enumerate(words):
                if _too_short(keyword_term(word)):
                    yield _at(located, ("keywords", block, j), _short(word))


def _short(written: str) -> str:
    return (
        f"wildcard '{written}' is too short: it finds almost any word that begins so; give"
        f" at least {SHORTEST_PREFIX} letters before the *"
    )


def _too_short(term: Term) -> bool:
    last = term.words[-1]
    return term.prefix and len(term.words) == 1 and len(last) < SHORTEST_PREFIX and not is_cjk(last)


def _terms(node: Node) -> Iterator[Term]:
    return (leaf for leaf in leaves(node) if isinstance(leaf, Term))


def _keyword_blocks(rule: Rule) -> Iterator[tuple[str, tuple[str, ...]]]:
    words = rule.keywords
    if words is not None:
        yield from (("any", words.any), ("all", words.all), ("none", words.none))


# --- two rules alike ------------------------------------------------------------------------


def _same_conditions(files: RuleFiles) -> Iterator[Problem]:
    first: dict[Any, tuple[_Place, Rule]] = {}
    for _, located in _rules(files):
        conditions = _conditions(located[1])
        earlier = first.setdefault(conditions, located)
        if earlier is not located:
            (document, i), rule = earlier
            where = f"{document.path}:{document.line_of(('rules', i))}"
            told = f"same query as rule '{rule.id}' ({where}): both match the same articles"
            yield _at(located, (), f"{told}; keep one")


def _conditions(rule: Rule) -> tuple[Any, ...]:
    """What decides what the rule matches, comparable: the query's tree, not its spelling."""
    query = None if rule.query is None else rule.query.node
    return (query, rule.keywords, rule.participants, rule.since, rule.until)


# --- participants ---------------------------------------------------------------------------


def _empty_aliases(files: RuleFiles) -> Iterator[Problem]:
    for document, content in files:
        raw = document.data.get("participants") if isinstance(document.data, dict) else None
        for pid, person in content.participants.items():
            entry = raw.get(pid) if isinstance(raw, dict) else None
            if isinstance(entry, dict) and entry.get("aliases") == []:
                told = (
                    f"warning: an empty alias list: only the name '{person.name}' finds"
                    f" '{pid}'; list the names articles use, or leave out aliases:"
                )
                yield document.problem(("participants", pid, "aliases"), told)


def _unused_participants(files: RuleFiles) -> Iterator[Problem]:
    used = set[str]().union(*(_named(rule) for _, (_, rule) in _rules(files)))
    for document, content in files:
        for pid in content.participants:
            if pid not in used and _ANYONE not in used:
                told = f"warning: no rule uses participant '{pid}'; name it in a rule or remove it"
                yield document.problem(("participants", pid), told)


_ANYONE = ""  # a rule counts `min` of every participant defined: it uses them all


def _named(rule: Rule) -> set[str]:
    named = set()
    if rule.query is not None:
        named |= {term.participant for term in rule.query.participants()}
    people = rule.participants
    if people is not None:
        named |= {*people.any, *people.all, *people.none}
        if people.min is not None and not (people.any or people.all):
            named.add(_ANYONE)
    return named
