"""A digest's summary of an article: one to three whole sentences around the matches.

The sentence with the most different matched terms is taken, then its neighbours while
they hold matches too (or while the summary is still short); the matched terms are
given as spans of the summary so that each output format can highlight them. A heading
(a line without closing punctuation) is never joined to a sentence: the summary folds
line breaks into spaces, and it would read as the first words of the next sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from worker.model import Hit
from worker.text.sentences import sentence_spans

__all__ = ["Summary", "summarize"]

Span = tuple[int, int]

LIMIT = 400  # characters; a longer single sentence is cut around its first match
SHORT = 160  # below this a neighbouring sentence without matches is added too
MAX_SENTENCES = 3


@dataclass(frozen=True)
class Summary:
    """The summary text and the (start, end) of each matched term in it."""

    text: str
    highlights: tuple[Span, ...]


def summarize(body: str, hits: Sequence[Hit], limit: int = LIMIT) -> Summary:
    """One to three sentences of `body` around `hits`, with the hits as highlight spans."""
    sentences = sentence_spans(body)
    if not sentences:
        return Summary("", ())
    marks = sorted({(hit.start, hit.end) for hit in hits if hit.field == "body"})
    first, last = _choose(body, sentences, _scores(sentences, hits), limit)
    start, end = sentences[first][0], sentences[last][1]
    inside = [(a, b) for a, b in marks if start <= a and b <= end]
    text, spans = _squeeze(body, start, end, inside)
    if len(text) > limit:
        text, spans = _cut(text, spans, limit)
    return Summary(text, tuple(spans))


def _scores(sentences: Sequence[Span], hits: Sequence[Hit]) -> list[int]:
    """How many different terms and participants each sentence holds."""
    found: list[set[str]] = [set() for _ in sentences]
    for hit in hits:
        if hit.field != "body":
            continue
        for i, (start, end) in enumerate(sentences):
            if start <= hit.start < end:
                found[i].add(hit.participant or hit.term.casefold())
    return [len(terms) for terms in found]


def _choose(body: str, sentences: Sequence[Span], scores: Sequence[int], limit: int) -> Span:
    """The first and last sentence of the summary (the best one when no hit is in the body
    is the first: the lead of the article). A heading is taken only when no sentence has a
    match, and then on its own."""
    best = max(
        range(len(scores)),
        key=lambda i: (scores[i] > 0, _closed(body, sentences[i]), scores[i], -i),
    )
    first = last = best
    while last - first + 1 < MAX_SENTENCES:
        length = sentences[last][1] - sentences[first][0]
        grown = _neighbour(body, sentences, scores, first, last, length)
        if grown is None or _length(sentences, *grown) > limit:
            break
        first, last = grown
    return first, last


def _neighbour(
    body: str, sentences: Sequence[Span], scores: Sequence[int], first: int, last: int, length: int
) -> Span | None:
    """The span grown by the neighbour with matches (the next one first); or, while the
    summary is short, by the next sentence (or else the one before)."""
    before = first - 1 if first > 0 and _joins(body, sentences, first - 1) else None
    after = last + 1 if last + 1 < len(sentences) and _joins(body, sentences, last) else None
    options = [(i, n) for i, n in ((after, 1), (before, 0)) if i is not None]
    with_hits = [(i, n) for i, n in options if scores[i]]
    chosen = with_hits or (options if length < SHORT else [])
    if not chosen:
        return None
    index, is_after = max(chosen, key=lambda option: scores[option[0]])
    return (first, index) if is_after else (index, last)


def _joins(body: str, sentences: Sequence[Span], index: int) -> bool:
    """Whether sentence `index` and the next can stand in one summary: both are closed, and
    on one line they still read as two (a blank line alone may have parted them)."""
    one, two = sentences[index], sentences[index + 1]
    if not (_closed(body, one) and _closed(body, two)):
        return False
    return len(sentence_spans(f"{body[one[0] : one[1]]} {body[two[0] : two[1]]}")) == 2


_CLOSED = re.compile(r"[.!?…。！？][^\w\s]*$")  # with any closing quotes or brackets


def _closed(body: str, sentence: Span) -> bool:
    """Whether the sentence ends with closing punctuation (it is no heading)."""
    return _CLOSED.search(body[sentence[0] : sentence[1]]) is not None


def _length(sentences: Sequence[Span], first: int, last: int) -> int:
    return sentences[last][1] - sentences[first][0]


_SPACE = re.compile(r"\s+")


def _squeeze(body: str, start: int, end: int, marks: Sequence[Span]) -> tuple[str, list[Span]]:
    """body[start:end] with each run of white space as one space, and `marks` moved along."""
    pieces: list[str] = []
    moved: dict[int, int] = {}  # offset in body -> offset in the text
    position, length = start, 0
    for space in _SPACE.finditer(body, start, end):
        length = _keep(body, position, space.start(), pieces, moved, length)
        pieces.append(" ")
        length += 1
        position = space.end()
    length = _keep(body, position, end, pieces, moved, length)
    moved[end] = length
    return "".join(pieces), [(moved[a], moved[b]) for a, b in marks if a in moved and b in moved]


def _keep(
    body: str, start: int, end: int, pieces: list[str], moved: dict[int, int], length: int
) -> int:
    for offset in range(start, end + 1):
        moved[offset] = length + offset - start
    pieces.append(body[start:end])
    return length + end - start


def _cut(text: str, marks: Sequence[Span], limit: int) -> tuple[str, list[Span]]:
    """A window of about `limit` characters around the first mark, cut between words."""
    focus = marks[0][0] if marks else 0
    start = max(0, min(focus - limit // 3, len(text) - limit))
    end = start + limit
    if start > 0:
        start = text.find(" ", start) + 1 or start
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    head, tail = ("… " if start > 0 else ""), (" …" if end < len(text) else "")
    shift = len(head) - start
    kept = [(a + shift, b + shift) for a, b in marks if start <= a and b <= end]
    return head + text[start:end].strip() + tail, kept
