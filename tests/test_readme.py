"""The front page's tour, run as it is written: its article, its rule, and what `check`,
`match` and the log are shown saying, so that the page cannot drift from the code."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO
from worker.cli import main

README = (REPO / "README.md").read_text(encoding="utf-8")


def _between(start: str, end: str) -> str:
    """The text of the front page between `start` and the next `end`."""
    found = re.search(re.escape(start) + r"\n(.*?)\n" + re.escape(end), README, re.DOTALL)
    assert found, f"README.md no longer has {start!r}"
    return found.group(1)


def _shown(command: str) -> list[str]:
    """The lines an indented block of the front page shows after `$ command`."""
    block = _between(f"    $ {command}", "\n")
    return [line.removeprefix("    ") for line in block.splitlines()]


ARTICLE = _between("cat > inbox/arctic.md <<'EOF'", "EOF") + "\n"
RULE = _between("```yaml", "```") + "\n"


@pytest.fixture
def tour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clone's project: its config.yaml, seeds and rules, and an empty inbox."""
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    for folder in ("seeds", "rules"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / "inbox").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_tour_article_is_matched_as_the_log_line_shows(
    tour: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tour / "inbox" / "arctic.md").write_text(ARTICLE, encoding="utf-8")
    assert main(["ingest", "inbox/arctic.md"]) == 0
    [logged] = [line for line in README.splitlines() if line.startswith("    … INFO    …/")]
    assert logged.split("…/", 1)[1] in capsys.readouterr().err


def test_the_tour_rule_checks_and_matches_as_shown(
    tour: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tour / "inbox" / "arctic.md").write_text(ARTICLE, encoding="utf-8")
    (tour / "rules" / "arctic.yaml").write_text(RULE, encoding="utf-8")
    assert main(["check"]) == 0
    [checked] = _shown(".venv/bin/wirewatch check")
    assert capsys.readouterr().out.rstrip("\n").endswith(checked.removeprefix("…"))
    assert main(["match", "inbox/arctic.md", "--rule", "arctic-shipping"]) == 0
    shown = _shown(".venv/bin/wirewatch match inbox/arctic.md --rule arctic-shipping")
    assert capsys.readouterr().out.splitlines() == shown
    assert main(["match", "seeds/", "--rule", "arctic-shipping"]) == 0
    assert "✗" in capsys.readouterr().out  # which condition failed


def test_the_tour_query_mistake_is_one_line_with_file_and_line(
    tour: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = RULE.replace("NEAR/sentence", "NEAR/0")
    (tour / "rules" / "arctic.yaml").write_text(broken, encoding="utf-8")
    assert main(["check"]) == 1
    [told] = capsys.readouterr().err.splitlines()
    assert told.startswith(f"{tour / 'rules' / 'arctic.yaml'}:4: rules[0].query: column ")
