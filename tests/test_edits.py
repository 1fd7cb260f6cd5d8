"""Edits of the config, rules and templates made while the daemon was not yet watching."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_project
from worker.edits import EditWatcher
from worker.pipeline import load_setup
from worker.sources.observers import snapshot


def _rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "world.yaml").write_text("rules: []\n", encoding="utf-8")
    return rules


def test_an_edit_made_after_reading_and_before_watching_is_applied(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    read = snapshot([rules])
    (rules / "world.yaml").write_text("rules:\n  - {id: talks, query: talks}\n", "utf-8")
    watcher = EditWatcher([rules], quiet=0, read=read)
    watcher.start()
    try:
        assert watcher.settled()
        assert not watcher.settled()  # told once
    finally:
        watcher.stop()


def test_a_rule_file_added_before_watching_is_an_edit(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    read = snapshot([rules])
    (rules / "europe.yaml").write_text("rules: []\n", encoding="utf-8")
    watcher = EditWatcher([rules], quiet=0, read=read)
    watcher.start()
    try:
        assert watcher.settled()
    finally:
        watcher.stop()


def test_files_as_they_were_read_are_no_edit(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    watcher = EditWatcher([rules], quiet=0, read=snapshot([rules]))
    watcher.start()
    try:
        assert not watcher.settled()
    finally:
        watcher.stop()


def test_a_config_named_from_its_folder_is_no_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `wirewatch run -c config.yaml`: the rules were reloaded a few seconds after every
    # start, and the daemon held two rule sets' worth of memory from then on.
    make_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    setup = load_setup(Path("config.yaml"), {})
    watcher = EditWatcher(setup.edited_files(), quiet=0, read=setup.read)
    watcher.start()
    try:
        assert not watcher.settled()
    finally:
        watcher.stop()
