"""The query language: every form parses to the tree it means, and every fault names its column."""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.rules.trees import trees, written
from worker.rules.query import (
    And,
    Near,
    Node,
    Not,
    Or,
    ParticipantTerm,
    QueryError,
    Term,
    keyword_term,
    parse_query,
)


def word(text: str, **options: object) -> Term:
    return Term(tuple(text.split()), **options)  # type: ignore[arg-type]


a, b, c, d = word("a"), word("b"), word("c"), word("d")


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("Putin", word("Putin")),
        ('"peace talks"', word("peace talks")),
        ("“peace talks”", word("peace talks")),  # curly quotes, as pasted from a document
        ("„peace talks“", word("peace talks")),
        ("«мирные переговоры»", word("мирные переговоры")),  # guillemets
        ("‹peace talks›", word("peace talks")),
        ("「和平谈判」", word("和 平 谈 判")),  # corner brackets
        ('«a "b" c»', word("a b c")),  # a guillemet closes only with its own mark
        ('"a «b» c"', word("a b c")),
        ("«a» OR b", Or((a, b))),
        ("sanction*", word("sanction", prefix=True)),
        ('"nuclear energ*"', word("nuclear energ", prefix=True)),
        ("{US}", word("US", case_sensitive=True)),
        ("{New York}", word("New York", case_sensitive=True)),
        ("China-Russia", word("China Russia")),  # a compound is a phrase of its words
        ("Putin's", word("Putin's")),
        ("a b", And((a, b))),  # implicit AND
        ("a AND b", And((a, b))),
        ("a OR b", Or((a, b))),
        ("NOT a", Not(a)),
        ("a NOT b", And((a, Not(b)))),
        ("a and b", And((a, word("and"), b))),  # operators are written in capitals
        ("a OR b c", Or((a, And((b, c))))),  # AND binds tighter than OR
        ("NOT a b", And((Not(a), b))),  # NOT binds tightest
        ("NOT a OR b", Or((Not(a), b))),
        ("(a OR b) c", And((Or((a, b)), c))),
        ("a OR (b AND NOT c)", Or((a, And((b, Not(c)))))),
        ("a NEAR/5 b", Near(a, b, 5)),
        ("a near/5 b", Near(a, b, 5)),
        ("a ONEAR/3 b", Near(a, b, 3, ordered=True)),
        ("a NEAR/sentence b", Near(a, b, "sentence")),
        ("a NEAR/paragraph b", Near(a, b, "paragraph")),
        ('"peace talks" NEAR/10 Ukraine', Near(word("peace talks"), word("Ukraine"), 10)),
        ("(a OR b) NEAR/3 c", Near(Or((a, b)), c, 3)),
        ("a NEAR/3 b NEAR/4 c", Near(Near(a, b, 3), c, 4)),
        ("a NEAR/2 b OR c", Or((Near(a, b, 2), c))),  # NEAR binds before OR
        ("NOT a NEAR/2 b", Not(Near(a, b, 2))),
        ("a near Moscow", And((a, word("near"), word("Moscow")))),  # a word, without /n
        ("@putin", ParticipantTerm("putin")),
        (
            "@xi NEAR/sentence @putin",
            Near(ParticipantTerm("xi"), ParticipantTerm("putin"), "sentence"),
        ),
        ("title:Ukraine", word("Ukraine", field="title")),
        ('body:"peace talks"', word("peace talks", field="body")),
        ("title:@putin", ParticipantTerm("putin", field="title")),
        ("title:(a OR b)", Or((word("a", field="title"), word("b", field="title")))),
        ("TITLE:a", word("a", field="title")),
        ("site:Reuters", word("Reuters", field="site")),
        ('author:"Anna Kovacs"', word("Anna Kovacs", field="author")),
        ("Lang:EN", word("EN", field="lang")),
        ("lang:(en OR de)", Or((word("en", field="lang"), word("de", field="lang")))),
        ("site:reuters.com", word("reuters com", field="site")),
        ("习近平", word("习 近 平")),
    ],
)
def test_every_form_parses_to_what_it_means(query: str, tree: Node) -> None:
    assert parse_query(query).node == tree


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("Ukraine AND (talks", 13, "unbalanced parenthesis; close it with )"),
        ("Moscow AND (", 12, "unbalanced parenthesis; close it with )"),  # at the very end
        ("Ukraine talks)", 14, "unbalanced parenthesis: this ) has no ( before it; remove it"),
        ("Ukraine AND", 9, "AND needs a term after it"),
        ("OR Ukraine", 1, "OR needs a term before it"),
        ("Ukraine AND OR talks", 13, "AND is followed by OR; put a term between them"),
        ("Ukraine AND (talks OR)", 20, "OR needs a term after it"),
        ("NOT", 1, "NOT needs a term after it"),
        ("China NEAR/0 Russia", 7, "NEAR/0: the distance must be 1 word or more, as in NEAR/3"),
        (
            "China NEAR/ten Russia",
            7,
            "'NEAR/ten': write NEAR/5 (a number of words), NEAR/sentence or NEAR/paragraph",
        ),
        (
            "China NEAR Russia",
            7,
            "NEAR needs a distance: NEAR/5 (words), NEAR/sentence or NEAR/paragraph",
        ),
        ('Ukraine AND ""', 13, "empty phrase; put words between the quotes or remove them"),
        ('Ukraine AND "peace talks', 13, 'unclosed quote; end the phrase with "'),
        ("«мирные переговоры", 1, "unclosed quote; end the phrase with »"),
        ('«мирные переговоры"', 1, "unclosed quote; end the phrase with »"),
        ("a AND ‹peace talks", 7, "unclosed quote; end the phrase with ›"),
        ("「和平谈判", 1, "unclosed quote; end the phrase with 」"),
        ("„peace talks", 1, "unclosed quote; end the phrase with “"),
        ("мирные переговоры»", 18, "this » closes no «; remove it"),
        ("a OR b›", 7, "this › closes no ‹; remove it"),
        ("«»", 1, "empty phrase; put words between the quotes or remove them"),
        ("a AND ()", 7, "empty parentheses; put a term inside or remove them"),
        ("{US", 1, "unclosed {; end the case-sensitive term with }"),
        ("{}", 1, "empty {}; put the case-sensitive word between them"),
        ("US}", 3, "this } closes no {; remove it"),
        ("{US*}", 1, "a {case-sensitive} term cannot end with *; remove the *"),
        ("neg*tiation", 4, "a * can only end a word, as in sanction*; remove this one"),
        ("a AND *", 7, "a * can only end a word, as in sanction*; remove this one"),
        ("a AND -", 7, "'-' has no letters or digits to search for; remove it"),
        ("a AND @", 7, "@ must be followed by a participant id, as in @putin"),
        ("title:", 1, "title: needs a term after it"),
        (
            "writer:Smith",
            1,
            "unknown field 'writer:'; the fields are title:, body:, site:, author: and lang: "
            "(put the words in quotes to search for them)",
        ),
        (
            "site:courier NEAR/3 Lavrov",
            1,
            "site: cannot stand inside NEAR/3: it searches what the article says of itself, "
            "not its text; join it with AND",
        ),
        (
            "Lavrov NEAR/3 (a OR lang:en)",
            21,
            "lang: cannot stand inside NEAR/3: it searches what the article says of itself, "
            "not its text; join it with AND",
        ),
        (
            "author:(a NEAR/3 b)",
            8,
            "author: cannot stand inside NEAR: it searches what the article says of itself, "
            "not its text; join it with AND",
        ),
        (
            "author:@putin",
            8,
            'author: takes words, not @putin; write the name itself, as in author:"…"',
        ),
        ("site:(title:a)", 7, "title: inside site: can never match; keep one"),
        ("title:(body:a)", 8, "body: inside title: can never match; keep one"),
        (
            "a NEAR/3 (b AND c)",
            10,
            "NEAR/3 joins words, phrases, @participants and (… OR …) groups, not AND or NOT; "
            "move them outside",
        ),
        (
            "a NEAR/3 NOT b",
            10,
            "NOT cannot stand inside NEAR/3; to leave a word out, write … AND NOT word",
        ),
        ("   ", 1, "the query is empty; write at least one word"),
    ],
)
def test_a_fault_names_its_column_and_what_to_do(query: str, column: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert (caught.value.column, caught.value.message) == (column, message)
    assert str(caught.value) == f"column {column}: {message}"


def test_every_part_knows_its_text() -> None:
    query = parse_query('Ukraine AND ("peace talks" OR negotiat*) AND NOT title:sport*')
    assert isinstance(query.node, And)
    assert [query.source(part) for part in query.node.operands] == [
        "Ukraine",
        '("peace talks" OR negotiat*)',
        "NOT title:sport*",
    ]


def test_a_phrase_is_named_by_its_words_without_its_quotes() -> None:
    query = parse_query("«мирные переговоры» AND Украина")
    assert isinstance(query.node, And)
    phrase = query.node.operands[0]
    assert isinstance(phrase, Term)
    assert (phrase.text, query.source(phrase)) == ("мирные переговоры", "«мирные переговоры»")


def test_participants_named() -> None:
    query = parse_query("@xi NEAR/sentence (@putin OR Putin) NOT @lavrov")
    assert [(p.participant, p.start + 1) for p in query.participants()] == [
        ("xi", 1),
        ("putin", 20),
        ("lavrov", 41),
    ]


@pytest.mark.parametrize(
    ("keyword", "term"),
    [
        ("video call", word("video call")),
        ("sanction*", word("sanction", prefix=True)),
        ("AND", word("AND")),  # a keyword is taken literally
        ("Xi Jin-ping", word("Xi Jin ping")),
    ],
)
def test_keywords_are_literal(keyword: str, term: Term) -> None:
    assert keyword_term(keyword) == term


def test_a_keyword_needs_letters() -> None:
    with pytest.raises(ValueError, match="'--' has no letters or digits to match; remove it"):
        keyword_term("--")


# --- round trip: a tree written out parses back to the same tree ------------------------


@given(trees(words=["china", "russia", "talks", "gas", "Putin", "sanction"], participants=["xi"]))
def test_a_tree_written_out_parses_back(tree: Node) -> None:
    assert parse_query(written(tree)).node == tree
