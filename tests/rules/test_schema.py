"""The editor schemas: what `wirewatch schema` prints, the committed copies, and every
shipped YAML file held against them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.helpers import REPO
from worker.cli import main
from worker.project import starter_files
from worker.rules.schema import SCHEMAS, json_schema
from worker.settings.yamlfile import read_yaml

MODELINE = "# yaml-language-server: $schema="

# Every YAML file the repository ships, and the schema each is written against.
SHIPPED = [
    (path, "config" if path.name == "config.yaml" else "rules")
    for path in sorted(
        [REPO / "config.yaml", *REPO.glob("rules/*.yaml"), *REPO.glob("examples/*/*.yaml")]
    )
]


def validator(name: str) -> Draft202012Validator:
    schema = json_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def as_an_editor_reads(data: Any) -> Any:
    """YAML as a language server reads it (YAML 1.2): a date is text, as wirewatch reads it."""
    if isinstance(data, dict):
        return {key: as_an_editor_reads(value) for key, value in data.items()}
    if isinstance(data, list):
        return [as_an_editor_reads(item) for item in data]
    return data.isoformat() if isinstance(data, date) else data


def mistakes(name: str, data: Any) -> list[str]:
    return [error.message for error in validator(name).iter_errors(as_an_editor_reads(data))]


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_the_committed_schema_is_what_wirewatch_schema_prints(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", name]) == 0
    printed = capsys.readouterr().out
    committed = (REPO / "schemas" / f"{name}.json").read_text(encoding="utf-8")
    assert committed == printed, (
        f"schemas/{name}.json differs from the models; "
        f"run: wirewatch schema {name} > schemas/{name}.json"
    )
    assert json.loads(printed)["$schema"].startswith("https://json-schema.org/")


@pytest.mark.parametrize(("path", "name"), SHIPPED, ids=lambda p: str(p).removeprefix(str(REPO)))
def test_every_shipped_file_names_its_schema_and_holds_to_it(path: Path, name: str) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE), f"{path}: the first line names no schema"
    assert (path.parent / first.removeprefix(MODELINE)).resolve() == (
        REPO / "schemas" / f"{name}.json"
    )
    assert mistakes(name, read_yaml(path).data) == []


STARTER = [(file, text) for file, text in starter_files().items() if file.endswith(".yaml")]


@pytest.mark.parametrize(("file", "text"), STARTER)
def test_what_init_writes_holds_to_the_schema(file: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / "written.yaml"
    path.write_text(text, encoding="utf-8")
    name = "config" if file == "config.yaml" else "rules"
    assert mistakes(name, read_yaml(path).data) == []


@pytest.mark.parametrize(
    ("name", "data", "told"),
    [
        ("rules", {"rules": [{"id": "a", "querry": "Putin"}]}, "'querry' was unexpected"),
        ("rules", {"participant": {}}, "'participant' was unexpected"),
        ("rules", {"participants": {"xi": {"name": "Xi", "alias": ["Xi"]}}}, "'alias'"),
        ("rules", {"rules": [{"id": "a", "priority": "urgent"}]}, "'urgent' is not one of"),
        ("config", {"watch": [{"path": "inbox"}], "chanels": {}}, "'chanels' was unexpected"),
        ("config", {"timing": {"lease": "15 minutes"}}, "does not match"),
        # a channel's type tells the kinds apart: it must be written
        ("config", {"channels": {"local": {"path": "outbox/"}}}, "not valid under any"),
        ("config", {"channels": {"m": {"type": "email", "to": ["a@b.org"]}}}, "not valid"),
    ],
)
def test_the_schema_flags_a_mistyped_key_or_value(name: str, data: Any, told: str) -> None:
    assert any(told in message for message in mistakes(name, data)), mistakes(name, data)


@pytest.mark.parametrize(
    "data",
    [
        {"rules": "rules/", "alerts": "local"},
        {"rules": ["rules/", "more.yaml"], "timing": {"lease": "15s", "sweep": "0.5m"}},
        {"channels": {"m": {"type": "email", "to": ["a@b.org"], "from": "w@b.org",
                            "smtp": {"host": "localhost"}}}},
    ],
)  # fmt: skip
def test_the_schema_takes_every_shape_wirewatch_takes(data: dict[str, Any]) -> None:
    assert mistakes("config", data) == []


def test_a_default_reads_as_it_would_be_written() -> None:
    retry = json_schema("config")["$defs"]["FileChannel"]["properties"]["retry"]["default"]
    assert retry["delays"] == ["5s", "1m", "5m", "30m", "2h", "6h"]
    assert retry["give_up_after"] == "1d"


def _with_examples(node: Any, defs: dict[str, Any]) -> list[tuple[dict[str, Any], list[Any]]]:
    """Each schema in `node` that gives examples, with its examples."""
    found = []
    if isinstance(node, dict):
        if "examples" in node:
            found.append(({**node, "$defs": defs}, node["examples"]))
        for value in node.values():
            found += _with_examples(value, defs)
    elif isinstance(node, list):
        for value in node:
            found += _with_examples(value, defs)
    return found


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_example_an_editor_shows_holds_to_its_key(name: str) -> None:
    schema = json_schema(name)
    shown = _with_examples(schema, schema.get("$defs", {}))
    assert len(shown) >= 5  # the examples the reference and an editor's hover show
    for key_schema, examples in shown:
        for example in examples:
            assert Draft202012Validator(key_schema).is_valid(example), (key_schema, example)
