"""Near-duplicates: the same wire story rewritten by several outlets is one story, and
different stories on the same topic are not, at the default `same_story`."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.settings.config import FileChannel
from worker.text.minhash import (
    estimate,
    from_text,
    same_story_groups,
    shingles,
    signature,
    to_text,
)

FIXTURES = Path(__file__).parent.parent / "digest" / "fixtures" / "stories.json"
DEFAULT = FileChannel.model_fields["same_story"].default


def outlets() -> list[tuple[str, str]]:
    """(story, text) of every outlet's article in the fixtures."""
    stories = json.loads(FIXTURES.read_text(encoding="utf-8"))["stories"]
    return [
        (story["story"], f"{outlet['title']}\n{outlet['body']}")
        for story in stories
        for outlet in story["outlets"]
    ]


def test_the_default_groups_rewrites_and_separates_different_stories() -> None:
    articles = outlets()
    groups = same_story_groups([signature(text) for _, text in articles], DEFAULT)
    for (story, _), group in zip(articles, groups, strict=True):
        members = {articles[at][0] for at, g in enumerate(groups) if g == group}
        assert members == {story}
    assert len(set(groups)) == len({story for story, _ in articles})


def test_estimates_stay_clear_of_the_default_on_either_side() -> None:
    pairs = list(combinations(outlets(), 2))
    same = [estimate(signature(a), signature(b)) for (s, a), (t, b) in pairs if s == t]
    other = [estimate(signature(a), signature(b)) for (s, a), (t, b) in pairs if s != t]
    assert min(same) >= DEFAULT + 0.05
    assert max(other) <= DEFAULT - 0.15


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", set()),
        ("Putin met", {"putin met"}),
        ("Putin met Xi in Beijing", {"putin met xi", "met xi in", "xi in beijing"}),
    ],
)
def test_shingles_are_runs_of_three_folded_words(text: str, expected: set[str]) -> None:
    assert shingles(text) == expected


@given(st.text(max_size=200))
def test_a_signature_reads_back_as_stored(text: str) -> None:
    sig = signature(text)
    assert from_text(to_text(sig)) == sig


def test_an_empty_text_is_no_story_of_anything() -> None:
    assert estimate(signature(""), signature("")) == 0.0
    assert same_story_groups([signature(""), signature("")], DEFAULT) == [0, 1]


def test_a_stored_signature_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="64 numbers"):
        from_text("1 2 3")
