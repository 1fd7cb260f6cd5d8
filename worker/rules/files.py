"""Rule files read and checked together: duplicates, unknown participants, unknown rules
named by channels, each reported as `FILE:LINE: key: what is wrong`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.errors import ConfigError, Problem
from worker.rules.query import Query, parse_query
from worker.rules.ruleset import RuleFile, RuleSet
from worker.settings.config import Config
from worker.settings.yamlfile import Key, YamlFile, read_yaml

__all__ = ["load_draft_rules", "load_rules", "read_rule_files", "rule_mistakes"]

log = logging.getLogger(__name__)


_NO_RULES = 'no rules — write "rules: []" to mean none'


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
        if document.data is None or document.data == {}:
            # Empty, or only comments: most likely a file caught halfway through a save.
            self.problems.append(Problem(path, None, "", _NO_RULES))
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


def read_rule_files(paths: Iterable[Path]) -> list[tuple[YamlFile, RuleFile]]:
    """Each rule file that reads and validates, with the lines of its keys: what `check`
    lints once the rules have loaded."""
    return _read_all(paths).files


def load_draft_rules(paths: Sequence[Path], live: RuleSet) -> RuleSet:
    """Rule files not yet loaded (a draft, an edited copy), read on their own with the
    participants of the live rules besides theirs, theirs first; ConfigError lists every
    mistake, as `check` says them."""
    loaded = _read_all(paths)
    loaded.participant_ids |= set(live.participants)
    problems = loaded.mistakes()
    if problems:
        raise ConfigError(problems)
    drafted = {pid: p for _, content in loaded.files for pid, p in content.participants.items()}
    return RuleSet(
        participants={**live.participants, **drafted},
        rules=tuple(rule for _, content in loaded.files for rule in content.rules),
    )


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
    first: dict[str, _Entry] = {}
    for entry in entries:
        document, key, entry_id = entry
        if entry_id in first:
            earlier, earlier_key, _ = first[entry_id]
            where = f"{earlier.path}:{earlier.line_of(earlier_key)}"
            yield document.problem(key, template.format(id=entry_id, where=where))
        else:
            first[entry_id] = entry


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
    """Each rule's query that may name participants and parses (the others are reported
    by validation)."""
    for i, entry in _raw_rules(data):
        text = entry.get("query")
        if isinstance(text, str) and "@" in text:  # a query without an @ names no one
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
