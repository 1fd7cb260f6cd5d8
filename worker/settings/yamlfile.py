"""Read YAML files with the line of every key, and name each mistake in one line.

This is the one place that turns YAML errors, unset environment variables and pydantic
validation errors into `FILE:LINE: key.path: message`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from worker.errors import ConfigError, Problem

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
    lines: Mapping[Key, int]
    problems: tuple[Problem, ...] = ()

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
            raise ConfigError([*self.problems, *self._explain(error)]) from None
        if self.problems:
            raise ConfigError(self.problems)
        return result

    def _explain(self, error: ValidationError) -> list[Problem]:
        # An unset variable leaves an empty value behind; saying it is empty too is noise.
        reported = {problem.key for problem in self.problems}
        found: list[Problem] = []
        details = error.errors(include_url=False)
        for detail in details:
            if _emptied_by_item_errors(detail, details):
                continue
            problem = self.problem(_key_of(self.data, detail), _message_of(detail))
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
    except OSError as error:
        raise ConfigError([Problem(path, None, "", f"cannot read: {error.strerror}")]) from None
    try:
        root = _compose(text)
    except yaml.YAMLError as error:
        raise ConfigError([_syntax_problem(path, error)]) from None
    builder = _Builder(path, environ)
    data = {} if root is None else builder.build(root, ())
    return YamlFile(path, data, builder.lines, tuple(builder.problems))


# libyaml's parser gives the nodes with their lines, as the pure-Python one does, some 40
# times faster; where it is not built in, the pure-Python one does the same work.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> yaml.Node | None:
    """The node tree of `text`; a mistake is told in the pure-Python parser's words, which
    name what is wrong more plainly than libyaml's."""
    try:
        return yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        if _FAST_LOADER is yaml.SafeLoader:
            raise
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _syntax_problem(path: Path, error: yaml.YAMLError) -> Problem:
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return Problem(path, None, "", f"bad YAML: {error}")
    message = f"bad YAML: {error.problem}"
    if error.context and error.context_mark is not None:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    elif error.context:
        message += f" ({error.context})"
    return Problem(path, error.problem_mark.line + 1, "", message)


class _Builder:
    """Turns a node tree into plain data, noting lines, duplicate keys and variables."""

    def __init__(self, path: Path, environ: Mapping[str, str] | None) -> None:
        self.path = path
        self.environ = environ
        self.lines: dict[Key, int] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._open: set[int] = set()

    def build(self, node: yaml.Node, key: Key) -> Any:
        self.lines.setdefault(key, node.start_mark.line + 1)
        if id(node) in self._open:
            self._report(key, "an alias refers to itself; remove the loop")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, key)
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*key, i)) for i, item in enumerate(node.value)]
            return self._scalar(node, key)
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, key: Key) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self._report(key, "a key must be plain text", line)
                continue
            name = key_node.value
            if key_node.tag == _MERGE_TAG:
                self._report(key, "merge keys (<<) are not supported; write the keys out", line)
                continue
            child = (*key, name)
            if name in data:
                first = self.lines[child]
                self._report(
                    child, f"duplicate key '{name}' (first at line {first}); keep one", line
                )
            self.lines[child] = line
            data[name] = self.build(value_node, child)
        return data

    def _scalar(self, node: yaml.Node, key: Key) -> Any:
        if node.tag == _STR_TAG:  # most of a file: taken as it is, without the constructor
            if self.environ is not None and "${" in node.value:
                return self._substitute(node.value, key, self.environ)
            return node.value
        try:
            return self._constructor.construct_object(node)
        except yaml.constructor.ConstructorError:
            self._report(key, f"unknown tag '{node.tag}'; remove it")
            return None
        except ValueError:
            return node.value  # an impossible date like 2023-13-01: validation names it

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


def _message_of(detail: ErrorDetails) -> str:
    wording = _WORDING.get(detail["type"])
    if wording is not None:
        return wording(detail)
    text = detail["msg"].replace("Input should be", "must be")
    return text[:1].lower() + text[1:]
