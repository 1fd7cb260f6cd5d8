"""Rule lint: the warnings `check` gives about rules that load but cannot work as meant."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from worker.rules.files import read_rule_files
from worker.rules.lint import FEWEST_ARTICLES, SHORTEST_PREFIX, Broad, rule_warnings, too_broad
from worker.rules.ruleset import RuleFile
from worker.settings.yamlfile import YamlFile

PARTICIPANTS = """\
    participants:
      xi:    {name: Xi Jinping, aliases: ["President Xi"]}
      putin: {name: Vladimir Putin, aliases: ["Putin"]}
    """

Files = list[tuple[YamlFile, RuleFile]]


def rule_file(tmp_path: Path, rules: str, participants: str = PARTICIPANTS) -> Files:
    """One rule file with these rules (and participants), as `check` reads it."""
    path = tmp_path / "rules.yaml"
    text = (
        textwrap.dedent(participants) + "rules:\n" + textwrap.indent(textwrap.dedent(rules), "  ")
    )
    path.write_text(text, encoding="utf-8")
    (read,) = read_rule_files([path])
    return [read]


def warnings(files: Files) -> list[str]:
    return [str(problem).split(": ", 1)[1] for problem in rule_warnings(files)]


BOTH = "- {id: both, participants: {all: [xi, putin]}}\n"


@pytest.mark.parametrize(
    ("rule", "warning"),
    [
        (
            "- {id: r, query: 'NOT sport*'}",
            "rules[1]: warning: rule 'r': only NOT terms: it finds nothing and matches every"
            " article that lacks them; add a word or participant it must find",
        ),
        (
            "- {id: r, keywords: {none: [sport]}}",
            "rules[1]: warning: rule 'r': only NOT terms",
        ),
        (
            "- {id: r, query: 'sanction* OR NOT sport'}",
            "rules[1]: warning: rule 'r': only NOT terms",
        ),
        (
            "- {id: r, query: 'Putin AND talks AND NOT talks'}",
            "rules[1].query: warning: rule 'r': can never match: it needs talks and NOT talks",
        ),
        (
            "- {id: r, keywords: {all: [Gas], none: [gas]}}",
            "rules[1].keywords: warning: rule 'r': can never match: 'gas' is under both all and"
            " none",
        ),
        (
            "- {id: r, participants: {all: [xi, putin], none: [putin]}}",
            "rules[1].participants: warning: rule 'r': can never match: 'putin' is under both",
        ),
        (
            "- {id: r, participants: {min: 3}}",
            "rules[1].participants.min: warning: rule 'r': can never match: min 3, but 2"
            " participants are defined",
        ),
        (
            "- {id: r, query: 'China AND a*'}",
            "rules[1].query: warning: rule 'r': column 11: wildcard 'a*' is too short: it finds"
            f" almost any word that begins so; give at least {SHORTEST_PREFIX} letters before",
        ),
        (
            "- {id: r, keywords: {any: [ru*, sanction*]}}",
            "rules[1].keywords.any[0]: warning: rule 'r': wildcard 'ru*' is too short",
        ),
    ],
)
def test_a_rule_that_cannot_work_as_meant_is_warned_of(
    tmp_path: Path, rule: str, warning: str
) -> None:
    found = warnings(rule_file(tmp_path, BOTH + rule))
    assert len(found) == 1, found
    assert found[0].startswith(warning)


@pytest.mark.parametrize(
    "rule",
    [
        "- {id: r, query: 'sanction* AND NOT sport*'}",
        "- {id: r, query: 'san* AND NOT (talks OR NOT summit)'}",
        "- {id: r, keywords: {any: [oil], none: [sport]}}",
        "- {id: r, participants: {min: 2}}",
        "- {id: r, participants: {any: [xi], none: [putin]}}",
        "- {id: r, query: '习*'}",  # a Chinese character is a word of its own
    ],
)
def test_a_sound_rule_has_no_warning(tmp_path: Path, rule: str) -> None:
    assert warnings(rule_file(tmp_path, BOTH + rule)) == []


def test_two_rules_with_the_same_query_written_apart(tmp_path: Path) -> None:
    files = rule_file(
        tmp_path,
        BOTH
        + "- {id: first, query: 'Putin AND (talks OR summit)'}\n"
        + "- {id: second, query: '  Putin   (talks OR summit)'}\n",
    )
    (warning,) = rule_warnings(files)
    assert warning.line == 7
    assert str(warning).endswith(
        f"rules[2]: warning: rule 'second': same query as rule 'first' ({files[0][0].path}:6):"
        " both match the same articles; keep one"
    )


def test_the_same_query_with_other_keywords_is_another_rule(tmp_path: Path) -> None:
    files = rule_file(
        tmp_path,
        BOTH
        + "- {id: first, query: 'Putin', keywords: {any: [oil]}}\n"
        + "- {id: second, query: 'Putin', keywords: {any: [gas]}}\n",
    )
    assert rule_warnings(files) == []


def test_a_participant_no_rule_uses_and_an_empty_alias_list(tmp_path: Path) -> None:
    participants = PARTICIPANTS + "  lavrov: {name: Sergey Lavrov, aliases: []}\n"
    files = rule_file(tmp_path, BOTH, participants)
    assert [(w.line, str(w).split(": ", 1)[1]) for w in rule_warnings(files)] == [
        (
            4,
            "participants.lavrov.aliases: warning: an empty alias list: only the name"
            " 'Sergey Lavrov' finds 'lavrov'; list the names articles use, or leave out"
            " aliases:",
        ),
        (
            4,
            "participants.lavrov: warning: no rule uses participant 'lavrov'; name it in a"
            " rule or remove it",
        ),
    ]


def test_a_participant_named_only_in_a_query_or_counted_by_min_is_used(tmp_path: Path) -> None:
    assert warnings(rule_file(tmp_path, "- {id: r, query: '@xi NEAR/5 @putin'}")) == []
    assert warnings(rule_file(tmp_path, "- {id: r, participants: {min: 1}}")) == []


@pytest.mark.parametrize(
    ("matched", "articles", "warned"),
    [
        (74, 100, True),
        (50, 100, False),  # the threshold itself is not past it
        (FEWEST_ARTICLES - 1, FEWEST_ARTICLES - 1, False),  # too few articles to tell
        (0, 0, False),
    ],
)
def test_a_rule_too_broad_for_the_articles_stored(
    tmp_path: Path, matched: int, articles: int, warned: bool
) -> None:
    files = rule_file(tmp_path, BOTH)
    found = too_broad(files, [Broad("both", matched, articles)], threshold=0.5)
    expected = (
        [
            "rules[0]: warning: rule 'both': too broad: 74% (74 of 100 articles of the last"
            " 30 days); narrow it, or it floods every digest"
        ]
        if warned
        else []
    )
    assert [str(problem).split(": ", 1)[1] for problem in found] == expected
