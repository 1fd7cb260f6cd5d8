"""Read YAML files with the line of every key, and name each mistake in one line.

This is the one place that turns YAML errors, unset environment variables and pydantic
validation errors into `FILE:LINE: key.path: message`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from worker.errors import ConfigError, Problem
from worker.settings.keys import keys_at
from worker.wording import did_you_mean

__all__ = ["Key", "YamlFile", "format_key", "read_yaml"]

Key = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def format_key(key: Key) -> str:
    """`('watch', 1, 'path')` as the user reads it: `watch[1].path`."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True)
class YamlFile:
    """A parsed YAML file: plain data, the line of every key, and what was wrong on reading."""

    path: Path
    data: Any
    text: str = field(repr=False)
    problems: tuple[Problem, ...] = ()
    # The parser that read the text (libyaml's, unless it could not), and the lines it
    # noted when reading found problems.
    loader: type[yaml.SafeLoader] | None = field(default=None, repr=False, compare=False)
    noted: Mapping[Key, int] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def lines(self) -> Mapping[Key, int]:
        """The line of every key. Found when first asked for (to name a problem), by reading
        the text again with the same parser: the lines of a large rule file took more
        memory than its data, and the allocator kept that peak for the life of the daemon."""
        if self.noted is not None:
            return self.noted
        loader = self.loader or _FAST_LOADER
        builder = _Builder(self.path, None, yaml.parse(self.text, Loader=loader), True)
        builder.document()
        return builder.lines

    def line_of(self, key: Key) -> int | None:
        """The line of `key`, or of its nearest parent that was written in the file."""
        for end in range(len(key), -1, -1):
            line = self.lines.get(key[:end])
            if line is not None:
                return line
        return None

    def problem(self, key: Key, message: str) -> Problem:
        """A problem at `key` of this file."""
        return Problem(self.path, self.line_of(key), format_key(key), message)

    def validate(self, model: type[ModelT], context: Mapping[str, Any] | None = None) -> ModelT:
        """The data as `model`; ConfigError lists every problem, reading and validation alike."""
        try:
            result = model.model_validate(self.data, context=dict(context or {}))
        except ValidationError as error:
            raise ConfigError([*self.problems, *self._explain(error, model)]) from None
        if self.problems:
            raise ConfigError(self.problems)
        return result

    def _explain(self, error: ValidationError, model: type[BaseModel]) -> list[Problem]:
        # An unset variable leaves an empty value behind; saying it is empty too is noise.
        reported = {problem.key for problem in self.problems}
        found: list[Problem] = []
        details = error.errors(include_url=False)
        for detail in details:
            if _emptied_by_item_errors(detail, details):
                continue
            message = _message_of(detail) + _likely_key(model, detail)
            problem = self.problem(_key_of(self.data, detail), message)
            if problem.key not in reported and problem not in found:
                found.append(problem)
        return found


def _emptied_by_item_errors(detail: ErrorDetails, details: Iterable[ErrorDetails]) -> bool:
    """A list is only "too short" after validation because its items were wrong."""
    loc = detail["loc"]
    return detail["type"] == "too_short" and any(
        other["loc"][: len(loc)] == loc and len(other["loc"]) > len(loc) for other in details
    )


def read_yaml(path: Path, environ: Mapping[str, str] | None = None) -> YamlFile:
    """Parse `path`; with `environ`, replace `${VAR}` and `${VAR:-default}` in values."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([Problem(path, None, "", "file not found")]) from None
    except UnicodeDecodeError as error:
        message = f"not UTF-8 text (byte {error.start}); save the file as UTF-8"
        raise ConfigError([Problem(path, None, "", message)]) from None
    except IsADirectoryError:
        told = "is a folder; give the path of a YAML file in it"
        raise ConfigError([Problem(path, None, "", told)]) from None
    except OSError as error:
        raise ConfigError([Problem(path, None, "", f"cannot read: {error.strerror}")]) from None
    try:
        return _read_events(path, text, environ, _FAST_LOADER)
    except yaml.YAMLError as error:
        if _FAST_LOADER is yaml.SafeLoader:
            raise ConfigError([_syntax_problem(path, error)]) from None
    # A mistake is told in the pure-Python parser's words, which name what is wrong more
    # plainly than libyaml's.
    try:
        return _read_events(path, text, environ, yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise ConfigError([_syntax_problem(path, error)]) from None


# libyaml's parser gives the events with their lines, as the pure-Python one does, some 40
# times faster; where it is not built in, the pure-Python one does the same work.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_events(
    path: Path, text: str, environ: Mapping[str, str] | None, loader: type[yaml.SafeLoader]
) -> YamlFile:
    # Built from the parser's events, not from a composed node tree: the tree of a large
    # rule file (two marks per node) took several times the memory of its data, and the
    # allocator kept that peak for the life of the daemon.
    builder = _Builder(path, environ, yaml.parse(text, Loader=loader), False)
    data = builder.document()
    if not builder.problems:
        return YamlFile(path, data, text, loader=loader)
    # Read again, noting lines, to say where each problem is.
    builder = _Builder(path, environ, yaml.parse(text, Loader=loader), True)
    data = builder.document()
    return YamlFile(path, data, text, tuple(builder.problems), loader, builder.lines)


def _syntax_problem(path: Path, error: yaml.YAMLError) -> Problem:
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return Problem(path, None, "", f"bad YAML: {error}")
    message = f"bad YAML: {error.problem}"
    if error.context and error.context_mark is not None:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    elif error.context:
        message += f" ({error.context})"
    return Problem(path, error.problem_mark.line + 1, "", message)


def _mark(event: yaml.Event) -> yaml.Mark | None:
    # libyaml's marks are its own type, with the same fields as PyYAML's
    return cast(yaml.Mark | None, event.start_mark)


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    assert mark is not None, "every event of a parsed stream has its place"
    return mark.line + 1


_Start = yaml.MappingStartEvent | yaml.SequenceStartEvent
_End = yaml.MappingEndEvent | yaml.SequenceEndEvent
_Node = yaml.ScalarEvent | _Start


class _Builder:
    """Turns the parser's events into plain data, noting lines, duplicate keys and
    variables. An alias replays the events of its anchor: the same data as the composer's
    shared node, with the same lines and the same loops found."""

    def __init__(
        self,
        path: Path,
        environ: Mapping[str, str] | None,
        events: Iterator[yaml.Event],
        noting: bool,
    ) -> None:
        self.path = path
        self.environ = environ
        self.lines: dict[Key, int] = {}  # with `noting`: else the problems have no line
        self._noting = noting
        self.problems: list[Problem] = []
        self._events = events
        self._constructor = yaml.constructor.SafeConstructor()
        self._resolver = yaml.resolver.Resolver()
        self._anchors: dict[str, list[yaml.Event]] = {}  # the events of each anchor
        self._recording: list[list[yaml.Event]] = []  # of the anchors still being read
        self._replays: list[Iterator[yaml.Event]] = []
        self._open: set[str] = set()  # anchors whose node is being built

    def document(self) -> Any:
        """The data of the one document of the stream; {} when it has none."""
        self._take()  # the stream's start
        if isinstance(self._take(), yaml.StreamEndEvent):
            return {}
        root = self._take()
        data = self.build(root, ())
        self._take()  # the document's end
        extra = self._take()
        if not isinstance(extra, yaml.StreamEndEvent):
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                _mark(root),
                "but found another document",
                _mark(extra),
            )
        return data

    def _take(self) -> yaml.Event:
        if self._replays:
            return next(self._replays[-1])
        event = next(self._events)
        for recording in self._recording:
            recording.append(event)
        return event

    def build(self, event: yaml.Event, key: Key) -> Any:
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, key)
        assert isinstance(event, _Node)
        if self._noting:
            self.lines.setdefault(key, _line(event))
        anchor = event.anchor
        if anchor is None:
            return self._node(event, key)
        if self._replays and anchor in self._open:  # the replayed node holds itself
            self._skip(event)
            self._report(key, "an alias refers to itself; remove the loop")
            return None
        if not self._replays:
            self._remember(anchor, event)
        self._open.add(anchor)
        try:
            return self._node(event, key)
        finally:
            self._open.discard(anchor)
            if not self._replays:
                self._recording.pop()

    def _remember(self, anchor: str, event: yaml.Event) -> None:
        first = self._anchors.get(anchor)
        if first is not None:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                _mark(first[0]),
                "second occurrence",
                _mark(event),
            )
        self._anchors[anchor] = [event]
        self._recording.append(self._anchors[anchor])

    def _anchored(self, event: yaml.AliasEvent) -> list[yaml.Event]:
        events = self._anchors.get(event.anchor or "")
        if events is None:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {event.anchor!r}", _mark(event)
            )
        return events

    def _alias(self, event: yaml.AliasEvent, key: Key) -> Any:
        events = self._anchored(event)
        if event.anchor in self._open:
            if self._noting:
                self.lines.setdefault(key, _line(events[0]))
            self._report(key, "an alias refers to itself; remove the loop")
            return None
        self._replays.append(iter(events))
        try:
            return self.build(self._take(), key)
        finally:
            self._replays.pop()

    def _skip(self, event: yaml.Event) -> None:
        """Past the end of the node that starts with `event`."""
        depth = int(isinstance(event, _Start))
        while depth:
            event = self._take()
            depth += isinstance(event, _Start) - isinstance(event, _End)

    def _ignore(self, event: yaml.Event) -> None:
        """Read the node that starts with `event` for its anchors only."""
        lines, problems = self.lines, self.problems
        self.lines, self.problems = {}, []
        try:
            self.build(event, ())
        finally:
            self.lines, self.problems = lines, problems

    def _node(self, event: _Node, key: Key) -> Any:
        if isinstance(event, yaml.MappingStartEvent):
            return self._mapping(key)
        if isinstance(event, yaml.SequenceStartEvent):
            return self._sequence(key)
        return self._scalar(event, key)

    def _sequence(self, key: Key) -> list[Any]:
        data: list[Any] = []
        event = self._take()
        while not isinstance(event, yaml.SequenceEndEvent):
            data.append(self.build(event, (*key, len(data))))
            event = self._take()
        return data

    def _mapping(self, key: Key) -> dict[str, Any]:
        data: dict[str, Any] = {}
        event = self._take()
        while not isinstance(event, yaml.MappingEndEvent):
            name, line = self._name(event, key)
            value = self._take()
            if name is None:
                self._ignore(value)
            else:
                child = (*key, name)
                if name in data:
                    first = self.lines.get(child)
                    self._report(
                        child, f"duplicate key '{name}' (first at line {first}); keep one", line
                    )
                if self._noting:
                    self.lines[child] = line
                data[name] = self.build(value, child)
            event = self._take()
        return data

    def _name(self, event: yaml.Event, key: Key) -> tuple[str | None, int]:
        """The text of a key and its line; no text, the mistake reported, for a key that
        is not plain text or is a merge key."""
        if isinstance(event, yaml.AliasEvent):
            written = self._anchored(event)[0]
        else:
            written = event
            if isinstance(event, _Start) or getattr(event, "anchor", None) is not None:
                self._ignore(event)  # the anchors in a key count all the same
        line = _line(written)
        if not isinstance(written, yaml.ScalarEvent):
            self._report(key, "a key must be plain text", line)
            return None, line
        if self._tag(written) == _MERGE_TAG:
            self._report(key, "merge keys (<<) are not supported; write the keys out", line)
            return None, line
        return written.value, line

    def _tag(self, event: yaml.ScalarEvent) -> str:
        if event.tag is None or event.tag == "!":
            tag = self._resolver.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
            return cast(str, tag)
        return event.tag

    def _scalar(self, event: yaml.ScalarEvent, key: Key) -> Any:
        tag = self._tag(event)
        if tag == _STR_TAG:  # most of a file: taken as it is, without the constructor
            if self.environ is not None and "${" in event.value:
                return self._substitute(event.value, key, self.environ)
            return event.value
        node = yaml.ScalarNode(tag, event.value, _mark(event))
        try:
            return self._constructor.construct_object(node)
        except yaml.constructor.ConstructorError:
            self._report(key, f"unknown tag '{tag}'; remove it")
            return None
        except ValueError:
            return event.value  # an impossible date like 2023-13-01: validation names it
        finally:  # each node is new: nothing to share, nothing to keep
            self._constructor.constructed_objects.clear()
            self._constructor.recursive_objects.clear()

    def _substitute(self, text: str, key: Key, environ: Mapping[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            found = environ.get(name)
            if found:
                return found
            if default is not None:
                return default
            # Set but empty is as good as unset: `secret: "${WEBHOOK_SECRET}"` with an empty
            # variable would quietly send unsigned requests. `${NAME:-}` allows empty.
            state = "is not set" if found is None else "is empty"
            self._report(
                key,
                f"environment variable {name} {state}; set it, or write ${{{name}:-default}}"
                f" (${{{name}:-}} for none)",
            )
            return ""

        return _VARIABLE.sub(value, text)

    def _report(self, key: Key, message: str, line: int | None = None) -> None:
        where = line if line is not None else self.lines.get(key)
        self.problems.append(Problem(self.path, where, format_key(key), message))


def _key_of(data: Any, detail: ErrorDetails) -> Key:
    """The path the user wrote to the value pydantic complains about."""
    path: list[str | int] = []
    node = data
    for item in detail["loc"]:
        if item == "[key]":
            continue
        if isinstance(node, dict):
            if item not in node and node.get("type") == item:
                continue  # the tag pydantic adds to the path inside a discriminated union
            path.append(item)
            node = node.get(item)
        elif isinstance(node, list) and isinstance(item, int) and item < len(node):
            path.append(item)
            node = node[item]
        # anything else names a union member or a shape, not a key the user wrote
    if detail["type"] in ("union_tag_invalid", "union_tag_not_found"):
        path.append("type")
    return tuple(path)


# Keys whose values are secrets: an error about them never repeats the value.
_SECRET_KEYS = frozenset(("password", "secret", "url", "headers"))


def _text_expected(detail: ErrorDetails) -> str:
    value = detail["input"]
    if not isinstance(value, bool | int | float | date):
        return "must be text"
    if _SECRET_KEYS.intersection(map(str, detail["loc"])):
        return "must be text; put it in quotes"
    return f"must be text, not {value}; put it in quotes"


def _too_short(detail: ErrorDetails) -> str:
    count = detail["ctx"]["min_length"]
    return "needs at least one entry" if count == 1 else f"needs at least {count} entries"


_MAPPING = "must be a mapping of keys to values"
_LIST = "must be a list, like [a, b]"

# pydantic's wording, put in the words of someone editing a YAML file
_WORDING: dict[str, Callable[[ErrorDetails], str]] = {
    "extra_forbidden": lambda detail: f"unknown key '{detail['loc'][-1]}'",
    "unexpected_keyword_argument": lambda detail: f"unknown key '{detail['loc'][-1]}'",
    "missing": lambda detail: "field required",
    "union_tag_not_found": lambda detail: "field required",
    "union_tag_invalid": lambda detail: (
        f"unknown type '{detail['ctx']['tag']}'; use one of {detail['ctx']['expected_tags']}"
    ),
    "value_error": lambda detail: str(detail["ctx"]["error"]),
    "literal_error": lambda detail: f"must be {detail['ctx']['expected']}, not {detail['input']!r}",
    "string_type": _text_expected,
    "string_too_short": lambda detail: "must not be empty",
    "too_short": _too_short,
    "bool_type": lambda detail: "must be true or false",
    "bool_parsing": lambda detail: "must be true or false",
    "model_type": lambda detail: _MAPPING,
    "model_attributes_type": lambda detail: _MAPPING,
    "dict_type": lambda detail: _MAPPING,
    "tuple_type": lambda detail: _LIST,
    "list_type": lambda detail: _LIST,
}


def _likely_key(model: type[BaseModel], detail: ErrorDetails) -> str:
    """For an unknown key, the key the model takes at that place it is likely a typo of."""
    if detail["type"] not in ("extra_forbidden", "unexpected_keyword_argument"):
        return ""
    *place, written = detail["loc"]
    return did_you_mean(str(written), keys_at(model, place))


def _message_of(detail: ErrorDetails) -> str:
    wording = _WORDING.get(detail["type"])
    if wording is not None:
        return wording(detail)
    text = detail["msg"].replace("Input should be", "must be")
    return text[:1].lower() + text[1:]
