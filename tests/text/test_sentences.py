"""Sentence boundaries: abbreviations, numbers, quotations and paragraphs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.text.sentences import Sentences, first_sentence, sentence_spans


# Each ¦ marks where a sentence ends.
@pytest.mark.parametrize(
    "marked",
    [
        "Talks began. ¦Putin spoke.",
        "Mr. Lavrov met U.S. envoys. ¦They talked.",
        "He met U.N. officials. ¦Then he left.",
        "J. Smith wrote. ¦He left.",
        "Talks began on Feb. 2 in Beijing. ¦They ended.",
        "In Feb. ¦The talks started.",
        "See No. 5 for it. ¦Done.",
        "Is it over? ¦No. ¦It goes on!",
        "Growth was 5.2 percent. ¦Exports rose.",
        "Trade was US$123 billion. ¦It grew.",
        "“We agree. We will act,” Xi said. ¦Putin nodded.",
        '"We agree. We act," Xi said. ¦Putin nodded.',
        "He said: “We agree.” ¦Then he left.",
        '"Enough!" he said. ¦Then he left.',
        "Putin’s visit began. ¦Xi’s welcome followed.",
        "„Wir sind einig.“ ¦Putin sagte das. ¦Xi nickte.",
        "„Wir sind einig. Wir handeln“, sagte Xi. ¦Putin nickte.",
        "Er sagte: „Wir sind einig.“ ¦Dann ging er.",
        "Putin sagte das. ¦„Wir sind einig.“ ¦“We agree,” Xi said. ¦He left.",
        "„Wir sind einig.” ¦Putin sagte das.",
        "»Wir sind einig.« ¦Putin sagte das. ¦Xi nickte.",
        "»Wir sind einig. Wir handeln«, sagte Xi. ¦Putin nickte.",
        "«Wir sind einig.» ¦Putin sagte das. ¦»Gut.« ¦Xi nickte.",
        "«Мы согласны. Мы действуем», — сказал Путин. ¦Си кивнул.",
        "Путин сказал: «Он ответил „да“. Мы едины.» ¦Си кивнул.",
        "Home » Nation\nPutin spoke. ¦Xi listened.",
        "« Nous sommes d'accord. » ¦Il est parti. ¦Xi a hoché la tête.",
        "« Nous sommes d'accord. Nous agissons », a dit Xi. ¦Poutine a acquiescé.",
        "Il a dit\u00a0: «\u00a0Oui.\u00a0» ¦Puis il est parti.",
        "A headline\n\n¦The text. ¦More text.",
        "Путин прибыл в Пекин. ¦Си Цзиньпин встретил его.",
        "One line\nwrapped by hand. ¦Next.",
        "习近平会见普京。¦双方讨论了能源合作！¦会谈持续了三小时。",
        "プーチン大統領と会談した。¦「協力を深める」と述べた。",
    ],
)
def test_sentences(marked: str) -> None:
    text = marked.replace("¦", "")
    expected = [part.strip() for part in marked.split("¦")]
    assert [text[start:end] for start, end in sentence_spans(text)] == expected


def test_blank_text_has_no_sentences() -> None:
    assert sentence_spans("  \n ") == []


def test_first_sentence() -> None:
    assert first_sentence("Mr. Lavrov met U.S. envoys. They talked.") == (
        "Mr. Lavrov met U.S. envoys."
    )
    assert first_sentence("") == ""


PIECES = [*"ab Xy.!?\n\"“”„«»。'", " U.S. ", " Mr. ", "3.5", "\n\n"]


@given(st.lists(st.sampled_from(PIECES), max_size=60).map("".join))
def test_matching_and_summaries_see_the_same_sentences(text: str) -> None:
    sentences = Sentences(text)
    ends = [{sentences.end(at) for at in range(start, end)} for start, end in sentence_spans(text)]
    assert all(len(one) == 1 for one in ends)  # a summary's sentence is one to a matcher
    firsts = [min(one) for one in ends]
    assert firsts == sorted(set(firsts))  # and two of them are two
