"""Watch rules and participants from rules/*.yaml, checked across every rule file."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from worker.config import Config
from worker.query import Query, keyword_term, parse_query
from worker.yamlfile import ConfigError, Key, Problem, YamlFile, read_yaml

__all__ = [
    "Keywords",
    "Participant",
    "ParticipantCondition",
    "Rule",
    "RuleFile",
    "RuleSet",
    "load_rules",
    "rule_mistakes",
]

log = logging.getLogger(__name__)

_RULE_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _has_words(text: str) -> str:
    keyword_term(text)  # raises ValueError naming the text when it has nothing to match
    return text


# A keyword or an alias: words matched as written, in that order
Words = Annotated[Text, AfterValidator(_has_words)]


def _query(value: Any) -> Query:
    if isinstance(value, Query):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {value}; put it in quotes")
    if not value.strip():
        raise ValueError("must not be empty")
    return parse_query(value)


QueryText = Annotated[
    Query, PlainValidator(_query, json_schema_input_type=str), PlainSerializer(str)
]


def _rule_id(rule_id: str) -> str:
    if not _RULE_ID.fullmatch(rule_id):
        raise ValueError(
            f"'{rule_id}' is not a valid rule id; use lower-case letters, digits, - and _, "
            "starting with a letter or digit (^[a-z0-9][a-z0-9_-]*$)"
        )
    return rule_id


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Participant(_Model):
    """A person followed, found in articles by any of their aliases."""

    name: Words
    aliases: tuple[Words, ...] = Field(default=(), validate_default=True)

    @field_validator("aliases")
    @classmethod
    def _name_is_an_alias(cls, aliases: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        name = info.data.get("name")
        return aliases if name is None or name in aliases else (name, *aliases)


class Keywords(_Model):
    """Words or phrases: any of them, all of them, none of them."""

    any: tuple[Words, ...] = ()
    all: tuple[Words, ...] = ()
    none: tuple[Words, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Keywords:
        if not (self.any or self.all or self.none):
            raise ValueError("give at least one word under any, all or none")
        return self


class ParticipantCondition(_Model):
    """Participant ids: any of them, all of them, none of them, or at least `min` present."""

    any: tuple[Text, ...] = ()
    all: tuple[Text, ...] = ()
    none: tuple[Text, ...] = ()
    min: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _can_hold(self) -> ParticipantCondition:
        if not (self.any or self.all or self.none or self.min is not None):
            raise ValueError("give at least one of any, all, none or min")
        named = {*self.any, *self.all}
        if self.min is not None and named and self.min > len(named):
            raise ValueError(
                f"min {self.min} is more than the {len(named)} participants named under any "
                "and all; lower min or name more"
            )
        return self


class Rule(_Model):
    """A watch rule: every condition given must hold for an article to match."""

    id: Annotated[str, AfterValidator(_rule_id)]
    title: str = ""  # the id when not given
    query: QueryText | None = None
    participants: ParticipantCondition | None = None
    keywords: Keywords | None = None
    priority: Literal["high", "normal", "low"] = "normal"
    tags: tuple[Text, ...] = ()
    since: date | None = None
    until: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _title_defaults_to_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("title") and isinstance(data.get("id"), str):
            return {**data, "title": data["id"]}
        return data

    @field_validator("until")
    @classmethod
    def _window_is_open(cls, until: date | None, info: ValidationInfo) -> date | None:
        since = info.data.get("since")
        if until is not None and since is not None and since > until:
            raise ValueError(f"until {until} is before since {since}; swap them")
        return until

    @model_validator(mode="after")
    def _has_condition(self) -> Rule:
        if self.query is None and self.participants is None and self.keywords is None:
            raise ValueError("rule has no condition; give a query, keywords or participants")
        return self


class RuleFile(_Model):
    """One rules/*.yaml file."""

    participants: dict[str, Participant] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    """Every participant and rule, from all rule files."""

    participants: Mapping[str, Participant]
    rules: tuple[Rule, ...]
    _by_id: Mapping[str, Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {rule.id: rule for rule in self.rules})

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; KeyError when there is none."""
        return self._by_id[rule_id]


@dataclass
class _Loaded:
    """The rule files read so far, and the ids declared in all of them."""

    files: list[tuple[YamlFile, RuleFile]] = field(default_factory=list)
    documents: list[YamlFile] = field(default_factory=list)  # valid or not
    problems: list[Problem] = field(default_factory=list)
    # Read from the raw data, so a file with a mistake elsewhere still declares its ids
    # and the references to them are not reported as unknown as well.
    participant_ids: set[str] = field(default_factory=set)
    rule_ids: set[str] = field(default_factory=set)

    def read(self, path: Path) -> None:
        try:
            document = read_yaml(path)
        except ConfigError as error:
            self.problems.extend(error.problems)
            return
        self.documents.append(document)
        self.participant_ids |= _declared_participants(document.data)
        self.rule_ids |= _declared_rules(document.data)
        try:
            self.files.append((document, document.validate(RuleFile)))
        except ConfigError as error:
            self.problems.extend(error.problems)

    def mistakes(self) -> list[Problem]:
        """What is wrong in the files and between them: duplicates, unknown participants."""
        documents, known = self.documents, self.participant_ids
        participants, rules = _participant_entries(documents), _rule_entries(documents)
        return [
            *self.problems,
            *_duplicates(
                participants, "participant '{id}' is already defined at {where}; keep one"
            ),
            *_duplicates(rules, "duplicate rule id '{id}'; also at {where}; rename one"),
            *_unknown_participants(documents, known),
            *_unknown_query_participants(documents, known),
        ]


def rule_mistakes(paths: Iterable[Path]) -> list[Problem]:
    """Every mistake in these rule files on their own: what `check` still reports when the
    config that names them has mistakes of its own."""
    return _read_all(paths).mistakes()


def _read_all(paths: Iterable[Path]) -> _Loaded:
    loaded = _Loaded()
    for path in paths:
        loaded.read(path)
    return loaded


def load_rules(config: Config) -> RuleSet:
    """Read every rule file of `config` and check references; ConfigError lists every mistake."""
    paths = config.rule_files()
    if not paths:
        folders = ", ".join(str(path) for path in config.rules)
        message = f"no rule files (*.yaml) in {folders}; add one or fix the path"
        raise ConfigError([config.problem(("rules",), message)])
    loaded = _read_all(paths)
    problems = [
        *loaded.mistakes(),
        *_unknown_channel_rules(config, loaded.rule_ids, _tags(loaded.files)),
    ]
    if problems:
        raise ConfigError(problems)
    return RuleSet(
        participants={
            pid: person
            for _, content in loaded.files
            for pid, person in content.participants.items()
        },
        rules=tuple(rule for _, content in loaded.files for rule in content.rules),
    )


def _declared_participants(data: Any) -> set[str]:
    section = data.get("participants") if isinstance(data, dict) else None
    return set(section) if isinstance(section, dict) else set()


def _declared_rules(data: Any) -> set[str]:
    return {entry["id"] for _, entry in _raw_rules(data) if isinstance(entry.get("id"), str)}


_Entry = tuple[YamlFile, Key, str]


# The checks across files read the raw data: a rule file with a mistake in one rule still
# has the duplicates and unknown participants of all its rules reported at once.
def _participant_entries(documents: Iterable[YamlFile]) -> list[_Entry]:
    return [
        (document, ("participants", pid), pid)
        for document in documents
        for pid in _declared_participants(document.data)
    ]


def _rule_entries(documents: Iterable[YamlFile]) -> list[_Entry]:
    return [
        (document, ("rules", i, "id"), entry["id"])
        for document in documents
        for i, entry in _raw_rules(document.data)
        if isinstance(entry.get("id"), str)
    ]


def _raw_rules(data: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    section = data.get("rules") if isinstance(data, dict) else None
    for i, entry in enumerate(section if isinstance(section, list) else []):
        if isinstance(entry, dict):
            yield i, entry


def _duplicates(entries: Iterable[_Entry], template: str) -> Iterator[Problem]:
    """Every entry whose id came before, naming where it came first."""
    first: dict[str, str] = {}
    for document, key, entry_id in entries:
        if entry_id in first:
            yield document.problem(key, template.format(id=entry_id, where=first[entry_id]))
        else:
            first[entry_id] = f"{document.path}:{document.line_of(key)}"


def _unknown_participants(documents: Iterable[YamlFile], known: set[str]) -> Iterator[Problem]:
    for document in documents:
        for i, entry in _raw_rules(document.data):
            condition = entry.get("participants")
            for block in ("any", "all", "none"):
                named = condition.get(block) if isinstance(condition, dict) else None
                for j, pid in enumerate(named if isinstance(named, list) else []):
                    if isinstance(pid, str) and pid not in known:
                        key = ("rules", i, "participants", block, j)
                        yield document.problem(key, _unknown_participant(pid, known))


def _unknown_query_participants(
    documents: Iterable[YamlFile], known: set[str]
) -> Iterator[Problem]:
    for document in documents:
        for i, query in _queries(document.data):
            for term in query.participants():
                if term.participant not in known:
                    message = _unknown_participant(f"@{term.participant}", known)
                    yield document.problem(
                        ("rules", i, "query"), f"column {term.start + 1}: {message}"
                    )


def _queries(data: Any) -> Iterator[tuple[int, Query]]:
    """Each rule's query that parses (the others are reported by validation)."""
    for i, entry in _raw_rules(data):
        text = entry.get("query")
        if isinstance(text, str):
            with suppress(ValueError):
                yield i, parse_query(text)


def _unknown_participant(pid: str, known: set[str]) -> str:
    if not known:
        return (
            f"unknown participant '{pid}'; no participants are defined; add it under participants:"
        )
    return f"unknown participant '{pid}'; known: {', '.join(sorted(known))}"


def _tags(files: Iterable[tuple[YamlFile, RuleFile]]) -> set[str]:
    return {tag for _, content in files for rule in content.rules for tag in rule.tags}


def _unknown_channel_rules(config: Config, rule_ids: set[str], tags: set[str]) -> Iterator[Problem]:
    """Channel `rules:` entries naming no rule; a tag no rule carries is only a warning."""
    for name, channel in config.channels.items():
        for i, entry in enumerate(channel.rules or ()):
            key = ("channels", name, "rules", i)
            if entry.startswith("tag:"):
                if entry.removeprefix("tag:") not in tags:
                    log.warning("%s", config.problem(key, f"no rule has the tag in '{entry}' yet"))
            elif entry not in rule_ids:
                yield config.problem(key, f"unknown rule '{entry}'; use a rule id or tag:NAME")
