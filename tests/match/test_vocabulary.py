"""Scanning an article for the words of every rule: patterns, phrases and mentions."""

from __future__ import annotations

from datetime import date

import pytest

from worker.match.vocabulary import BODY, Found, Vocabulary
from worker.model import Article
from worker.rules.query import Term, keyword_term


def article(body: str, title: str = "Headline") -> Article:
    return Article("a1", title, body, date(2024, 5, 1), "inbox/a.txt")


def term(text: str, **options: object) -> Term:
    return Term(tuple(text.split()), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule_term", "text", "found"),
    [
        (term("summit"), "The Summit opened", ["Summit"]),
        (term("summit"), "summits", []),
        (
            term("sanction", prefix=True),
            "Sanctions, sanctioned, sanction, sanctity",
            ["Sanctions", "sanctioned", "sanction"],
        ),
        (term("US", case_sensitive=True), "US and us and U.S.", ["US"]),
        (term("US", case_sensitive=True), "the US's", ["US's"]),
        (term("Xi"), "Xi'an and Xi’an, not Xi", ["Xi"]),
        (term("Ukraine"), "d'Ukraine, l’Ukraine", ["d'Ukraine", "l’Ukraine"]),
        (term("Путин"), "Путину и Путиным, не путь", ["Путину", "Путиным"]),
        (term("Ван"), "Ван И, ванна", ["Ван"]),
        (term("peace talks"), "peace talks, Peace Talks", ["peace talks", "Peace Talks"]),
        (term("peace talks"), "peace. Talks began", []),  # not across a sentence end
        (term("peace talks"), "peace, talks", ["peace, talks"]),
        (term("习 近 平"), "习近平会见普京", ["习近平"]),
        (
            term("nuclear energ", prefix=True),
            "nuclear energy and nuclear energies",
            ["nuclear energy", "nuclear energies"],
        ),
        (term("talks", field="title"), "talks", []),
    ],
)
def test_terms_are_found_where_they_stand(rule_term: Term, text: str, found: list[str]) -> None:
    vocabulary = Vocabulary()
    phrase = vocabulary.phrase(rule_term)
    scan = vocabulary.scan(article(text))
    spans = scan.occurrences(phrase)
    assert [scan.text_of(Found(start, end, "")) for start, end in spans] == found


def mentions(aliases: dict[str, list[str]], text: str) -> list[tuple[str, str]]:
    vocabulary = Vocabulary()
    for participant, names in aliases.items():
        for name in names:
            vocabulary.alias(participant, name, keyword_term(name))
    vocabulary.file_aliases()
    scan = vocabulary.scan(article(text))
    found = [m for ms in scan.mentions().values() for m in ms]
    return [(m.participant or "", scan.text_of(m)) for m in sorted(found)]


def test_overlapping_aliases_of_one_participant_are_one_mention() -> None:
    xi = {"xi": ["Xi", "President Xi", "Xi Jinping"]}
    assert mentions(xi, "President Xi Jinping met Xi.") == [
        ("xi", "President Xi Jinping"),
        ("xi", "Xi"),
    ]


def test_the_longest_alias_wins_between_participants() -> None:
    people = {"wang-yi": ["Wang Yi"], "wang": ["Wang"], "yi": ["Yi Gang"]}
    assert mentions(people, "Wang Yi Gang spoke. Wang left.") == [
        ("wang-yi", "Wang Yi"),
        ("wang", "Wang"),
    ]


def test_an_alias_is_not_found_across_sentences() -> None:
    assert mentions({"xi": ["President Xi"]}, "He met the President. Xi left.") == []


def test_title_and_body_are_numbered_apart() -> None:
    vocabulary = Vocabulary()
    phrase = vocabulary.phrase(term("talks"))
    scan = vocabulary.scan(article("more talks", title="Talks"))
    assert scan.occurrences(phrase) == [(0, 1), (BODY + 1, BODY + 2)]
    assert scan.sentence(0) != scan.sentence(BODY)
