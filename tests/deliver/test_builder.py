"""Which rules' matches go to a channel: by id, by tag, by priority."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.deliver.builder import rules_for
from worker.rules.ruleset import Keywords, Rule, RuleSet
from worker.settings.config import load_config

PRIORITIES = RuleSet(
    {},
    (
        Rule(id="top", keywords=Keywords(any=("a",)), priority="high", tags=("leaders",)),
        Rule(id="mid", keywords=Keywords(any=("b",)), tags=("energy",)),
        Rule(id="low", keywords=Keywords(any=("c",)), priority="low", tags=("energy",)),
    ),
)


@pytest.mark.parametrize(
    ("settings", "rule_ids"),
    [
        ("", ["top", "mid", "low"]),
        ("min_priority: normal", ["top", "mid"]),
        ("min_priority: high", ["top"]),
        ("rules: [low, 'tag:leaders']", ["top", "low"]),
        ("rules: ['tag:energy'], min_priority: normal", ["mid"]),
    ],
)
def test_channel_selection(tmp_path: Path, settings: str, rule_ids: list[str]) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "rules").mkdir()
    extra = settings.strip("{}")
    channel = f"{{type: file, path: out{', ' + extra if extra else ''}}}"
    text = f"watch: [{{path: inbox}}]\nchannels:\n  c: {channel}\n"
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "config.yaml", {})
    assert rules_for(config.channels["c"], PRIORITIES) == rule_ids
