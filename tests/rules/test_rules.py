"""Rule files: the rule set a valid folder gives, and one clear line for each mistake."""

from __future__ import annotations

import logging
import textwrap
from datetime import date
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter

from tests.helpers import REPO
from worker.errors import ConfigError
from worker.rules.files import load_rules
from worker.rules.ruleset import Keywords, Participant, ParticipantCondition, Rule, RuleSet
from worker.settings.config import Config, load_config

PARTICIPANTS = """\
    participants:
      xi:     {name: Xi Jinping,    aliases: ["President Xi", "习近平"]}
      putin:  {name: Vladimir Putin, aliases: ["Vladimir Putin", "Putin", "Путин"]}
      lavrov: {name: Sergey Lavrov}
"""

RULES = """\
    rules:
      - id: xi-putin-contacts
        title: Xi and Putin contacts
        participants: {all: [xi, putin]}
        keywords: {any: [meeting, met, talks, "video call", summit]}
        priority: high
        tags: [leaders]
      - id: ukraine-settlement
        keywords: {all: [Ukraine], any: ["peace talks"]}
        since: 2023-01-01
"""


def make_config(root: Path, rule_files: dict[str, str], channels: str = "") -> Config:
    """A config over root/rules/ holding `rule_files`, with a file channel `local`."""
    (root / "inbox").mkdir()
    (root / "rules").mkdir()
    for name, text in rule_files.items():
        (root / "rules" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    config = f"""\
        watch:
          - path: inbox
        channels:
          local:
            type: file
            path: outbox
            {channels}
        """
    (root / "config.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    return load_config(root / "config.yaml", {})


def problems(config: Config) -> list[str]:
    """The lines `wirewatch check` would print for these rules."""
    with pytest.raises(ConfigError) as caught:
        load_rules(config)
    return str(caught.value).splitlines()


def test_the_spec_example_loads(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"people.yaml": PARTICIPANTS, "china-russia.yaml": RULES})
    rules = load_rules(config)
    assert isinstance(rules, RuleSet)
    assert list(rules.participants) == ["xi", "putin", "lavrov"]
    assert rules.participants["xi"].aliases == ("Xi Jinping", "President Xi", "习近平")
    assert rules.participants["lavrov"].aliases == ("Sergey Lavrov",)
    contacts, settlement = rules.rules
    assert contacts.title == "Xi and Putin contacts"
    assert contacts.participants == ParticipantCondition(all=("xi", "putin"))
    assert contacts.priority == "high"
    assert settlement.title == "ukraine-settlement"  # the id when no title is given
    assert settlement.keywords == Keywords(all=("Ukraine",), any=("peace talks",))
    assert (settlement.priority, settlement.since, settlement.until) == (
        "normal",
        date(2023, 1, 1),
        None,
    )
    assert rules.rule("ukraine-settlement") is settlement
    with pytest.raises(KeyError):
        rules.rule("nothing")


def test_the_default_rules_load() -> None:
    config = load_config(REPO / "config.yaml", {})
    assert load_rules(config).rule("xi-putin-contacts").priority == "high"


def test_unknown_participant(tmp_path: Path) -> None:
    rules = """\
    rules:
      - id: r
        participants: {any: [putin, xii]}
    """
    config = make_config(tmp_path, {"people.yaml": PARTICIPANTS, "r.yaml": rules})
    assert problems(config) == [
        f"{tmp_path / 'rules' / 'r.yaml'}:3: rules[0].participants.any[1]: "
        "unknown participant 'xii'; known: lavrov, putin, xi"
    ]


def test_duplicate_rule_id_names_the_first(tmp_path: Path) -> None:
    again = "rules:\n  - id: ukraine-settlement\n    keywords: {any: [war]}\n"
    config = make_config(tmp_path, {"a.yaml": PARTICIPANTS + RULES, "b.yaml": again})
    assert problems(config) == [
        f"{tmp_path / 'rules' / 'b.yaml'}:2: rules[0].id: duplicate rule id 'ukraine-settlement'; "
        f"also at {tmp_path / 'rules' / 'a.yaml'}:12; rename one"
    ]


def test_duplicate_participant_across_files(tmp_path: Path) -> None:
    again = "participants:\n  putin: {name: Putin}\n"
    config = make_config(tmp_path, {"a.yaml": PARTICIPANTS, "b.yaml": again})
    assert problems(config) == [
        f"{tmp_path / 'rules' / 'b.yaml'}:2: participants.putin: participant 'putin' is already "
        f"defined at {tmp_path / 'rules' / 'a.yaml'}:3; keep one"
    ]


def test_channel_naming_an_unknown_rule(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, {"a.yaml": PARTICIPANTS + RULES}, channels="rules: [foo, xi-putin-contacts]"
    )
    assert problems(config) == [
        f"{tmp_path / 'config.yaml'}:7: channels.local.rules[0]: "
        "unknown rule 'foo'; use a rule id or tag:NAME"
    ]


def test_channel_tag_no_rule_has_is_only_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(
        tmp_path, {"a.yaml": PARTICIPANTS + RULES}, channels='rules: ["tag:leaders", "tag:sport"]'
    )
    with caplog.at_level(logging.WARNING):
        load_rules(config)
    assert caplog.messages == [
        f"{tmp_path / 'config.yaml'}:7: channels.local.rules[1]: "
        "no rule has the tag in 'tag:sport' yet"
    ]


def test_empty_rules_folder(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"notes.txt": "not rules"})
    assert problems(config) == [
        f"{tmp_path / 'config.yaml'}:1: rules: no rule files (*.yaml) in {tmp_path / 'rules'}; "
        "add one or fix the path"
    ]


def test_missing_rule_file(tmp_path: Path) -> None:
    make_config(tmp_path, {"a.yaml": RULES})
    path = tmp_path / "config.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "rules: [rules/a.yaml, rules/b.yaml]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == (
        f"{path}:8: rules[1]: '{tmp_path / 'rules' / 'b.yaml'}' does not exist; "
        "create it or fix the path"
    )


def test_mistakes_in_every_file_are_reported(tmp_path: Path) -> None:
    broken = "participants:\n  xi: {name: Xi, aliases: [\n"
    unknown_key = """\
    participants:
      putin: {name: Putin, alias: [Путин]}
    rules:
      - id: r
        keyword: [Ukraine]
    """
    valid = "rules:\n  - id: s\n    participants: {all: [putin, lavrov]}\n"
    config = make_config(tmp_path, {"a.yaml": broken, "b.yaml": unknown_key, "c.yaml": valid})
    a, b, c = (tmp_path / "rules" / name for name in ("a.yaml", "b.yaml", "c.yaml"))
    assert problems(config) == [
        f"{a}:3: bad YAML: expected the node content, but found '<stream end>' "
        "(while parsing a flow node at line 3)",
        f"{b}:2: participants.putin.alias: unknown key 'alias'; did you mean 'aliases'?",
        f"{b}:5: rules[0].keyword: unknown key 'keyword'; did you mean 'keywords'?",
        # putin is declared in b.yaml even though b.yaml has a mistake: only lavrov is unknown
        f"{c}:3: rules[0].participants.all[1]: unknown participant 'lavrov'; known: putin",
    ]


def test_one_bad_rule_hides_no_other_mistake_of_its_file(tmp_path: Path) -> None:
    rules = """\
    participants:
      putin: {name: Putin}
    rules:
      - id: a
        colour: red
      - id: a
        keywords: {any: [talks]}
      - id: b
        participants: {all: [putin, xii]}
    """
    config = make_config(tmp_path, {"a.yaml": rules})
    path = tmp_path / "rules" / "a.yaml"
    assert problems(config) == [
        f"{path}:5: rules[0].colour: unknown key 'colour'",
        f"{path}:6: rules[1].id: duplicate rule id 'a'; also at {path}:4; rename one",
        f"{path}:9: rules[2].participants.all[1]: unknown participant 'xii'; known: putin",
    ]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "{id: Big Rule, keywords: {any: [a]}}",
            "rules[0].id: 'Big Rule' is not a valid rule id; use lower-case letters, digits, "
            "- and _, starting with a letter or digit (^[a-z0-9][a-z0-9_-]*$)",
        ),
        (
            "{id: r, title: T}",
            "rules[0]: rule has no condition; give a query, keywords or participants",
        ),
        (
            "{id: r, keywords: {}}",
            "rules[0].keywords: give at least one word under any, all or none",
        ),
        ("{id: r, keywords: {any: [a, '']}}", "rules[0].keywords.any[1]: must not be empty"),
        (
            "{id: r, keywords: {any: [G20, 2024]}}",
            "rules[0].keywords.any[1]: must be text, not 2024; put it in quotes",
        ),
        ("{id: r, keywords: {some: [a]}}", "rules[0].keywords.some: unknown key 'some'"),
        (
            "{id: r, keywords: {anyy: [a]}}",
            "rules[0].keywords.anyy: unknown key 'anyy'; did you mean 'any'?",
        ),
        ("{id: r, querry: a}", "rules[0].querry: unknown key 'querry'; did you mean 'query'?"),
        (
            "{id: r, participants: {mni: 1}}",
            "rules[0].participants.mni: unknown key 'mni'; did you mean 'min'?",
        ),
        (
            "{id: r, participants: {}}",
            "rules[0].participants: give at least one of any, all, none or min",
        ),
        (
            "{id: r, participants: {min: 0}}",
            "rules[0].participants.min: must be greater than or equal to 1",
        ),
        (
            "{id: r, participants: {any: [xi], min: 2}}",
            "rules[0].participants: min 2 is more than the 1 participants named under any "
            "and all; lower min or name more",
        ),
        (
            "{id: r, keywords: {any: [a]}, priority: urgent}",
            "rules[0].priority: must be 'high', 'normal' or 'low', not 'urgent'",
        ),
        (
            "{id: r, keywords: {any: [a]}, since: 2024-02-01, until: 2024-01-01}",
            "rules[0].until: until 2024-01-01 is before since 2024-02-01; swap them",
        ),
        (
            "{id: r, keywords: {any: [a]}, since: 2024-13-01}",
            "rules[0].since: must be a valid date or datetime, "
            "month value is outside expected range of 1-12",
        ),
    ],
)
def test_rule_mistakes(tmp_path: Path, rule: str, expected: str) -> None:
    text = f"participants:\n  xi: {{name: Xi}}\nrules:\n  - {rule}\n"
    config = make_config(tmp_path, {"r.yaml": text})
    assert problems(config) == [f"{tmp_path / 'rules' / 'r.yaml'}:4: {expected}"]


@pytest.mark.parametrize(
    ("participant", "expected"),
    [
        (
            "xi: {aliases: [Xi, '']}",
            [
                "participants.xi.name: field required",
                "participants.xi.aliases[1]: must not be empty",
            ],
        ),
        (
            # participants are kept by ids of the user's choosing: an id is never taken for a key
            "name: {name: Xi, alias: [Xi], colour: red}",
            [
                "participants.name.alias: unknown key 'alias'; did you mean 'aliases'?",
                "participants.name.colour: unknown key 'colour'",
            ],
        ),
    ],
)
def test_participant_mistakes(tmp_path: Path, participant: str, expected: list[str]) -> None:
    config = make_config(tmp_path, {"p.yaml": f"participants:\n  {participant}\n"})
    path = tmp_path / "rules" / "p.yaml"
    assert problems(config) == [f"{path}:2: {line}" for line in expected]


KNOWN = "known: lavrov, putin, xi"


def test_query_faults_name_file_line_and_column(tmp_path: Path) -> None:
    rules = """\
    rules:
      - id: settlement
        query: 'Ukraine AND ("peace talks" OR negotiat*'
      - id: sco
        query: '(SCO OR BRICS) AND (China NEAR/0 Russia)'
      - id: leaders
        query: '@xi NEAR/sentence @putn AND title:""'
      - id: people
        query: '@xii OR @putn'
      - id: fine
        query: 'Ukraine AND talks'
    """
    config = make_config(tmp_path, {"people.yaml": PARTICIPANTS, "r.yaml": rules})
    path = tmp_path / "rules" / "r.yaml"
    # every fault of every rule, not only the first
    assert problems(config) == [
        f"{path}:3: rules[0].query: column 13: unbalanced parenthesis; close it with )",
        f"{path}:5: rules[1].query: column 27: NEAR/0: the distance must be 1 word or more, "
        "as in NEAR/3",
        f"{path}:7: rules[2].query: column 35: empty phrase; put words between the quotes "
        "or remove them",
        f"{path}:9: rules[3].query: column 1: unknown participant '@xii'; {KNOWN}",
        f"{path}:9: rules[3].query: column 9: unknown participant '@putn'; {KNOWN}",
    ]


def test_a_query_is_a_condition_of_its_own(tmp_path: Path) -> None:
    rules = "rules:\n  - id: r\n    query: 'Ukraine AND NOT sport*'\n    since: 2023-01-01\n"
    config = make_config(tmp_path, {"people.yaml": PARTICIPANTS, "r.yaml": rules})
    (rule,) = load_rules(config).rules
    assert rule.query is not None
    assert str(rule.query) == "Ukraine AND NOT sport*"
    assert TypeAdapter(Rule).dump_python(rule)["query"] == "Ukraine AND NOT sport*"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("{id: r, query: 2024}", "rules[0].query: must be text, not 2024; put it in quotes"),
        ("{id: r, query: ''}", "rules[0].query: must not be empty"),
        (
            "{id: r, keywords: {any: ['--']}}",
            "rules[0].keywords.any[0]: '--' has no letters or digits to match; remove it",
        ),
    ],
)
def test_query_and_keyword_mistakes(tmp_path: Path, rule: str, expected: str) -> None:
    text = f"participants:\n  xi: {{name: Xi}}\nrules:\n  - {rule}\n"
    config = make_config(tmp_path, {"r.yaml": text})
    assert problems(config) == [f"{tmp_path / 'rules' / 'r.yaml'}:4: {expected}"]


@pytest.mark.parametrize("text", ["", "# rules for the Arctic, to come\n", "---\n"])
def test_a_rule_file_without_rules_is_a_mistake(tmp_path: Path, text: str) -> None:
    config = make_config(tmp_path, {"a.yaml": PARTICIPANTS + RULES, "empty.yaml": text})
    assert problems(config) == [
        f'{tmp_path / "rules" / "empty.yaml"}: no rules — write "rules: []" to mean none'
    ]


@pytest.mark.parametrize("text", ["rules: []\n", PARTICIPANTS])
def test_a_rule_file_may_say_it_has_no_rules(tmp_path: Path, text: str) -> None:
    config = make_config(tmp_path, {"none.yaml": text})
    assert load_rules(config).rules == ()


def rule_set(rules: str, people: str = "xi: {name: Xi Jinping}") -> RuleSet:
    """A rule set from YAML flow text: the rules, and the participants."""
    return RuleSet(
        participants={pid: Participant(**p) for pid, p in yaml.safe_load(f"{{{people}}}").items()},
        rules=tuple(Rule(**r) for r in yaml.safe_load(f"[{rules}]")),
    )


TALKS_RULE = "{id: talks, keywords: {any: [talks]}}"
XI_RULE = "{id: xi, participants: {any: [xi]}}"
XI_QUERY = "{id: xi-q, query: '@xi AND talks'}"


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        (rule_set(TALKS_RULE), rule_set(TALKS_RULE), []),
        (rule_set(""), rule_set(TALKS_RULE), ["talks"]),
        (rule_set(TALKS_RULE), rule_set("{id: talks, keywords: {any: [summit]}}"), ["talks"]),
        (rule_set(TALKS_RULE), rule_set("{id: talks, title: Talks, keywords: {any: [talks]}}"), []),
        (rule_set(TALKS_RULE), rule_set("{id: talks, keywords: {any: [talks]}, tags: [x]}"), []),
        (
            rule_set(f"{TALKS_RULE}, {XI_RULE}, {XI_QUERY}"),
            rule_set(f"{TALKS_RULE}, {XI_RULE}, {XI_QUERY}", "xi: {name: Xi, aliases: [习近平]}"),
            ["xi", "xi-q"],
        ),
        (
            rule_set("{id: two, participants: {min: 2}}"),
            rule_set("{id: two, participants: {min: 2}}", "xi: {name: Xi}, li: {name: Li}"),
            ["two"],
        ),
    ],
)
def test_the_rules_changed_since_are_those_that_may_match_otherwise(
    before: RuleSet, after: RuleSet, changed: list[str]
) -> None:
    assert [rule.id for rule in after.changed_since(before).rules] == changed
