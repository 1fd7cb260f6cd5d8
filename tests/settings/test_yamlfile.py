"""YAML files read with the line of every key: anchors, aliases and their mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.errors import ConfigError
from worker.settings.yamlfile import read_yaml


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_alias_repeats_its_anchor_with_the_anchor_s_lines(tmp_path: Path) -> None:
    text = "base: &base\n  when: daily\n  tags: [a, b]\nrule:\n  copy: *base\n"
    document = read_yaml(written(tmp_path, text))
    assert document.data["rule"]["copy"] == {"when": "daily", "tags": ["a", "b"]}
    assert document.line_of(("rule", "copy")) == 5
    assert document.line_of(("rule", "copy", "when")) == 2
    assert document.line_of(("rule", "copy", "tags", 1)) == 3


@pytest.mark.parametrize(
    ("text", "mistake"),
    [
        ("a: &x [1, *x]\n", "rules.yaml:1: a[1]: an alias refers to itself; remove the loop"),
        ("a: &x {b: *x}\n", "rules.yaml:1: a.b: an alias refers to itself; remove the loop"),
        (
            "a: &o [&b [*o]]\nc: *b\n",
            "rules.yaml:1: a[0][0]: an alias refers to itself; remove the loop\n"
            "rules.yaml:1: c[0][0]: an alias refers to itself; remove the loop",
        ),
        ("a: 1\nb: *nope\n", "rules.yaml:2: bad YAML: found undefined alias 'nope'"),
        (
            "a: &x 1\nb: &x 2\n",
            "rules.yaml:2: bad YAML: second occurrence "
            "(found duplicate anchor 'x'; first occurrence at line 1)",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "rules.yaml:2: bad YAML: but found another document "
            "(expected a single document in the stream at line 1)",
        ),
        ("a: &m {q: 1}\n*m : 2\n", "rules.yaml:1: a key must be plain text"),
    ],
)
def test_alias_mistakes_are_one_line_each(tmp_path: Path, text: str, mistake: str) -> None:
    path = written(tmp_path, text)
    try:
        problems = read_yaml(path).problems
    except ConfigError as error:
        problems = error.problems
    assert "\n".join(str(problem) for problem in problems).replace(f"{tmp_path}/", "") == mistake


def test_a_file_only_the_pure_parser_reads_still_names_lines(tmp_path: Path) -> None:
    # libyaml refuses a %YAML 1.3 directive; the pure-Python parser reads the file, and the
    # line of a key is found again with the parser that read it.
    document = read_yaml(written(tmp_path, "%YAML 1.3\n---\nrules:\n  - id: a\n    bad: 1\n"))
    assert document.data == {"rules": [{"id": "a", "bad": 1}]}
    assert document.line_of(("rules", 0, "bad")) == 5
