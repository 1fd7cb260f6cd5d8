"""What `wirewatch match` shows: for each article, the rules it matches and why, in the
user's terms: which condition held, what was found, and where, with short excerpts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from worker.match.conditions import Clause
from worker.match.matcher import Explanation
from worker.model import Article, Hit
from worker.rules.ruleset import RuleSet

__all__ = ["Report", "excerpts", "render_text", "report_json"]

_CONTEXT = 60  # characters shown on each side of a hit
_EXCERPTS = 3
_FOUND_SHOWN = 5
_LABEL = 72  # characters of a condition shown


@dataclass(frozen=True)
class Report:
    """One article of a file, and the explanation of each rule shown for it."""

    path: str
    article: Article
    explanations: tuple[Explanation, ...]


def report_json(report: Report, rules: RuleSet) -> dict[str, Any]:
    """The `match --json` entry of one article (the shape is in docs/rules.md)."""
    article = report.article
    return {
        "path": report.path,
        "article": {"id": article.id, "title": article.title, "date": article.date.isoformat()},
        "matches": [
            {
                "rule": e.rule_id,
                "title": rules.rule(e.rule_id).title,
                "hits": [_hit_json(hit, article) for hit in e.hits],
                "clauses": [_clause_json(clause) for clause in e.clauses],
            }
            for e in report.explanations
            if e.matched
        ],
        "failed": [
            {
                "rule": e.rule_id,
                "title": rules.rule(e.rule_id).title,
                "clauses": [_clause_json(clause) for clause in e.clauses],
            }
            for e in report.explanations
            if not e.matched
        ],
    }


def _hit_json(hit: Hit, article: Article) -> dict[str, Any]:
    return {
        "term": hit.term,
        "field": hit.field,
        "start": hit.start,
        "end": hit.end,
        "participant": hit.participant,
        "text": _field(article, hit.field)[hit.start : hit.end],
    }


def _clause_json(clause: Clause) -> dict[str, Any]:
    return {
        "clause": clause.label,
        "held": clause.held,
        "found": list(clause.found),
        "clauses": [_clause_json(part) for part in clause.clauses],
    }


def render_text(report: Report, rules: RuleSet) -> str:
    """The plain-text report of one article."""
    article = report.article
    lines = [report.path, f"  {article.title} ({article.date}, article {article.id})"]
    for explanation in report.explanations:
        lines.extend(_rule_lines(explanation, article, rules))
    if not report.explanations:
        lines.append("  no rule matches")
    return "\n".join(lines)


def _rule_lines(explanation: Explanation, article: Article, rules: RuleSet) -> Iterator[str]:
    rule = rules.rule(explanation.rule_id)
    title = f"  {rule.title}" if rule.title != rule.id else ""
    if explanation.matched:
        yield f"  ✓ {rule.id}{title}"
    else:
        yield f"  ✗ {rule.id}{title}: does not match"
    for clause in explanation.clauses:
        yield from _clause_lines(clause, depth=3, failing=not explanation.matched)
    for excerpt in excerpts(article, explanation.hits):
        yield f"      {excerpt}"


def _clause_lines(clause: Clause, depth: int, failing: bool) -> Iterator[str]:
    mark = "✓" if clause.held else "✗"
    yield f"{'  ' * depth}{mark} {_shortened(clause.label)} — {_why(clause)}"
    if not failing or clause.held:
        return
    # Below a condition that failed: both sides of a NEAR, and the parts that failed
    # for a reason of their own.
    for part in clause.clauses:
        if clause.kind == "near" or (part.clauses and not part.held):
            yield from _clause_lines(part, depth + 2, failing)


def _shortened(label: str) -> str:
    return label if len(label) <= _LABEL else label[: _LABEL - 1].rstrip() + "…"


def _why(clause: Clause) -> str:
    """What was found for a condition, or why it failed, in a few words."""
    found = _listed(clause.found)
    if clause.kind == "date":
        return f"the article is dated {found}"
    if clause.kind == "described":
        if not clause.found:
            return "the article does not say"
        return f"{'found in' if clause.held else 'not in'} {found}"
    if clause.kind == "not":
        return f"found {found}" if clause.found else "none found"
    if clause.held:
        return f"found {found}" if clause.found else "holds"
    if clause.kind == "near" and all(part.held for part in clause.clauses):
        return "each side found, but not together"
    if clause.kind == "min":
        present = [part for part in clause.clauses if part.held]
        return f"{len(present)} found" + (
            f": {', '.join(p.label for p in present)}" if present else ""
        )
    if clause.kind == "all":
        return "missing " + ", ".join(part.label for part in clause.clauses if not part.held)
    return "none found" if clause.kind == "any" else "not found"


def _listed(found: Sequence[str]) -> str:
    shown = ", ".join(found[:_FOUND_SHOWN])
    return shown + (f" and {len(found) - _FOUND_SHOWN} more" if len(found) > _FOUND_SHOWN else "")


def excerpts(article: Article, hits: Sequence[Hit], limit: int = _EXCERPTS) -> list[str]:
    """Up to `limit` short passages around the hits, each hit in [brackets]."""
    shown: list[str] = []
    covered: dict[str, int] = {}  # per field, the end of the last passage shown
    for hit in hits:
        if len(shown) == limit:
            break
        if hit.start < covered.get(hit.field, -1):
            continue  # already inside a passage shown
        text = _field(article, hit.field)
        start, end = _window(text, hit.start, hit.end, floor=covered.get(hit.field, 0))
        inside = [h for h in hits if h.field == hit.field and start <= h.start and h.end <= end]
        passage = _highlighted(text, start, end, inside)
        shown.append(f"title: {passage}" if hit.field == "title" else passage)
        covered[hit.field] = end
    return shown


def _window(text: str, start: int, end: int, floor: int) -> tuple[int, int]:
    """About _CONTEXT characters either side, cut at spaces, from `floor` on."""
    low = max(floor, start - _CONTEXT)
    high = min(len(text), end + _CONTEXT)
    if low > 0:
        space = text.find(" ", low, start)
        low = space + 1 if space >= 0 else low
    if high < len(text):
        space = text.rfind(" ", end, high)
        high = space if space >= 0 else high
    return low, high


def _highlighted(text: str, start: int, end: int, hits: Sequence[Hit]) -> str:
    pieces: list[str] = []
    at = start
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.start < at:
            continue  # overlaps one already marked
        pieces += [text[at : hit.start], "[", text[hit.start : hit.end], "]"]
        at = hit.end
    pieces.append(text[at:end])
    passage = " ".join("".join(pieces).split())
    return ("… " if start > 0 else "") + passage + (" …" if end < len(text) else "")


def _field(article: Article, field: str) -> str:
    return article.title if field == "title" else article.body
