"""Watch rules and participants: what a rule file holds, as frozen models."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
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
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic_core import ArgsKwargs

from worker.rules.query import Query, keyword_term, parse_query

__all__ = ["Keywords", "Participant", "ParticipantCondition", "Rule", "RuleFile", "RuleSet"]

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


# Rules, their blocks and participants are slotted dataclasses, validated by pydantic as
# its models are: a model keeps a dictionary of its fields and a set of those given, some
# 300 bytes a rule more (100,000 rules held 29 MB more as models).
_FORBID_EXTRA = ConfigDict(extra="forbid")


@pydantic_dataclass(frozen=True, slots=True, config=_FORBID_EXTRA)
class Participant:
    """A person followed, found in articles by any of their aliases."""

    name: Words = Field(description="The name digests show; an alias too.")
    aliases: tuple[Words, ...] = Field(
        default=(),
        validate_default=True,
        description="The names articles may use, each matched as a phrase; where two "
        "overlap, the longer is the mention.",
    )

    @field_validator("aliases")
    @classmethod
    def _name_is_an_alias(cls, aliases: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        name = info.data.get("name")
        return aliases if name is None or name in aliases else (name, *aliases)


@pydantic_dataclass(frozen=True, slots=True, config=_FORBID_EXTRA)
class Keywords:
    """Words or phrases: any of them, all of them, none of them."""

    any: tuple[Words, ...] = Field(
        default=(), description="At least one of these is in the article."
    )
    all: tuple[Words, ...] = Field(
        examples=[["gas", "pipeline"]], default=(), description="Each of these is in the article."
    )
    none: tuple[Words, ...] = Field(
        examples=[["football", "sport*"]],
        default=(),
        description="None of these is in the article.",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Keywords:
        if not (self.any or self.all or self.none):
            raise ValueError("give at least one word under any, all or none")
        return self


@pydantic_dataclass(frozen=True, slots=True, config=_FORBID_EXTRA)
class ParticipantCondition:
    """Participant ids: any of them, all of them, none of them, or at least `min` present."""

    any: tuple[Text, ...] = Field(
        examples=[["xi", "putin", "lavrov"]],
        default=(),
        description="At least one of these participants is named.",
    )
    all: tuple[Text, ...] = Field(default=(), description="Each of these participants is named.")
    none: tuple[Text, ...] = Field(default=(), description="None of these participants is named.")
    min: int | None = Field(
        examples=[2],
        default=None,
        ge=1,
        description="At least this many of the participants under any and all are named "
        "(of everyone followed, when none are listed there).",
    )

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


@pydantic_dataclass(frozen=True, slots=True, config=_FORBID_EXTRA)
class Rule:
    """A watch rule: every condition given must hold for an article to match."""

    id: Annotated[str, AfterValidator(_rule_id)] = Field(
        description="Lower-case letters, digits, - and _: how channels, mutes and commands "
        "name the rule."
    )
    title: str = Field(default="", description="Shown in digests; the id when not given.")
    query: QueryText | None = Field(
        default=None,
        description='A boolean query: words, "phrases", prefix*, AND, OR, NOT, NEAR/n, '
        "title:, site:, @participant.",
    )
    participants: ParticipantCondition | None = Field(
        default=None, description="Who the article must (or must not) name."
    )
    keywords: Keywords | None = Field(
        default=None, description="Words or phrases the article must (or must not) hold."
    )
    priority: Literal["high", "normal", "low"] = Field(
        default="normal",
        description="Higher comes first in digests; a channel's `min_priority` leaves out "
        "lower ones.",
    )
    tags: tuple[Text, ...] = Field(
        default=(), description="Labels channels can take rules by: `rules: [tag:NAME]`."
    )
    since: date | None = Field(
        default=None, description="Only articles dated on or after this day."
    )
    until: date | None = Field(
        examples=[date(2026, 12, 31)],
        default=None,
        description="Only articles dated up to this day.",
    )

    @model_validator(mode="before")
    @classmethod
    def _title_defaults_to_id(cls, data: Any) -> Any:
        # A rule file gives a mapping; a rule made in code, the arguments it was made with.
        given = data.kwargs if isinstance(data, ArgsKwargs) else data
        if isinstance(given, dict) and not given.get("title") and isinstance(given.get("id"), str):
            titled = {**given, "title": given["id"]}
            return ArgsKwargs(data.args, titled) if isinstance(data, ArgsKwargs) else titled
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


class RuleFile(BaseModel):
    """One rules/*.yaml file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    participants: dict[str, Participant] = Field(
        default_factory=dict,
        description="The people followed, by id; shared by every rule file.",
    )
    rules: tuple[Rule, ...] = Field(
        default=(), description="The watch rules; an article must meet every condition of one."
    )


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

    def changed_since(self, before: RuleSet) -> RuleSet:
        """The rules that may match other articles than they did in `before`: new ones, and
        those whose conditions or participants changed."""
        people = {
            pid
            for pid in {*before.participants, *self.participants}
            if before.participants.get(pid) != self.participants.get(pid)
        }
        changed = tuple(
            rule
            for rule in self.rules
            if rule.id not in before._by_id
            or _conditions(before.rule(rule.id)) != _conditions(rule)
            # (a query's participants are read from its text, parsed again: only if need be)
            or (people and _named(rule, self) & people)
        )
        return RuleSet(self.participants, changed)


def _conditions(rule: Rule) -> tuple[object, ...]:
    """What decides whether the rule matches (not its title, priority or tags)."""
    return (rule.query, rule.participants, rule.keywords, rule.since, rule.until)


def _named(rule: Rule, rules: RuleSet) -> set[str]:
    """The participants the rule's match depends on."""
    condition = rule.participants
    named = {term.participant for term in rule.query.participants()} if rule.query else set()
    if condition is not None:
        named |= {*condition.any, *condition.all, *condition.none}
        if condition.min is not None and not (condition.any or condition.all):
            named |= set(rules.participants)  # at least `min` of everyone followed
    return named
