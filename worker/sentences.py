"""Where the sentences of a text begin and end.

A sentence ends at `.`, `!`, `?` or `…` (and any closing quotes) before a space and a
capital, a digit or an opening quote; at `。`, `！` or `？`; or at a blank line. It does not
end after an abbreviation ("Mr.", "U.S.", "Feb. 2"), nor inside a quotation that goes on.
"""

from __future__ import annotations

import re

__all__ = ["first_sentence", "sentence_spans"]

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+[”’」』）]*")
_NEXT = re.compile(r"\s+[\"'“‘«(\[]*(\S)")
_LAST_WORD = re.compile(r"(\S+)$")
_FULL_STOPS = "。！？"
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
# Single curly quotes are left out: ’ is far more often an apostrophe (Putin’s).
_OPENING, _CLOSING = "“«", "”»"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each sentence of `text`, in order, without surrounding space."""
    spans: list[tuple[int, int]] = []
    start = 0
    for paragraph in _PARAGRAPH.finditer(text):
        spans += _paragraph_spans(text, start, paragraph.start())
        start = paragraph.end()
    spans += _paragraph_spans(text, start, len(text))
    return spans


def first_sentence(text: str) -> str:
    """The first sentence of `text` (all of it when it has one sentence)."""
    spans = sentence_spans(text)
    return text[spans[0][0] : spans[0][1]] if spans else ""


def _paragraph_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    begin = start
    for found in _END.finditer(text, start, end):
        if _ends_sentence(text, begin, found.start(), found.end(), end):
            spans.append((begin, found.end()))
            begin = found.end()
    spans.append((begin, end))
    return [trimmed for span in spans if (trimmed := _trim(text, *span))]


def _ends_sentence(text: str, begin: int, stop: int, after: int, end: int) -> bool:
    """Whether the punctuation at text[stop:after] ends the sentence begun at `begin`."""
    if text[stop] in _FULL_STOPS:
        return True  # Chinese and Japanese: no space follows, and there is no case
    following = _NEXT.match(text, after, end)
    if following is None or following.group(1).islower():
        return False  # '"We agree!" he said': the sentence goes on in lower case
    if not following.group(1).isalnum():
        return False
    if text[stop] == "." and _abbreviated(text[begin:stop], following.group(1)):
        return False
    return not _inside_quotation(text[begin:after])


def _abbreviated(before: str, following: str) -> bool:
    word = _LAST_WORD.search(before)
    if word is None:
        return False
    token = word.group(1).lstrip("\"'“‘«([").lower()
    # A single letter is an initial ("J. Smith"); letters with dots an initialism ("U.S.").
    if (len(token) == 1 and token.isalpha()) or ("." in token and token[-1].isalpha()):
        return True
    return token in _ABBREVIATIONS or (token in _BEFORE_NUMBERS and following.isdigit())


def _inside_quotation(sentence: str) -> bool:
    """A quotation still open at the end of `sentence` (curly quotes, or an odd number of ")."""
    curly = sum(sentence.count(q) for q in _OPENING) - sum(sentence.count(q) for q in _CLOSING)
    return curly > 0 or sentence.count('"') % 2 == 1


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
