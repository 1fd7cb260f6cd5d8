"""Where the sentences of a text begin and end.

A sentence ends at `.`, `!`, `?` or `…` (and any closing quotes) before a space and a
capital, a digit or an opening quote; at `。`, `！` or `？`; or at a blank line. It does not
end after an abbreviation ("Mr.", "U.S.", "Feb. 2"), nor inside a quotation that goes on:
“…”, „…“, «…» or »…«.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator

__all__ = ["Sentences", "first_sentence", "sentence_spans"]

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
# One character class first lets `re` skip ahead to the next candidate quickly. The
# lookahead takes what follows, past spaces and opening quotes: its first character.
# French sets a closing » apart from the sentence with a (no-break) space: « Oui. » Il part.
# (A German opening » stands against the word after it: »Gut.«)
_END = re.compile(
    r"[.!?…。！？][.!?…。！？\"'”’»“«)\]」』）]*"
    r"(?:[ \u00a0\u202f]»(?!\S))?"
    r"(?=\s+[\"'“‘«„»(\[]*(\S))?"
)
_LAST_WORD = re.compile(r"(\S+)$")
_FULL_STOPS = "。！？"
_LONGEST_WORD = 24  # enough of what precedes a period to tell an abbreviation
_ANY_QUOTE = re.compile(r"[\"“”„«»]")
_ABBREVIATIONS = frozenset(
    (
        *("mr", "mrs", "ms", "dr", "prof", "gen", "col", "lt", "sgt", "capt", "adm"),
        *("gov", "sen", "rep", "pres", "amb", "rev", "st", "jr", "sr"),
        *("inc", "ltd", "co", "corp", "bros", "dept", "univ", "est", "approx", "vs", "etc", "al"),
    )
)
# Abbreviations only before a number: "No. 5", "Feb. 2"; "No. It goes on" ends at "No."
_BEFORE_NUMBERS = frozenset(
    (
        *("no", "nos", "vol", "pp", "p", "fig", "art", "sec"),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
    )
)
# The marks that close a quotation each mark opens: English “…”, German „…“ (Polish „…”),
# Swiss, French and Russian «…», German »…«. So “, « and » close the innermost quotation
# where they are its closing mark, and else open one. Single curly quotes are left out: ’
# is far more often an apostrophe (Putin’s).
_CLOSERS = {"“": "”", "„": "“”", "«": "»", "»": "«"}
_CURLY_QUOTE = re.compile("[“”„«»]")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each sentence of `text`, in order, without surrounding space."""
    spans: list[tuple[int, int]] = []
    for start, end in _paragraphs(text):
        begin = start
        for stop in [*_ends_in(text, start, end), end]:
            if trimmed := _trim(text, begin, stop):
                spans.append(trimmed)
            begin = stop
    return spans


class Sentences:
    """The sentences of one text, found a paragraph at a time as they are asked about.

    A matcher asks which sentence a few words are in: finding every sentence of an
    article for that would cost more than the rest of matching it.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._paragraphs = list(_paragraphs(text))
        self._starts = [start for start, _ in self._paragraphs]
        self._ends: dict[int, list[int]] = {}

    def end(self, position: int) -> int:
        """Where the sentence that the character at `position` is in ends (between its
        last character and the next sentence's first): one number for each sentence."""
        paragraph = bisect_right(self._starts, position) - 1
        ends = self._ends_of(paragraph)
        at = bisect_right(ends, position)
        if at < len(ends):
            return ends[at]
        if paragraph + 1 < len(self._paragraphs):  # between paragraphs: the next sentence
            return self._ends_of(paragraph + 1)[0]
        return len(self._text) + 1

    def _ends_of(self, paragraph: int) -> list[int]:
        ends = self._ends.get(paragraph)
        if ends is None:
            start, end = self._paragraphs[paragraph]
            ends = self._ends[paragraph] = [*_ends_in(self._text, start, end), end]
        return ends


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for paragraph in _PARAGRAPH.finditer(text):
        yield start, paragraph.start()
        start = paragraph.end()
    yield start, len(text)


def first_sentence(text: str) -> str:
    """The first sentence of `text` (all of it when it has one sentence)."""
    spans = sentence_spans(text)
    return text[spans[0][0] : spans[0][1]] if spans else ""


def _ends_in(text: str, start: int, end: int) -> Iterator[int]:
    """Where the sentences of the paragraph text[start:end] end, but for its own end."""
    begin = start
    quotes = _Quotes(text, start) if _ANY_QUOTE.search(text, start, end) else None
    for found in _END.finditer(text, start, end):
        stop, after = found.span()
        if not _ends_sentence(text, begin, stop, found.group(1)):
            continue
        if quotes is None or not quotes.open_at(after):  # it counts all quotes up to `after`
            yield after
            begin = after
            if quotes is not None:
                quotes.restart()


class _Quotes:
    """Whether a quotation is open, counted as the text is read (a sentence at a time)."""

    def __init__(self, text: str, start: int) -> None:
        self._text = text
        self._read = start
        self._closers: list[str] = []  # what closes each curly quotation open, innermost last
        self._straight = 0

    def open_at(self, position: int) -> bool:
        """A quotation opened since the sentence began and not yet closed at `position`."""
        for mark in _CURLY_QUOTE.finditer(self._text, self._read, position):
            self._curly(mark.group(), mark.end())
        self._straight += self._text.count('"', self._read, position)
        self._read = position
        return bool(self._closers) or self._straight % 2 == 1

    def _curly(self, mark: str, after: int) -> None:
        if self._closers and mark in self._closers[-1]:
            self._closers.pop()
        elif mark in _CLOSERS and (mark != "»" or not self._text[after : after + 1].isspace()):
            # A » with a space after it is an arrow or a breadcrumb ("Home » Nation"): the
            # mark that opens a quotation stands against its first word.
            self._closers.append(_CLOSERS[mark])

    def restart(self) -> None:
        """A new sentence begins: it has no quotation open yet."""
        self._closers.clear()
        self._straight = 0


def _ends_sentence(text: str, begin: int, stop: int, following: str | None) -> bool:
    """Whether the punctuation at `stop` ends the sentence begun at `begin`; `following`
    is the first character after it past spaces and opening quotes (None: no space)."""
    if text[stop] in _FULL_STOPS:
        return True  # Chinese and Japanese: no space follows, and there is no case
    if following is None or following.islower():
        return False  # 3.5, U.S.A, or '"We agree!" he said': it goes on in lower case
    if not following.isalnum():
        return False
    before = text[max(begin, stop - _LONGEST_WORD) : stop]
    return not (text[stop] == "." and _abbreviated(before, following))


def _abbreviated(before: str, following: str) -> bool:
    word = _LAST_WORD.search(before)
    if word is None:
        return False
    token = word.group(1).lstrip("\"'“‘«„»([").lower()
    # A single letter is an initial ("J. Smith"); letters with dots an initialism ("U.S.").
    if (len(token) == 1 and token.isalpha()) or ("." in token and token[-1].isalpha()):
        return True
    return token in _ABBREVIATIONS or (token in _BEFORE_NUMBERS and following.isdigit())


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    first = start + len(piece) - len(piece.lstrip())
    return first, first + len(stripped)
