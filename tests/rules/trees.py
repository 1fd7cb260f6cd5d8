"""Random query trees (hypothesis strategies), and the query text that says each."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from worker.rules.query import And, Near, Node, Not, Or, ParticipantTerm, Term

__all__ = ["trees", "written"]


def trees(
    words: Sequence[str], participants: Sequence[str], depth: int = 3
) -> st.SearchStrategy[Node]:
    """Trees of every form of the language over these words and participant ids."""
    leaf = _terms(words, participants)
    # What the article says of itself stands anywhere but inside NEAR.
    whole = st.one_of(leaf, _described(words))
    if depth == 0:
        return whole
    inner = trees(words, participants, depth - 1)
    near_side = st.one_of(leaf, _joined(Or, leaf))
    return st.one_of(
        whole,
        st.builds(Not, inner),
        _joined(And, inner),
        _joined(Or, inner),
        st.builds(
            Near,
            st.one_of(near_side, st.builds(Near, leaf, leaf, st.sampled_from([1, 2]))),
            near_side,
            st.sampled_from([1, 2, 3, "sentence", "paragraph"]),
            st.booleans(),
        ),
    )


def _joined(
    kind: type[And] | type[Or], operand: st.SearchStrategy[Node]
) -> st.SearchStrategy[Node]:
    return st.builds(lambda ops: kind(tuple(ops)), st.lists(operand, min_size=2, max_size=3))


def _terms(words: Sequence[str], participants: Sequence[str]) -> st.SearchStrategy[Node]:
    field = st.sampled_from([None, None, None, "title", "body"])
    word = st.sampled_from(list(words))
    plain = st.builds(lambda w, f: Term((w,), field=f), word, field)
    phrase = st.builds(lambda w, v, f: Term((w, v), field=f), word, word, field)
    prefix = st.builds(lambda w, f: Term((w[:2],), prefix=True, field=f), word, field)
    cased = st.builds(lambda w, f: Term((w.title(),), case_sensitive=True, field=f), word, field)
    mention = st.builds(ParticipantTerm, st.sampled_from(list(participants)), field)
    return st.one_of(plain, phrase, prefix, cased, mention)


def _described(words: Sequence[str]) -> st.SearchStrategy[Node]:
    """`site:`, `author:` and `lang:` terms: a word, a phrase, a prefix, a cased word."""
    field = st.sampled_from(["site", "author", "lang"])
    word = st.sampled_from(list(words))
    plain = st.builds(lambda w, f: Term((w,), field=f), word, field)
    phrase = st.builds(lambda w, v, f: Term((w, v), field=f), word, word, field)
    prefix = st.builds(lambda w, f: Term((w[:2],), prefix=True, field=f), word, field)
    cased = st.builds(lambda w, f: Term((w.title(),), case_sensitive=True, field=f), word, field)
    return st.one_of(plain, phrase, prefix, cased)


def written(node: Node) -> str:
    """The query text of a tree, every compound in parentheses."""
    if isinstance(node, ParticipantTerm):
        return _field(node.field) + f"@{node.participant}"
    if isinstance(node, Term):
        text = " ".join(node.words) + ("*" if node.prefix else "")
        if node.case_sensitive:
            text = "{" + text + "}"
        elif len(node.words) > 1:
            text = f'"{text}"'
        return _field(node.field) + text
    if isinstance(node, Not):
        return f"NOT {written(node.operand)}"
    if isinstance(node, And | Or):
        operator = " AND " if isinstance(node, And) else " OR "
        return "(" + operator.join(written(op) for op in node.operands) + ")"
    near = f"{'ONEAR' if node.ordered else 'NEAR'}/{node.distance}"
    return f"({written(node.left)} {near} {written(node.right)})"


def _field(name: str | None) -> str:
    return f"{name}:" if name else ""
