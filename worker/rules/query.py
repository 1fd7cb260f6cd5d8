"""The analysts' boolean query language: a query parsed into a frozen tree, or where it is wrong.

    query   := or
    or      := and ("OR" and)*
    and     := unary ("AND"? unary)*          two terms side by side: implicit AND
    unary   := "NOT" unary | near
    near    := primary (("NEAR/n" | "ONEAR/n") primary)*
    primary := field? (word | word* | "phrase" | {Cased} | @participant | "(" or ")")
    field   := "title:" | "body:" | "site:" | "author:" | "lang:"

So NOT binds tightest of the boolean operators, then AND, then OR; NEAR binds its two
neighbours before any of them. `site:`, `author:` and `lang:` search what the article says
of itself, not its text: they take words, not @participants, and stand outside NEAR.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from worker.text.words import words_as_written

__all__ = [
    "DESCRIBING",
    "And",
    "Describing",
    "Distance",
    "Field",
    "Near",
    "Node",
    "Not",
    "Or",
    "ParticipantTerm",
    "Query",
    "QueryError",
    "Term",
    "keyword_term",
    "leaves",
    "parse_query",
]

Field = Literal["title", "body", "site", "author", "lang"]
# The fields that describe the article rather than hold its text.
Describing = Literal["site", "author", "lang"]
DESCRIBING: frozenset[str] = frozenset(("site", "author", "lang"))
_FIELDS: dict[str, Field] = {
    "title": "title",
    "body": "body",
    "site": "site",
    "author": "author",
    "lang": "lang",
}
Distance = int | Literal["sentence", "paragraph"]


@dataclass(frozen=True, slots=True)
class Term:
    """A word, a phrase or a prefix: words that must stand in the text side by side, in order."""

    words: tuple[str, ...]  # as written; matching folds them
    prefix: bool = False  # the last word is a prefix: sanction* finds sanctions
    case_sensitive: bool = False  # {US} tells the US from "us"
    field: Field | None = None
    text: str = dataclasses.field(default="", compare=False)  # as the user wrote it
    start: int = dataclasses.field(default=0, compare=False)  # where it stands in the query
    end: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ParticipantTerm:
    """`@id`: any alias of the participant."""

    participant: str
    field: Field | None = None
    start: int = dataclasses.field(default=0, compare=False)
    end: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    """NOT operand."""

    operand: Node
    start: int = dataclasses.field(default=0, compare=False)
    end: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    """Every operand holds."""

    operands: tuple[Node, ...]
    start: int = dataclasses.field(default=0, compare=False)
    end: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    """At least one operand holds."""

    operands: tuple[Node, ...]
    start: int = dataclasses.field(default=0, compare=False)
    end: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides found within `distance` words (or one sentence, one paragraph) of each other."""

    left: Node
    right: Node
    distance: Distance
    ordered: bool = False  # ONEAR: the left side comes first
    start: int = dataclasses.field(default=0, compare=False)
    end: int = dataclasses.field(default=0, compare=False)


Node = Term | ParticipantTerm | Not | And | Or | Near


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the text as written, and its tree.

    The tree is kept from the parse until the rule is compiled, which takes it: a daemon
    of 100,000 rules held some 60 MB of trees it would never read again. Asked for after
    that, the tree is parsed again from the text (and not kept)."""

    text: str
    _tree: Node | None = dataclasses.field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return self.text

    @property
    def node(self) -> Node:
        """The query's tree."""
        tree = self._tree
        return tree if tree is not None else _tree_of(self.text)

    def take_node(self) -> Node:
        """The query's tree, for compiling: the query lets go of it."""
        tree = self.node
        object.__setattr__(self, "_tree", None)
        return tree

    def participants(self) -> Iterator[ParticipantTerm]:
        """Every `@participant` the query names, in the order written."""
        yield from _participants(self.node)

    def source(self, node: Node) -> str:
        """The part of the query text that `node` was parsed from."""
        return self.text[node.start : node.end]


def _participants(node: Node) -> Iterator[ParticipantTerm]:
    return (leaf for leaf in leaves(node) if isinstance(leaf, ParticipantTerm))


def leaves(node: Node) -> Iterator[Node]:
    """The words, phrases and participants of a query, in the order they are written."""
    if isinstance(node, Not):
        yield from leaves(node.operand)
    elif isinstance(node, And | Or):
        for operand in node.operands:
            yield from leaves(operand)
    elif isinstance(node, Near):
        yield from leaves(node.left)
        yield from leaves(node.right)
    else:
        yield node


class QueryError(ValueError):
    """A query that cannot be parsed; `column` counts from 1 in the query text."""

    def __init__(self, column: int, message: str) -> None:
        self.column = column
        self.message = message
        super().__init__(f"column {column}: {message}")


def parse_query(text: str) -> Query:
    """Parse a query; QueryError names the column of the fault and what to do about it."""
    return Query(text, _tree_of(text))


def _tree_of(text: str) -> Node:
    tokens = _Lexer(text).tokens()
    if not tokens:
        raise QueryError(1, "the query is empty; write at least one word")
    return _Parser(tokens).parse()


def keyword_term(text: str) -> Term:
    """A keyword or alias: its words taken literally, a final `*` making the last a prefix."""
    prefix = text.rstrip().endswith("*")
    words = _words_of(text.rstrip().removesuffix("*") if prefix else text)
    if not words:
        raise ValueError(f"'{text}' has no letters or digits to match; remove it")
    return Term(words, prefix=prefix, text=text, end=len(text))


def _words_of(text: str) -> tuple[str, ...]:
    # Interned: the same words recur across thousands of rules, one copy of each is kept.
    return tuple(map(sys.intern, words_as_written(text)))


# --- lexer --------------------------------------------------------------------------

_TokenKind = Literal["(", ")", "AND", "OR", "NOT", "NEAR", "FIELD", "TERM", "PARTICIPANT"]


class _Token(NamedTuple):  # made in C: a rule set of 100,000 queries has a million
    kind: _TokenKind
    text: str
    start: int
    end: int
    node: Term | ParticipantTerm | None = None
    distance: Distance = 1
    ordered: bool = False


# The marks that open a phrase, each with the mark that usually closes it. Double quotes
# of any style close one another, as a query pasted from a document mixes them ("…”,
# „…“); the others close only with their own mark, so «a "b" c» is one phrase.
_QUOTES = {'"': '"', "“": "”", "”": "”", "„": "“", "«": "»", "‹": "›", "「": "」"}
_DOUBLE_QUOTES = '"“”„'
_ONLY_CLOSING = {"»": "«", "›": "‹", "」": "「"}  # and the mark each closes
_STOP = f"\\s(){{}}{''.join(_QUOTES)}{''.join(_ONLY_CLOSING)}"
_BARE = re.compile(f"[^{_STOP}]+")
# After any spaces, a parenthesis or a bare word, told apart in C; what else may start a
# token (a quote, a brace, an @) is left to `_token`. It always matches, if only spaces.
_NEXT = re.compile(f"\\s*(?:([()])|([^{_STOP}@][^{_STOP}]*))?")
_FIELD = re.compile(f"({'|'.join(_FIELDS)}):", re.IGNORECASE)
_OTHER_FIELD = re.compile(r"([A-Za-z]+):(?=\S)")
_NEAR = re.compile(r"(O?NEAR)(?:/(.*))?", re.IGNORECASE | re.DOTALL)
_OPERATORS: dict[str, _TokenKind] = {"AND": "AND", "OR": "OR", "NOT": "NOT"}


class _Lexer:
    """Splits a query into operators, parentheses, fields and terms."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def tokens(self) -> list[_Token]:
        found: list[_Token] = []
        text = self.text
        while True:
            following = _NEXT.match(text, self.at)
            assert following is not None  # it matches where there are only spaces left
            parenthesis, word = following.groups()
            if parenthesis is not None:
                self.at = following.start(1)
                found.append(self._take("(" if parenthesis == "(" else ")", 1))
            elif word is not None:
                self.at = following.start(2)
                found.append(self._bare(word))
            else:
                self.at = following.end()
                if self.at >= len(text):
                    return found
                found.append(self._token())

    def _token(self) -> _Token:
        char = self.text[self.at]
        if char in _QUOTES:
            return self._phrase(char)
        if char in _ONLY_CLOSING:
            raise QueryError(self.at + 1, f"this {char} closes no {_ONLY_CLOSING[char]}; remove it")
        if char == "{":
            return self._cased()
        if char == "}":
            raise QueryError(self.at + 1, "this } closes no {; remove it")
        return self._participant()  # what else starts a token: an @

    def _take(
        self,
        kind: _TokenKind,
        length: int,
        node: Term | ParticipantTerm | None = None,
        distance: Distance = 1,
        ordered: bool = False,
    ) -> _Token:
        start, self.at = self.at, self.at + length
        return _Token(kind, self.text[start : self.at], start, self.at, node, distance, ordered)

    def _phrase(self, opening: str) -> _Token:
        start = self.at
        closing = _DOUBLE_QUOTES if opening in _DOUBLE_QUOTES else _QUOTES[opening]
        close = _find_any(self.text, closing, start + 1)
        if close < 0:
            raise QueryError(start + 1, f"unclosed quote; end the phrase with {_QUOTES[opening]}")
        inner = self.text[start + 1 : close]
        if not inner.strip():
            raise QueryError(start + 1, "empty phrase; put words between the quotes or remove them")
        term = _term(inner, start + 1, self.text[start : close + 1], start)
        return self._take("TERM", close + 1 - start, node=term)

    def _cased(self) -> _Token:
        start = self.at
        close = self.text.find("}", start + 1)
        if close < 0:
            raise QueryError(start + 1, "unclosed {; end the case-sensitive term with }")
        inner = self.text[start + 1 : close]
        if not inner.strip():
            raise QueryError(start + 1, "empty {}; put the case-sensitive word between them")
        term = _term(inner, start + 1, self.text[start : close + 1], start)
        if term.prefix:
            raise QueryError(start + 1, "a {case-sensitive} term cannot end with *; remove the *")
        term = replace(term, case_sensitive=True)
        return self._take("TERM", close + 1 - start, node=term)

    def _participant(self) -> _Token:
        match = _BARE.match(self.text, self.at + 1)
        if match is None:
            raise QueryError(self.at + 1, "@ must be followed by a participant id, as in @putin")
        end = match.end()
        node = ParticipantTerm(self.text[self.at + 1 : end], start=self.at, end=end)
        return self._take("PARTICIPANT", end - self.at, node=node)

    def _bare(self, word: str) -> _Token:
        # Most words are only words: the patterns below are tried only where they may fit.
        fielded = ":" in word
        if fielded and _FIELD.match(word):
            return self._take("FIELD", len(word.split(":")[0]) + 1)
        operator = _OPERATORS.get(word)
        if operator is not None:
            return self._take(operator, len(word))
        near = _NEAR.fullmatch(word) if word[0] in "nNoO" else None
        if near is not None:
            return self._near(near)
        other = _OTHER_FIELD.match(word) if fielded else None
        if other is not None:
            raise QueryError(
                self.at + 1,
                f"unknown field '{other.group(1)}:'; the fields are title:, body:, site:, "
                "author: and lang: (put the words in quotes to search for them)",
            )
        return self._take("TERM", len(word), node=_term(word, self.at, word, self.at))

    def _near(self, near: re.Match[str]) -> _Token:
        operator = near.group(1).upper()
        written = near.group()
        value = near.group(2)
        if value is None and not near.group(1).isupper():
            return self._take("TERM", len(written), node=_term(written, self.at, written, self.at))
        if value is None:
            raise QueryError(
                self.at + 1,
                f"{operator} needs a distance: {operator}/5 (words), "
                f"{operator}/sentence or {operator}/paragraph",
            )
        distance = _distance(value)
        if distance is None:
            raise QueryError(
                self.at + 1,
                f"'{written}': write {operator}/5 (a number of words), "
                f"{operator}/sentence or {operator}/paragraph",
            )
        if distance == 0:
            raise QueryError(
                self.at + 1,
                f"{operator}/0: the distance must be 1 word or more, as in {operator}/3",
            )
        return self._take("NEAR", len(written), distance=distance, ordered=operator == "ONEAR")


def _distance(value: str) -> Distance | None:
    if value.isascii() and value.isdigit():
        return int(value)
    lowered = value.lower()
    if lowered == "sentence":
        return "sentence"
    if lowered == "paragraph":
        return "paragraph"
    return None


def _find_any(text: str, chars: str, start: int) -> int:
    positions = [p for p in (text.find(c, start) for c in chars) if p >= 0]
    return min(positions, default=-1)


def _term(inner: str, offset: int, written: str, start: int) -> Term:
    """The term written as `written` at `start`; its words are `inner`, from `offset`."""
    body = inner.rstrip()
    prefix = body.endswith("*")
    if prefix:
        body = body[:-1]
    star = body.find("*")
    if star >= 0 or (prefix and not body.strip()):
        column = offset + (star if star >= 0 else len(body)) + 1
        raise QueryError(column, "a * can only end a word, as in sanction*; remove this one")
    words = _words_of(body)
    if not words:
        raise QueryError(
            offset + 1, f"'{written}' has no letters or digits to search for; remove it"
        )
    # A hit names the term by its words: peace talks, not "peace talks"
    return Term(words, prefix=prefix, text=inner.strip(), start=start, end=start + len(written))


# --- parser -------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the tokens, by the grammar at the top of this module."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens: list[_Token | None] = [*tokens, None]  # None: the end of the query
        self.at = 0

    def parse(self) -> Node:
        node = self._or(None)
        extra = self._peek()
        if extra is not None:  # only a ) can stop the grammar early
            raise QueryError(
                extra.start + 1, "unbalanced parenthesis: this ) has no ( before it; remove it"
            )
        return node

    def _peek(self) -> _Token | None:
        return self.tokens[self.at]

    def _next(self) -> _Token | None:
        token = self.tokens[self.at]
        self.at += token is not None
        return token

    def _or(self, after: _Token | None) -> Node:
        operands = [self._and(after)]
        while (token := self.tokens[self.at]) is not None and token.kind == "OR":
            self.at += 1
            operands.append(self._and(token))
        return _joined(Or, operands)

    def _and(self, after: _Token | None) -> Node:
        operands = [self._unary(after)]
        while (token := self.tokens[self.at]) is not None and token.kind not in (")", "OR"):
            if token.kind == "AND":
                self.at += 1
                operands.append(self._unary(token))
            else:
                operands.append(self._unary(None))
        return _joined(And, operands)

    def _unary(self, after: _Token | None) -> Node:
        token = self.tokens[self.at]
        if token is None or token.kind != "NOT":
            return self._near(after)
        self.at += 1
        operand = self._unary(token)
        return Not(operand, start=token.start, end=operand.end)

    def _near(self, after: _Token | None) -> Node:
        left = self._primary(after)
        while (token := self.tokens[self.at]) is not None and token.kind == "NEAR":
            self.at += 1
            right = self._primary(token)
            for side in (left, right):
                _check_near_operand(side, token)
            left = Near(left, right, token.distance, token.ordered, start=left.start, end=right.end)
        return left

    def _primary(self, after: _Token | None) -> Node:
        token = self._next()
        if token is None:
            raise _missing_term(after)
        if token.node is not None:
            return token.node
        if token.kind == "FIELD":
            field_name = _FIELDS[token.text[:-1].lower()]
            return _in_field(self._primary(token), field_name, token)
        if token.kind == "(":
            return self._group(token)
        raise _misplaced(token, after)

    def _group(self, opening: _Token) -> Node:
        following = self._peek()
        if following is None:  # the query ends at the (
            raise QueryError(opening.start + 1, "unbalanced parenthesis; close it with )")
        if following.kind == ")":
            raise QueryError(
                opening.start + 1, "empty parentheses; put a term inside or remove them"
            )
        inner = self._or(None)
        closing = self._next()
        if closing is None:
            raise QueryError(opening.start + 1, "unbalanced parenthesis; close it with )")
        if isinstance(inner, And | Or | Near | Not):
            return replace(inner, start=opening.start, end=closing.end)
        return inner


def _joined(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    if len(operands) == 1:
        return operands[0]
    return kind(tuple(operands), start=operands[0].start, end=operands[-1].end)


def _missing_term(after: _Token | None) -> QueryError:
    if after is None:
        return QueryError(1, "the query is empty; write at least one word")
    return QueryError(after.start + 1, f"{after.text} needs a term after it")


def _misplaced(token: _Token, after: _Token | None) -> QueryError:
    """An operator or ) where a term should be."""
    if token.kind == ")" and after is None:
        return QueryError(
            token.start + 1, "unbalanced parenthesis: this ) has no ( before it; remove it"
        )
    if after is None:
        return QueryError(token.start + 1, f"{token.text} needs a term before it")
    if token.kind == ")":
        return QueryError(after.start + 1, f"{after.text} needs a term after it")
    if token.kind == "NOT" and after.kind == "NEAR":
        return QueryError(
            token.start + 1,
            f"NOT cannot stand inside {after.text}; to leave a word out, write … AND NOT word",
        )
    return QueryError(
        token.start + 1, f"{after.text} is followed by {token.text}; put a term between them"
    )


def _check_near_operand(node: Node, operator: _Token) -> None:
    if isinstance(node, Term | ParticipantTerm) and node.field in DESCRIBING:
        raise _describing_near(node.field, node.start, operator.text)
    if isinstance(node, Term | ParticipantTerm | Near):
        return
    if isinstance(node, Or):
        for operand in node.operands:
            _check_near_operand(operand, operator)
        return
    raise QueryError(
        node.start + 1,
        f"{operator.text} joins words, phrases, @participants and (… OR …) groups, "
        "not AND or NOT; move them outside",
    )


def _in_field(node: Node, name: Field, token: _Token) -> Node:
    """`node` restricted to one field of the article, its text starting at the field name."""
    return replace(_restricted(node, name), start=token.start)


def _restricted(node: Node, name: Field) -> Node:
    if isinstance(node, ParticipantTerm) and name in DESCRIBING:
        raise QueryError(
            node.start + 1,
            f"{name}: takes words, not @{node.participant}; write the name itself, "
            f'as in {name}:"…"',
        )
    if isinstance(node, Term | ParticipantTerm):
        if node.field not in (None, name):
            raise QueryError(
                node.start + 1, f"{node.field}: inside {name}: can never match; keep one"
            )
        return replace(node, field=name)
    if isinstance(node, Not):
        return replace(node, operand=_restricted(node.operand, name))
    if isinstance(node, And | Or):
        return replace(node, operands=tuple(_restricted(op, name) for op in node.operands))
    if name in DESCRIBING:
        raise _describing_near(name, node.start, "NEAR")
    return replace(node, left=_restricted(node.left, name), right=_restricted(node.right, name))


def _describing_near(name: str, start: int, operator: str) -> QueryError:
    return QueryError(
        start + 1,
        f"{name}: cannot stand inside {operator}: it searches what the article says of "
        f"itself, not its text; join it with AND",
    )
