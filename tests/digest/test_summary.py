"""Summaries: whole sentences around the matches, with the matched terms as highlights."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from tests.helpers import REPO
from worker.digest.summary import summarize
from worker.ingest.formats import parse_file
from worker.match.matcher import Matcher
from worker.model import Hit
from worker.rules.files import load_rules
from worker.settings.config import load_config
from worker.text.sentences import sentence_spans


def hit(body: str, term: str, participant: str | None = None, nth: int = 0) -> Hit:
    start = [m.start() for m in re.finditer(re.escape(term), body)][nth]
    return Hit(term, "body", start, start + len(term), participant)


def marked(summary_text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [summary_text[a:b] for a, b in spans]


BODY = (
    "The weather was mild. Markets opened calm. "
    "Putin met Xi in Beijing for talks on gas. "
    "Both sides praised the pipeline. Nothing else was said about it at the meeting. "
    "Unrelated sports news followed."
)


def test_the_sentence_with_the_most_terms_and_its_neighbours_with_matches() -> None:
    hits = [
        hit(BODY, "Putin", "putin"),
        hit(BODY, "Xi", "xi"),
        hit(BODY, "gas"),
        hit(BODY, "pipeline"),
    ]
    summary = summarize(BODY, hits)
    assert summary.text == (
        "Putin met Xi in Beijing for talks on gas. Both sides praised the pipeline."
        " Nothing else was said about it at the meeting."
    )  # short: the next sentence is added too, up to three
    assert marked(summary.text, summary.highlights) == ["Putin", "Xi", "gas", "pipeline"]


def test_a_long_enough_summary_is_not_padded() -> None:
    body = (
        "Intro. " + "Putin met Xi in Beijing and the two leaders spoke at length about the "
        "energy partnership, the pipeline, trade in national currencies and the region, "
        "the agencies reported. Other things happened."
    )
    summary = summarize(body, [hit(body, "Putin", "putin")])
    assert summary.text.startswith("Putin met Xi")
    assert summary.text.endswith("the agencies reported.")


def test_without_body_hits_the_lead_is_the_summary() -> None:
    summary = summarize("First sentence here. Second one.", [Hit("gas", "title", 0, 3)])
    assert summary.text == "First sentence here. Second one."
    assert summary.highlights == ()


def test_white_space_is_folded_and_highlights_follow() -> None:
    body = "Putin\n  met   Xi\tin Beijing."
    summary = summarize(body, [hit(body, "Xi", "xi")])
    assert summary.text == "Putin met Xi in Beijing."
    assert marked(summary.text, summary.highlights) == ["Xi"]


def test_a_very_long_sentence_is_cut_around_the_match() -> None:
    body = "word " * 200 + "Putin arrived " + "word " * 200 + "end."
    summary = summarize(body, [hit(body, "Putin", "putin")])
    assert len(summary.text) <= 404
    assert summary.text.startswith("… ")
    assert summary.text.endswith(" …")
    assert marked(summary.text, summary.highlights) == ["Putin"]


def sentences_of(text: str) -> list[str]:
    """The sentences of `text` with their white space folded, as a summary shows them."""
    return [" ".join(text[start:end].split()) for start, end in sentence_spans(text)]


def test_a_heading_is_not_run_into_the_next_sentence() -> None:
    body = "Putin met Xi.\n\nStrategic ties\n\nThe two sides praised their strategic ties."
    summary = summarize(body, [hit(body, "Strategic ties"), hit(body, "strategic ties")])
    assert summary.text == "The two sides praised their strategic ties."
    assert marked(summary.text, summary.highlights) == ["strategic ties"]


def test_a_heading_stands_alone_when_no_sentence_has_a_match() -> None:
    body = "Strategic ties\n\nThe two sides praised each other. They met again in May."
    summary = summarize(body, [hit(body, "Strategic ties")])
    assert summary.text == "Strategic ties"
    assert marked(summary.text, summary.highlights) == ["Strategic ties"]


def test_sentences_are_not_joined_where_a_blank_line_alone_parts_them() -> None:
    body = "Putin met Xi on Monday.\n\n- in Moscow, for talks.\n\nThey talked about gas."
    summary = summarize(body, [hit(body, "Putin", "putin")])
    assert summary.text == "Putin met Xi on Monday."


SEEDS = sorted((REPO / "seeds").glob("*.txt"))
RULES = load_rules(load_config(REPO / "config.yaml", {}))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda path: path.name[:3])
def test_seed_summaries_hold_a_match_and_read_as_sentences(seed: Path) -> None:
    (article,) = parse_file(str(seed), seed.read_bytes(), date(2026, 1, 1)).articles
    sentences = sentences_of(article.body)
    for match in Matcher(RULES).match(article):
        summary = summarize(article.body, match.hits)
        words = {hit.term.casefold() for hit in match.hits} | {
            article.body[h.start : h.end].casefold() for h in match.hits if h.field == "body"
        }
        body_hits = [h for h in match.hits if h.field == "body"]
        if body_hits:
            assert summary.highlights, match.rule_id
            assert {summary.text[a:b].casefold() for a, b in summary.highlights} <= words
        # Read again, the summary is the article's sentences, one after another: none of
        # them has taken in a heading or the start of the next paragraph.
        read = sentences_of(summary.text)
        runs = [sentences[at : at + len(read)] for at in range(len(sentences))]
        assert read in runs, (match.rule_id, read)
        assert 40 <= len(summary.text) <= 404
