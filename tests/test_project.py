"""`wirewatch init`: a new project folder that checks and digests, and that never
replaces a file already there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, Project
from worker.cli import main

MODELINE = "# yaml-language-server: $schema="

CLIMATE_ARTICLE = """\
 date 2025-11-12 Guterres urges leaders at climate talks to cut emissions faster

UN Secretary-General António Guterres told the climate conference in Belém that
emissions must fall by almost half this decade if warming is to stay near 1.5C.
"""


def test_init_makes_a_project_that_checks_and_digests_an_article(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "news"
    assert main(["init", str(folder)]) == 0
    told = capsys.readouterr().out
    assert f"wrote {folder / 'config.yaml'}" in told
    assert f"cd {folder}" in told
    assert "wirewatch check" in told
    assert "wirewatch run" in told
    assert (folder / "inbox").is_dir()
    project = Project(folder)
    assert main(["check", "-c", str(project.config)]) == 0
    (project.inbox / "belem.txt").write_text(CLIMATE_ARTICLE, encoding="utf-8")
    assert main(["run", "--once", "-c", str(project.config)]) == 0
    (digest,) = project.digests()
    (item,) = digest["items"]
    assert item["article"]["title"].startswith("Guterres urges leaders")
    assert set(item["rules"]) == {"climate-talks", "un-chief-on-climate"}


def test_init_in_the_current_folder_needs_no_cd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    told = capsys.readouterr().out
    assert "wrote config.yaml" in told
    assert "cd " not in told
    assert main(["check"]) == 0


def test_each_yaml_file_names_the_schema_written_beside_it(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path)]) == 0
    for path in [tmp_path / "config.yaml", *tmp_path.glob("rules/*.yaml")]:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        schema = path.parent / first.removeprefix(MODELINE)
        assert first.startswith(MODELINE)
        assert schema.resolve().parent == tmp_path / "schemas"
        assert schema.is_file()


def test_init_keeps_a_config_already_there_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = b"# my own\r\nstate: elsewhere.db\r\nwatch: [{path: .}]\r\n"
    (tmp_path / "config.yaml").write_bytes(mine)
    assert main(["init", str(tmp_path)]) == 1  # something was refused
    assert (tmp_path / "config.yaml").read_bytes() == mine
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"{tmp_path / 'config.yaml'}: exists; kept as it is",
        *(
            f"{tmp_path / 'rules' / name}: not written: a project is here already, and the"
            " example would not fit it"
            for name in ("participants.yaml", "watch.yaml")
        ),
    ]
    assert not (tmp_path / "rules").exists()
    assert not (tmp_path / "inbox").exists()
    assert f"wrote {tmp_path / 'schemas' / 'rules.json'}" in out  # for the editor
    assert "Next:" not in out


def test_init_in_a_project_of_its_own_rules_adds_no_example_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    for folder in ("rules", "seeds"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / "inbox").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 1
    assert sorted(path.name for path in (tmp_path / "rules").iterdir()) == sorted(
        path.name for path in (REPO / "rules").iterdir()
    )
    assert main(["check"]) == 0  # an example rule would name a participant it lacks


def test_init_again_replaces_nothing_and_says_so_for_each_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    (tmp_path / "rules" / "watch.yaml").write_text("rules: []\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["init", str(tmp_path), "-q"]) == 1  # it takes the log's options too
    out, err = capsys.readouterr()
    assert "wrote" not in out
    assert len(err.splitlines()) == 5  # config, two rule files, two schemas
    assert (tmp_path / "rules" / "watch.yaml").read_text(encoding="utf-8") == "rules: []\n"


def test_init_where_a_file_stands_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").write_text("a file", encoding="utf-8")
    assert main(["init", str(tmp_path / "taken")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"wirewatch init: {tmp_path / 'taken'}")
