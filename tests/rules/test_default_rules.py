"""The default rule set over the seed articles: each seed matches the rules a reader expects."""

from __future__ import annotations

from datetime import date

import pytest

from tests.helpers import REPO
from worker.ingest.formats import parse_file
from worker.match.matcher import Matcher
from worker.model import Article
from worker.rules.files import load_rules
from worker.settings.config import load_config

RULES = load_rules(load_config(REPO / "config.yaml", {}))


@pytest.mark.parametrize(
    ("seed", "rules", "reason"),
    [
        (
            "000_e87f8abe83e54d3e.txt",
            {"foreign-minister-contacts", "sco-brics", "strategic-partnership"},
            {
                # "Foreign Minister Wang" and "Wang Yi" overlap: one mention of Wang Yi
                "foreign-minister-contacts": [
                    "Foreign Minister Wang Yi",
                    "Sergey Lavrov",
                    "met",
                    "sidelines",
                ]
            },
        ),
        (
            "001_d9422b366859b37e.txt",
            {"xi-putin-contacts", "sco-brics", "ukraine-settlement", "strategic-partnership"},
            {"ukraine-settlement": ["peace talks", "political resolution", "Ukraine"]},
        ),
        (
            "002_5508f9bde4412175.txt",
            {"xi-putin-contacts", "kremlin-readouts", "energy-cooperation"},
            {"xi-putin-contacts": ["Xi Jinping", "Vladimir Putin", "video call"]},
        ),
        (
            "003_1a328842afac22b4.txt",
            {"xi-putin-contacts", "strategic-partnership"},
            {"strategic-partnership": ["strategic cooperation", "no limits"]},
        ),
        (
            "004_79ad88eba1b6bebe.txt",
            {"xi-putin-contacts", "ukraine-settlement", "strategic-partnership"},
            {"xi-putin-contacts": ["President Xi Jinping", "Vladimir Putin", "meeting"]},
        ),
    ],
)
def test_each_seed_matches_for_a_reason(
    seed: str, rules: set[str], reason: dict[str, list[str]]
) -> None:
    path = REPO / "seeds" / seed
    (article,) = parse_file(str(path), path.read_bytes(), date(2026, 1, 1)).articles
    matches = {match.rule_id: match for match in Matcher(RULES).match(article)}
    assert set(matches) == rules
    for rule_id, words in reason.items():
        found = {
            (article.title if hit.field == "title" else article.body)[hit.start : hit.end]
            for hit in matches[rule_id].hits
        }
        assert set(words) <= found, f"{rule_id}: {sorted(found)}"


@pytest.mark.parametrize("city", ["Xi'an", "Xi’an"])
def test_the_city_of_xian_is_not_xi(city: str) -> None:
    body = f"The {city} summit drew Putin to talks."
    article = Article("a1", "Summit", body, date(2024, 5, 1), "inbox/a.txt")
    assert "xi-putin-contacts" not in {match.rule_id for match in Matcher(RULES).match(article)}


def test_every_participant_has_chinese_and_russian_names() -> None:
    for participant in RULES.participants.values():
        aliases = " ".join(participant.aliases)
        assert any("\u4e00" <= char <= "\u9fff" for char in aliases), participant.name
        assert any("\u0400" <= char <= "\u04ff" for char in aliases), participant.name
