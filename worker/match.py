"""Match articles against the rule set: which rules hold, and the words that made them hold."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from worker.articles import Article
from worker.rules import Participant, Rule, RuleSet
from worker.text import Token, terms_of, tokenize

__all__ = ["Hit", "Match", "Matcher"]

Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """One place in an article where a rule's keyword or a participant's alias was found."""

    term: str
    field: str
    start: int
    end: int
    participant: str | None = None


@dataclass(frozen=True)
class Match:
    """A rule that holds for an article, with the hits that show why."""

    rule_id: str
    hits: tuple[Hit, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        """The keywords found, each once, in order of first appearance."""
        return tuple(dict.fromkeys(h.term for h in self.hits if h.participant is None))

    @property
    def participants(self) -> tuple[str, ...]:
        """The participants found, each once, in order of first appearance."""
        return tuple(dict.fromkeys(h.participant for h in self.hits if h.participant))


@dataclass(frozen=True)
class _Term:
    """A keyword or alias as written by the user, and the folded words it stands for."""

    text: str
    phrase: Phrase
    participant: str | None = None


class _Found:
    """The hits of one article, looked up by keyword phrase and by participant."""

    def __init__(self, hits: Iterable[tuple[_Term, Hit]]) -> None:
        self.by_phrase: dict[Phrase, list[Hit]] = defaultdict(list)
        self.by_participant: dict[str, list[Hit]] = defaultdict(list)
        for term, hit in hits:
            if term.participant is None:
                self.by_phrase[term.phrase].append(hit)
            else:
                self.by_participant[term.participant].append(hit)


class Matcher:
    """The rule set compiled once; `match` costs in proportion to the article's words."""

    def __init__(self, rules: RuleSet) -> None:
        self._rules = rules.rules
        self._keywords = {rule.id: _keyword_phrases(rule) for rule in rules.rules}
        self._starts = _index_terms(_all_terms(rules))

    def match(self, article: Article) -> list[Match]:
        """Every rule that holds for `article`, in rule-set order."""
        found = _Found(_scan(article, self._starts))
        matches = (self._evaluate(rule, article, found) for rule in self._rules)
        return [match for match in matches if match is not None]

    def _evaluate(self, rule: Rule, article: Article, found: _Found) -> Match | None:
        if rule.since is not None and article.date < rule.since:
            return None
        if rule.until is not None and article.date > rule.until:
            return None
        keyword_hits = _keywords_hold(self._keywords[rule.id], found)
        participant_hits = _participants_hold(rule, found)
        if keyword_hits is None or participant_hits is None:
            return None
        hits = sorted(keyword_hits + participant_hits, key=_reading_order)
        return Match(rule_id=rule.id, hits=tuple(hits))


def _reading_order(hit: Hit) -> tuple[bool, int]:
    return (hit.field != "title", hit.start)


def _keyword_phrases(rule: Rule) -> Mapping[str, tuple[_Term, ...]]:
    block = rule.keywords
    if block is None:
        return {"any": (), "all": (), "none": ()}
    return {
        name: tuple(_Term(word, terms_of(word)) for word in getattr(block, name))
        for name in ("any", "all", "none")
    }


def _all_terms(rules: RuleSet) -> list[_Term]:
    terms = [_Term(word, terms_of(word)) for rule in rules.rules for word in _keywords_of(rule)]
    for participant_id, participant in rules.participants.items():
        terms.extend(_alias_terms(participant_id, participant))
    return [term for term in terms if term.phrase]


def _keywords_of(rule: Rule) -> tuple[str, ...]:
    block = rule.keywords
    return () if block is None else (*block.any, *block.all, *block.none)


def _alias_terms(participant_id: str, participant: Participant) -> list[_Term]:
    return [_Term(alias, terms_of(alias), participant_id) for alias in participant.aliases]


def _index_terms(terms: Iterable[_Term]) -> dict[str, list[_Term]]:
    """Terms by their first word; one pass over an article then finds them all."""
    starts: dict[str, dict[tuple[Phrase, str | None], _Term]] = defaultdict(dict)
    for term in terms:
        starts[term.phrase[0]].setdefault((term.phrase, term.participant), term)
    return {word: list(by_key.values()) for word, by_key in starts.items()}


def _scan(article: Article, starts: Mapping[str, list[_Term]]) -> list[tuple[_Term, Hit]]:
    found: list[tuple[_Term, Hit]] = []
    for field, text in (("title", article.title), ("body", article.body)):
        found.extend(_scan_field(field, tokenize(text), starts))
    return _longest_mentions(found)


def _scan_field(
    field: str, tokens: list[Token], starts: Mapping[str, list[_Term]]
) -> list[tuple[_Term, Hit]]:
    words = [token.text for token in tokens]
    found: list[tuple[_Term, Hit]] = []
    for position, word in enumerate(words):
        for term in starts.get(word, ()):
            end = position + len(term.phrase)
            if tuple(words[position:end]) == term.phrase:
                first, last = tokens[position], tokens[end - 1]
                hit = Hit(term.text, field, first.start, last.end, term.participant)
                found.append((term, hit))
    return found


def _longest_mentions(found: list[tuple[_Term, Hit]]) -> list[tuple[_Term, Hit]]:
    """Drop alias hits inside a longer alias hit: "President Xi Jinping" is one mention."""
    aliases = [hit for term, hit in found if term.participant is not None]

    def inside_longer(hit: Hit) -> bool:
        return any(
            other.field == hit.field
            and other.start <= hit.start
            and hit.end <= other.end
            and (other.end - other.start) > (hit.end - hit.start)
            for other in aliases
        )

    return [(t, h) for t, h in found if t.participant is None or not inside_longer(h)]


def _keywords_hold(block: Mapping[str, tuple[_Term, ...]], found: _Found) -> list[Hit] | None:
    """The keyword hits when the keyword block holds, else None."""
    hits = {term.text: found.by_phrase.get(term.phrase, []) for term in block["any"]}
    if block["any"] and not any(hits.values()):
        return None
    for term in block["all"]:
        hits[term.text] = found.by_phrase.get(term.phrase, [])
        if not hits[term.text]:
            return None
    if any(found.by_phrase.get(term.phrase) for term in block["none"]):
        return None
    return [hit for term_hits in hits.values() for hit in term_hits]


def _participants_hold(rule: Rule, found: _Found) -> list[Hit] | None:
    """The participant hits when the participant block holds, else None."""
    block = rule.participants
    if block is None:
        return []
    present = {p for p in found.by_participant if found.by_participant[p]}
    named = {*block.any, *block.all}
    if block.any and not present & set(block.any):
        return None
    if not set(block.all) <= present:
        return None
    if present & set(block.none):
        return None
    if block.min is not None and len(present & named if named else present) < block.min:
        return None
    shown = named & present if named else present
    return [hit for p in sorted(shown) for hit in found.by_participant[p]]
