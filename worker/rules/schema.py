"""config.yaml and rule files as JSON Schema, for editors to complete keys and flag mistakes
while typing (`wirewatch schema config|rules`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from worker.rules.ruleset import RuleFile
from worker.settings.config import Config

__all__ = ["SCHEMAS", "json_schema", "schema_text"]

# What each `wirewatch schema NAME` describes, and the title an editor shows for it.
SCHEMAS: Mapping[str, tuple[type[BaseModel], str]] = {
    "config": (Config, "wirewatch config.yaml"),
    "rules": (RuleFile, "wirewatch rule file (participants and rules)"),
}

_DRAFT = "https://json-schema.org/draft/2020-12/schema"
# A duration as parse_duration reads it: a number and s, m, h or d.
_DURATION_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*[smhdSMHD]\s*$"
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


class _Written(GenerateJsonSchema):
    """Pydantic's schema in the shapes a user writes: durations as `15m`, not ISO 8601."""

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": _DURATION_PATTERN,
            "examples": ["30s", "15m", "2h", "1d"],
        }

    def encode_default(self, dft: Any) -> Any:
        return super().encode_default(_as_written(dft))


def _as_written(value: Any) -> Any:
    """A default as it would be written in the YAML file."""
    if isinstance(value, BaseModel):
        return _as_written(value.model_dump(by_alias=True))
    if isinstance(value, dict):
        return {key: _as_written(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_written(item) for item in value]
    if isinstance(value, timedelta):
        return _duration_text(value)
    return value


def _duration_text(duration: timedelta) -> str:
    """`1d`, `2h`, `15m`, `30s`: the largest unit that counts it whole."""
    seconds = duration.total_seconds()
    unit, size = next((u, s) for u, s in _UNITS if seconds % s == 0 or u == "s")
    return f"{seconds / size:g}{unit}"


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of `config` or `rules`; KeyError for another name."""
    model, title = SCHEMAS[name]
    schema = model.model_json_schema(schema_generator=_Written)
    _require_discriminators(schema)
    return {"$schema": _DRAFT, **schema, "title": title}


def schema_text(name: str) -> str:
    """The schema as `wirewatch schema NAME` prints it and schemas/NAME.json holds it."""
    return json.dumps(json_schema(name), indent=2, ensure_ascii=False) + "\n"


def _require_discriminators(schema: dict[str, Any]) -> None:
    """A channel's `type:` has a default in its model, yet a config must write it: the
    union is told apart by it. Say so in the schema too."""
    definitions = schema.get("$defs", {})
    for found in _walk(schema):
        discriminator = found.get("discriminator")
        if not isinstance(discriminator, dict):
            continue
        key = discriminator["propertyName"]
        for reference in discriminator["mapping"].values():
            member = definitions[reference.removeprefix("#/$defs/")]
            member["required"] = sorted({*member.get("required", []), key})


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every object in a JSON document, itself included."""
    if isinstance(node, list):
        return [found for item in node for found in _walk(item)]
    if not isinstance(node, dict):
        return []
    return [node, *(found for value in node.values() for found in _walk(value))]
