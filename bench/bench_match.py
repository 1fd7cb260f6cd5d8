"""How fast the matcher is, beside a naive baseline and beside tokenizing alone.

    .venv/bin/python bench/bench_match.py                 # 100, 1,000 and 10,000 rules
    .venv/bin/python bench/bench_match.py --sizes 1000 --articles 500

A seeded synthetic corpus (articles of about 3 KB: Zipf-distributed words, collocations,
people's names, curly quotes) is matched against seeded rule sets that mix words, phrases,
prefixes, NEAR and participants. For each size it prints articles per second of:

- wirewatch: `Matcher.match`, the rule set compiled once;
- naive `re`: every rule evaluated on every article with Python regular expressions;
- tokenize only: splitting title and body into folded words, the least any matcher does
  (the tokenizer as it was before the speed-ups, frozen in bench/frozen_words.py);

and the time to load and compile the rules and the memory they take. The naive baseline
runs on as many articles as fit in a few seconds (it is slow); on those, the two must
find the same rules. Rates are the best of a few passes, after one to warm up.
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import frozen_words
from inverted_index import InvertedIndex
from table import Row as TableRow
from table import at_least, at_most

from worker.match.matcher import Matcher
from worker.model import Article
from worker.rules.query import And, Near, Node, Not, Or, ParticipantTerm, Term, keyword_term
from worker.rules.ruleset import Rule, RuleFile, RuleSet
from worker.text.words import Passage, fold

VOCABULARY = 30_000
PEOPLE = 300
COLLOCATIONS = 600
TOPICAL = 300
ARTICLE_CHARS = 3_000
BASELINE_SECONDS = 3.0

_ONSETS = ["", "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st"]
_NUCLEI = ["a", "e", "i", "o", "u", "ai", "ou", "ea"]
_CODAS = ["", "", "n", "r", "s", "l", "m", "k", "nd", "st"]
# operators, and titles after which a period does not end a sentence
_RESERVED = {"and", "or", "not", "near", "gen", "sen", "rep", "gov", "col", "st", "mr", "dr"}


@dataclass(frozen=True)
class Corpus:
    words: list[str]  # by rank, most frequent first
    weights: list[float]  # cumulative Zipf weights
    collocations: list[tuple[str, str]]
    people: list[tuple[str, str]]  # first name, surname

    def word(self, rng: random.Random) -> str:
        return rng.choices(self.words, cum_weights=self.weights)[0]

    def topical(self, rng: random.Random) -> str:
        """A word an analyst would put in a rule: log-uniform over the ranks from TOPICAL on.

        The most frequent words (the, of, said, would…) are not what rules search for.
        """
        rank = int(TOPICAL * (len(self.words) / TOPICAL) ** rng.random())
        return self.words[min(rank, len(self.words) - 1)]


def make_corpus(rng: random.Random) -> Corpus:
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        word = _word(rng)
        if len(word) > 1 and word not in _RESERVED:
            words[word] = None
    # Zipf's law of abbreviation: the more frequent a word, the shorter it tends to be.
    ranked = sorted(words, key=lambda word: len(word) + rng.gauss(0, 2))
    cumulative, total = [], 0.0
    for rank in range(1, len(ranked) + 1):
        total += 1 / rank**1.05
        cumulative.append(total)
    corpus = Corpus(ranked, cumulative, [], [])
    corpus.collocations.extend(
        (corpus.topical(rng), corpus.topical(rng)) for _ in range(COLLOCATIONS)
    )
    names: dict[str, None] = {}
    while len(names) < 2 * PEOPLE:
        name = _word(rng) + _word(rng)  # names are not words of the language
        if name not in words:
            names[name.title()] = None
    first, last = list(names)[:PEOPLE], list(names)[PEOPLE:]
    corpus.people.extend(zip(first, last, strict=True))
    return corpus


def _word(rng: random.Random) -> str:
    syllables = rng.choice([1, 2, 2, 3, 3, 4])
    return "".join(
        rng.choice(_ONSETS) + rng.choice(_NUCLEI) + rng.choice(_CODAS) for _ in range(syllables)
    )


def make_article(corpus: Corpus, rng: random.Random, number: int) -> Article:
    title = _sentence(corpus, rng, rng.randint(6, 11)).rstrip(".")
    paragraphs: list[list[str]] = [[]]
    length, wanted = len(title), rng.randint(2, 5)
    while length < ARTICLE_CHARS - 60:  # the last sentence ends it at about ARTICLE_CHARS
        if len(paragraphs[-1]) == wanted:
            paragraphs.append([])
            wanted = rng.randint(2, 5)
        sentence = _sentence(corpus, rng, rng.randint(8, 24))
        paragraphs[-1].append(sentence)
        length += len(sentence) + 1
    body = "\n\n".join(" ".join(sentences) for sentences in paragraphs)
    return Article(f"a{number}", title, body, date(2024, 1, 1), f"bench/{number}.txt")


def _sentence(corpus: Corpus, rng: random.Random, size: int) -> str:
    words = [corpus.word(rng) for _ in range(size)]
    if rng.random() < 0.35:
        words[rng.randrange(size)] = " ".join(rng.choice(corpus.collocations))
    if rng.random() < 0.2:
        first, surname = rng.choice(corpus.people)
        name = rng.choice([f"{first} {surname}", surname, f"President {surname}"])
        words[rng.randrange(size)] = name + ("’s" if rng.random() < 0.2 else "")
    if rng.random() < 0.1:
        at = rng.randrange(size)
        words[at] = f"“{words[at]}”"
    if rng.random() < 0.1:
        words[rng.randrange(size)] += " –"
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def make_rules(corpus: Corpus, rng: random.Random, count: int) -> dict[str, Any]:
    """Rule-file data, as YAML would give it: participants and `count` rules."""
    participants = {
        f"p{i}": {"name": f"{first} {last}", "aliases": [last, f"President {last}"]}
        for i, (first, last) in enumerate(corpus.people)
    }
    makers = [_words, _words, _phrases, _prefix, _near, _near, _people, _people, _excluding]
    rules = [{"id": f"r{i}", **rng.choice(makers)(corpus, rng)} for i in range(count)]
    return {"participants": participants, "rules": rules}


def _phrase(corpus: Corpus, rng: random.Random) -> str:
    return '"{} {}"'.format(*rng.choice(corpus.collocations))


def _words(corpus: Corpus, rng: random.Random) -> dict[str, Any]:
    a, b, c = (corpus.topical(rng) for _ in range(3))
    return {"query": f"{a} AND ({b} OR {c})"}


def _phrases(corpus: Corpus, rng: random.Random) -> dict[str, Any]:
    first, second = _phrase(corpus, rng), _phrase(corpus, rng)
    return {"query": f"({first} OR {second}) {corpus.topical(rng)}"}


def _prefix(corpus: Corpus, rng: random.Random) -> dict[str, Any]:
    word = corpus.topical(rng)
    while len(word) < 7:
        word = corpus.topical(rng)
    return {"query": f"{word[:5]}* AND {corpus.topical(rng)}"}


def _near(corpus: Corpus, rng: random.Random) -> dict[str, Any]:
    left = rng.choice([corpus.topical(rng), _phrase(corpus, rng)])
    operator = rng.choice(["NEAR/5", "NEAR/10", "ONEAR/8", "NEAR/sentence"])
    return {"query": f"{left} {operator} {corpus.topical(rng)}"}


def _people(corpus: Corpus, rng: random.Random) -> dict[str, Any]:
    a, b = (f"p{rng.randrange(len(corpus.people))}" for _ in range(2))
    if rng.random() < 0.5:
        return {"query": f"@{a} NEAR/sentence (@{b} OR {corpus.topical(rng)})"}
    words = [corpus.topical(rng) for _ in range(4)]
    return {"participants": {"any": [a, b]}, "keywords": {"any": words}}


def _excluding(corpus: Corpus, rng: random.Random) -> dict[str, Any]:
    a, b, c = (corpus.topical(rng) for _ in range(3))
    return {"query": f"{a} AND {b} AND NOT {c}"}


# --- the naive baseline: Python `re`, every rule on every article ---------------------

Predicate = Callable[[tuple[str, str]], bool]  # of the lower-cased title and body


def naive_rules(rules: RuleSet) -> list[tuple[str, Predicate]]:
    """Each rule as a function of the lower-cased text, made of regular expressions."""
    aliases = {
        pid: "|".join(_phrase_re(keyword_term(alias)) for alias in person.aliases)
        for pid, person in rules.participants.items()
    }
    return [(rule.id, _naive_rule(rule, aliases)) for rule in rules.rules]


def _naive_rule(rule: Rule, aliases: dict[str, str]) -> Predicate:
    parts: list[Predicate] = []
    if rule.query is not None:
        parts.append(_naive(rule.query.node, aliases))
    if rule.keywords is not None:
        terms = [_search(_phrase_re(keyword_term(k))) for k in rule.keywords.any]
        parts.append(lambda text: any(term(text) for term in terms))
    if rule.participants is not None:
        people = [_search(f"(?:{aliases[p]})") for p in rule.participants.any]
        parts.append(lambda text: any(person(text) for person in people))
    return lambda text: all(part(text) for part in parts)


def _naive(node: Node, aliases: dict[str, str]) -> Predicate:
    if isinstance(node, And):
        operands = [_naive(operand, aliases) for operand in node.operands]
        return lambda text: all(operand(text) for operand in operands)
    if isinstance(node, Or):
        operands = [_naive(operand, aliases) for operand in node.operands]
        return lambda text: any(operand(text) for operand in operands)
    if isinstance(node, Not):
        operand = _naive(node.operand, aliases)
        return lambda text: not operand(text)
    return _search(_regex(node, aliases))


def _regex(node: Node, aliases: dict[str, str]) -> str:
    if isinstance(node, Term):
        return _phrase_re(node)
    if isinstance(node, ParticipantTerm):
        return f"(?:{aliases[node.participant]})"
    if isinstance(node, Or):
        return "(?:" + "|".join(_regex(operand, aliases) for operand in node.operands) + ")"
    assert isinstance(node, Near)
    left, right = _regex(node.left, aliases), _regex(node.right, aliases)
    if node.distance == "sentence":
        between = r"\W+(?:[^.!?\n]*\W)?"
    else:
        between = rf"(?:’s|'s)?\W+(?:\w+(?:’s|'s)?\W+){{0,{int(node.distance) - 1}}}"
    forward = f"{left}{between}{right}"
    return forward if node.ordered else f"{forward}|{right}{between}{left}"


def _phrase_re(term: Term) -> str:
    words = [re.escape(fold(word)) for word in term.words]
    last = r"\w*" if term.prefix else r"(?![^\W_])"
    return r"(?<![^\W_])" + r"[^\w.!?]+".join(words) + last


def _search(pattern: str) -> Predicate:
    search = re.compile(pattern).search
    return lambda texts: search(texts[0]) is not None or search(texts[1]) is not None


def naive_match(rules: list[tuple[str, Predicate]], article: Article) -> list[str]:
    texts = (article.title.lower(), article.body.lower())
    return [rule_id for rule_id, holds in rules if holds(texts)]


# --- measuring -----------------------------------------------------------------------


def frozen_tokenizer() -> Callable[[Article], object]:
    """The tokenizer as it was before the speed-ups, each distinct word folded once."""
    folded = frozen_words.Folded()
    return lambda a: frozen_words.tokenize(a.title, a.body, folded)


def live_tokenizer() -> Callable[[Article], object]:
    """Today's tokenizer, each distinct word folded once."""
    folded = frozen_words.Folded()
    return lambda a: list(map(folded.__getitem__, Passage(a.title).words + Passage(a.body).words))


def frozen_tokenize_rate(articles: list[Article], rounds: int) -> float:
    """Articles per second of the tokenizer as it was before the speed-ups."""
    return rate(frozen_tokenizer(), articles, rounds)


def rates(
    functions: dict[str, Callable[[Article], object]], articles: list[Article], rounds: int
) -> dict[str, float]:
    """Articles per second of each function: the best of `rounds` passes over `articles`,
    after one to warm up, the functions taking turns pass by pass, in processor time of
    this process. On a loaded machine a figure and its baseline so bear the load alike."""
    best = dict.fromkeys(functions, float("inf"))
    for round_ in range(rounds + 1):
        for name, function in functions.items():
            gc.collect()
            start = time.process_time()
            for article in articles:
                function(article)
            if round_:
                best[name] = min(best[name], time.process_time() - start)
    return {name: len(articles) / seconds for name, seconds in best.items()}


def rate(function: Callable[[Article], object], articles: list[Article], rounds: int) -> float:
    """Articles per second, the best of `rounds` passes over `articles`."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        for article in articles:
            function(article)
        best = min(best, time.perf_counter() - start)
    return len(articles) / best


def sample_rate(
    function: Callable[[Article], list[str]], articles: list[Article]
) -> tuple[float, dict[str, list[str]]]:
    """Articles per second over as many articles as fit in BASELINE_SECONDS (at least 3),
    and what the function returned for each, by article id."""
    start = time.perf_counter()
    results: dict[str, list[str]] = {}
    for article in articles:
        results[article.id] = function(article)
        if len(results) >= 3 and time.perf_counter() - start > BASELINE_SECONDS:
            break
    return len(results) / (time.perf_counter() - start), results


def load(data: dict[str, Any]) -> RuleSet:
    content = RuleFile.model_validate(data)
    return RuleSet(content.participants, content.rules)


def compiled_size(data: dict[str, Any]) -> int:
    """Bytes held by the loaded rules and their matcher, as a daemon holds both."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    rules = load(data)
    matcher = Matcher(rules)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del rules, matcher
    return held


@dataclass(frozen=True)
class Row:
    rules: int
    engine: float
    naive: float
    tokenize: float
    load_s: float
    compile_s: float
    memory_mb: float
    matches_per_article: float
    agreed: str


def measure(corpus: Corpus, articles: list[Article], size: int, seed: int, rounds: int) -> Row:
    data = make_rules(corpus, random.Random(seed + size), size)
    started = time.perf_counter()
    rules = load(data)
    loaded = time.perf_counter()
    matcher = Matcher(rules)
    compiled = time.perf_counter()
    total = sum(len(matcher.match(article)) for article in articles)  # also warms up
    engine = rate(matcher.match, articles, rounds)
    tokenize = frozen_tokenize_rate(articles, rounds)
    baseline = naive_rules(rules)
    naive, expected = sample_rate(lambda article: naive_match(baseline, article), articles)
    agree = _agreement(matcher, articles, expected)
    return Row(
        rules=size,
        engine=engine,
        naive=naive,
        tokenize=tokenize,
        load_s=loaded - started,
        compile_s=compiled - loaded,
        memory_mb=compiled_size(data) / 1e6,
        matches_per_article=total / len(articles),
        agreed=agree,
    )


def _agreement(matcher: Matcher, articles: list[Article], expected: dict[str, list[str]]) -> str:
    """On how many of the articles the baseline saw both found the same rules."""
    same = sum(
        [m.rule_id for m in matcher.match(article)] == expected[article.id]
        for article in articles
        if article.id in expected
    )
    return f"{same}/{len(expected)}"


HEADER = (
    f"{'rules':>6} {'wirewatch':>10} {'naive re':>9} {'tokenize':>9} {'vs naive':>9} "
    f"{'vs tokenize':>12} {'load':>7} {'compile':>8} {'memory':>8} {'matches':>8} {'agree':>6}"
)


def line(row: Row) -> str:
    return (
        f"{row.rules:>6,} {row.engine:>10,.0f} {row.naive:>9,.1f} {row.tokenize:>9,.0f} "
        f"{row.engine / row.naive:>8,.0f}× {row.tokenize / row.engine:>11.2f}× "
        f"{row.load_s:>6.2f}s {row.compile_s:>7.2f}s {row.memory_mb:>6.1f}MB "
        f"{row.matches_per_article:>8.1f} {row.agreed:>6}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = make_corpus(rng)
    articles = [make_article(corpus, rng, i) for i in range(args.articles)]
    chars = sum(len(a.title) + len(a.body) for a in articles) / len(articles)
    print(f"{len(articles)} articles of {chars:,.0f} characters on average (seed {args.seed})")
    print(
        "wirewatch, naive re, tokenize: articles per second; vs naive: times faster than the\n"
        "naive baseline; vs tokenize: time per article in multiples of tokenizing alone;\n"
        "load: rules validated and parsed; compile: Matcher built; memory: held by both;\n"
        "matches: per article; agree: sample articles on which wirewatch and naive agree\n"
    )
    print(HEADER, flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        print(line(measure(corpus, articles, size, args.seed, args.rounds)), flush=True)


if __name__ == "__main__":
    main()


# --- the rows of `make bench` ---------------------------------------------------------

LONG_ARTICLE_CHARS = 300_000


def make_keyword_rules(corpus: Corpus, rng: random.Random, count: int) -> dict[str, Any]:
    """Rules of single words only, which the inverted-index baseline evaluates too."""
    makers = [_words, _excluding]
    return {"rules": [{"id": f"k{i}", **rng.choice(makers)(corpus, rng)} for i in range(count)]}


def long_article(articles: list[Article]) -> Article:
    """One article of about LONG_ARTICLE_CHARS: the bodies of many, one after the other."""
    bodies: list[str] = []
    for article in articles:
        bodies.append(article.body)
        if sum(map(len, bodies)) >= LONG_ARTICLE_CHARS:
            break
    first = articles[0]
    return Article("long", first.title, "\n\n".join(bodies), first.date, "bench/long.txt")


def rows(quick: bool) -> list[TableRow]:
    """The matcher's rows of the table: 1,000, 10,000 and 100,000 rules, one long article,
    and the tokenizer, each beside its baseline from this run."""
    seed, rounds = 7, 2 if quick else 3
    rng = random.Random(seed)
    corpus = make_corpus(rng)
    articles = [make_article(corpus, rng, i) for i in range(300 if quick else 1500)]
    tokenizers = {"live": live_tokenizer(), "frozen": frozen_tokenizer()}
    live, frozen = rates(tokenizers, articles, rounds).values()
    found = [
        TableRow(
            "tokenizer, 3 KB articles",
            f"{live:,.0f} art/s",
            f"earlier tokenizer {frozen:,.0f} art/s",
            *at_least(live / frozen, 1.0),
        )
    ]
    for size, target in ((1_000, 1.3), (10_000, 2.0)):
        found.extend(_rows_at(corpus, articles, size, target, rounds))
    found.extend(_rows_of_many(corpus, articles[: 200 if quick else 600], seed, rounds))
    return found


def _rows_at(
    corpus: Corpus,
    articles: list[Article],
    size: int,
    tokenize_target: float,
    rounds: int,
) -> list[TableRow]:
    keywords = load(make_keyword_rules(corpus, random.Random(size), size))
    matcher, index = Matcher(keywords), InvertedIndex(keywords)
    agreed = sum(matcher.rule_ids(a) == index.match(a) for a in articles)
    # Like for like: the rules that hold, as the index gives them; and with their hits,
    # as ingest stores them.
    paired: dict[str, Callable[[Article], object]] = {
        "engine": matcher.rule_ids,
        "index": index.match,
        "hits": matcher.match,
    }
    engine, reference, with_hits = rates(paired, articles, rounds).values()
    mixed = load(make_rules(corpus, random.Random(7 + size), size))
    matcher = Matcher(mixed)
    timed: dict[str, Callable[[Article], object]] = {
        "engine": matcher.match,
        "tokenize": frozen_tokenizer(),
        "ids": matcher.rule_ids,
    }
    mixed_rate, frozen, ids_rate = rates(timed, articles, rounds).values()
    baseline = naive_rules(mixed)
    _, expected = sample_rate(lambda article: naive_match(baseline, article), articles)
    long = long_article(articles)
    naive_agrees = _agreement(matcher, articles, expected)
    return [
        TableRow(
            f"matcher, {size:,} keyword-only rules",
            f"{engine:,.0f} art/s ({with_hits:,.0f} with hits)",
            f"inverted index {reference:,.0f} art/s, same rules on {agreed}/{len(articles)}",
            *at_least(engine / reference, 1.2),
        ),
        TableRow(
            f"matcher, {size:,} rules, time per article",
            f"{mixed_rate:,.0f} art/s ({ids_rate:,.0f} without hits)",
            f"tokenize {frozen:,.0f} art/s; naive re agrees {naive_agrees}",
            *at_most(frozen / mixed_rate, tokenize_target),
        ),
        *([_long_row(matcher, long, rounds)] if size == 10_000 else []),
    ]


def _long_row(matcher: Matcher, long: Article, rounds: int) -> TableRow:
    paired = {"engine": matcher.match, "tokenize": frozen_tokenizer()}
    engine, tokenize = rates(paired, [long], rounds).values()
    return TableRow(
        f"one {len(long.body) // 1000} KB article, 10,000 rules",
        f"{engine:,.1f} art/s",
        f"target 100 art/s; tokenize {tokenize:,.0f} art/s",
        *at_least(engine / 100, 1.0),
    )


def _rows_of_many(
    corpus: Corpus, articles: list[Article], seed: int, rounds: int
) -> list[TableRow]:
    size = 100_000
    data = make_rules(corpus, random.Random(seed + size), size)
    rules = load(data)
    started = time.process_time()
    matcher = Matcher(rules)
    compile_s = time.process_time() - started
    (engine,) = rates({"engine": matcher.match}, articles, rounds).values()
    del matcher, rules
    memory_mb = compiled_size(data) / 1e6
    return [
        TableRow(
            "matcher, 100,000 rules",
            f"{engine:,.0f} art/s",
            "target 1,500 art/s",
            *at_least(engine / 1500, 1.0),
        ),
        TableRow(
            "matcher, 100,000 rules, compile",
            f"{compile_s:.2f} s",
            "target 3 s",
            *at_most(compile_s / 3, 1.0),
        ),
        TableRow(
            "matcher, 100,000 rules, memory",
            f"+{memory_mb:,.0f} MB",
            "target +120 MB (rules loaded and compiled)",
            *at_most(memory_mb / 120, 1.0),
        ),
    ]
