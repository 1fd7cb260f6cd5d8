"""The examples: each beat's config and rules check, and its rules match its own articles
and leave its near misses alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import REPO
from worker.cli import main

EXAMPLES = REPO / "examples"

# Each article of each beat, and the rules it must match: none for a near miss.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "sanctions": {
        "eu-drone-sanctions.txt": {"iran-sanctions"},
        "treasury-tankers.json": {"iran-sanctions", "iran-oil-under-sanctions"},
        "ru-sanctions.md": {"iran-sanctions"},
        "fifa-fine.txt": set(),  # sanctions in sport
        "venezuela-sanctions.txt": set(),  # Iran named, far from the sanctions
        "iran-earthquake.txt": set(),
    },
    "company": {
        "quarterly-results.txt": {"norvik-energy", "norvik-executives"},
        "ceo-interview.md": {"norvik-executives"},
        "market-wrap.json": {"norvik-energy"},  # the ticker
        "novelist.txt": set(),  # a namesake of the chief executive
        "norvik-ferry.txt": set(),  # a village of the same name
    },
    "election": {
        "campaign-opens.txt": {"brazil-election-2026"},
        "tse-deepfakes.md": {"brazil-election-2026", "brazil-election-integrity"},
        "eleicoes-pt.txt": {"brazil-election-2026"},
        "runoff-2022.txt": set(),  # the election before, outside since/until
        "cbf-vote.txt": set(),  # the football confederation's vote
    },
    "person": {
        "ecb-holds-rates.txt": {"lagarde", "lagarde-on-rates"},
        "ru-interview.txt": {"lagarde", "lagarde-on-rates"},
        "zh-speech.txt": {"lagarde", "lagarde-on-rates"},
        "el-athens.txt": {"lagarde", "lagarde-on-rates"},
        "ar-visit.json": {"lagarde"},
        "lagardere.txt": set(),  # a company whose name begins like hers
        "ecb-lane.txt": set(),  # the bank and rates, without her
    },
}


def test_every_beat_is_tested() -> None:
    assert {path.name for path in EXAMPLES.iterdir() if path.is_dir()} == set(EXPECTED)


@pytest.mark.parametrize("beat", EXPECTED)
def test_the_example_checks_without_a_warning(
    beat: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--strict", "-c", str(EXAMPLES / beat / "config.yaml")]) == 0
    out, err = capsys.readouterr()
    assert " OK: " in out
    assert "warning" not in out + err


@pytest.mark.parametrize("beat", EXPECTED)
def test_the_rules_match_their_articles_and_no_near_miss(
    beat: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = EXAMPLES / beat
    articles = folder / "articles"
    assert main(["match", "-c", str(folder / "config.yaml"), "--json", str(articles)]) == 0
    found = {
        Path(report["path"]).name: {match["rule"] for match in report["matches"]}
        for report in json.loads(capsys.readouterr().out)
    }
    assert found == EXPECTED[beat]
    assert any(not rules for rules in found.values()), "each beat has a near miss"
