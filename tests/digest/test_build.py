"""Building and rendering a digest: pure functions over stored matches."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from worker.digest.build import Grouping, build_digest
from worker.digest.render import Renderer
from worker.match.people import people_finder
from worker.model import Article, Digest, Hit, StoredMatch
from worker.rules.ruleset import Keywords, Participant, ParticipantCondition, Rule, RuleSet

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
RULES = RuleSet(
    participants={"putin": Participant(name="Vladimir Putin", aliases=("Putin",))},
    rules=(
        Rule(id="energy", title="Energy", keywords=Keywords(any=("gas",))),
        Rule(
            id="leaders",
            title="Leaders",
            participants=ParticipantCondition(any=("putin",)),
            priority="high",
        ),
    ),
)


def stored(match_id: int, rule_id: str, body: str, day: int, hits: tuple[Hit, ...]) -> StoredMatch:
    article = Article(
        id=f"a{day}",
        title=f"<b>Article {day}</b>",
        body=body,
        date=date(2024, 5, day),
        path=f"/inbox/{day}.txt",
    )
    return StoredMatch(match_id, rule_id, article, hits, NOW)


BODY = "Talks began. Putin spoke about gas exports to China. Nothing else happened."
GAS = Hit("gas", "body", BODY.index("gas"), BODY.index("gas") + 3)
PUTIN = Hit("Putin", "body", BODY.index("Putin"), BODY.index("Putin") + 5, "putin")
MATCHES = [
    stored(1, "energy", BODY, 1, (GAS,)),
    stored(2, "energy", BODY, 3, (GAS,)),
    stored(3, "leaders", BODY, 1, (PUTIN,)),
]


def built(
    channel: str,
    matches: list[StoredMatch],
    rules: RuleSet,
    now: datetime,
    since: datetime | None,
    **options: Any,
) -> Digest:
    """The digest, with the participants each article names found as the daemon finds them;
    in a section per rule unless `grouping` says otherwise (the articles here share a text)."""
    options.setdefault("grouping", Grouping(by="rule"))
    return build_digest(channel, matches, rules, now, since, people=people_finder(rules), **options)


def digest_of(*args: Any, **options: Any) -> dict[str, Any]:
    """The digest's JSON document: what a webhook posts and templates read."""
    return built(*args, **options).document()


def test_high_priority_first_then_newest_article() -> None:
    digest = digest_of("local", MATCHES, RULES, NOW, None)
    assert [(i["rule"], i["article"]["date"]) for i in digest["items"]] == [
        ("leaders", "2024-05-01"),
        ("energy", "2024-05-03"),
        ("energy", "2024-05-01"),
    ]
    assert [r["id"] for r in digest["rules"]] == ["leaders", "energy"]


def test_counts_an_article_once_in_the_totals() -> None:
    counts = digest_of("local", MATCHES, RULES, NOW, None)["counts"]
    assert counts == {
        "articles": 2,
        "matches": 3,
        "rules": {"leaders": 1, "energy": 2},
        "participants": {"Vladimir Putin": 2},  # both articles name him
        "omitted": 0,
    }


def test_an_item_lists_everyone_its_article_names_whatever_its_rule_asked() -> None:
    digest = digest_of("local", MATCHES, RULES, NOW, None)
    energy = [item for item in digest["items"] if item["rule"] == "energy"]
    assert [item["participants"] for item in energy] == [["Vladimir Putin"]] * 2
    quiet = [replace(MATCHES[0], article=replace(MATCHES[0].article, body="Gas prices rose."))]
    (item,) = digest_of("local", quiet, RULES, NOW, None)["items"]
    assert item["participants"] == []


def test_digest_id_is_stable_for_the_same_matches() -> None:
    first = digest_of("local", MATCHES, RULES, NOW, None)
    later = digest_of("local", list(reversed(MATCHES)), RULES, NOW.replace(hour=9), None)
    other = digest_of("mail", MATCHES, RULES, NOW, None)
    assert first["digest_id"] == later["digest_id"]
    assert first["digest_id"] != other["digest_id"]


def test_digest_id_is_made_of_articles_and_rules_not_row_numbers() -> None:
    # A new state file numbers its matches from 1 again: other matches, other id.
    first = digest_of("local", MATCHES[:2], RULES, NOW, None)["digest_id"]
    renumbered = [replace(match, id=match.id + 100) for match in MATCHES[:2]]
    assert digest_of("local", renumbered, RULES, NOW, None)["digest_id"] == first
    same_rows = [replace(MATCHES[2], id=1), MATCHES[1]]  # another match with row number 1
    assert digest_of("local", same_rows, RULES, NOW, None)["digest_id"] != first


def test_items_carry_a_summary_with_its_highlights() -> None:
    digest = digest_of("local", MATCHES, RULES, NOW, None)
    leaders = digest["items"][0]
    assert leaders["summary"] == BODY
    (span,) = leaders["highlights"]
    assert leaders["summary"][span[0] : span[1]] == "Putin"


def test_rendered_html_escapes_article_text() -> None:
    rendered = Renderer().render(built("local", MATCHES, RULES, NOW, None))
    assert "&lt;b&gt;Article 3&lt;/b&gt;" in rendered.html
    assert "<b>Article 3</b>" not in rendered.html
    assert "<b>Article 3</b>" in rendered.text
    assert rendered.subject == "wirewatch: 2 articles matched: Leaders, Energy"
    assert "== Leaders [high priority] ==" in rendered.text


def test_max_items_lists_the_first_and_counts_the_rest() -> None:
    digest = digest_of("local", MATCHES, RULES, NOW, None, max_items=2)
    assert [(i["rule"], i["article"]["date"]) for i in digest["items"]] == [
        ("leaders", "2024-05-01"),
        ("energy", "2024-05-03"),
    ]
    assert digest["counts"]["omitted"] == 1
    assert digest["counts"]["rules"] == {"leaders": 1, "energy": 2}  # totals count all
    text = Renderer().render(Digest.from_document(digest)).text
    assert "… and 1 more in this section" in text
    assert "1 more not listed here: this channel lists at most 2." in text


def test_an_empty_digest_says_so() -> None:
    digest = digest_of("local", [], RULES, NOW, None)
    assert (digest["counts"]["articles"], digest["items"], digest["rules"]) == (0, [], [])
    rendered = Renderer().render(Digest.from_document(digest))
    assert rendered.subject == "wirewatch: no new matches on local"
    assert "Nothing new matched your rules in this period." in rendered.html
    later = digest_of("local", [], RULES, NOW.replace(hour=9), None)
    assert later["digest_id"] != digest["digest_id"]


def test_items_left_out_are_counted_with_their_participants() -> None:
    digest = digest_of("local", MATCHES, RULES, NOW, None, max_items=1)
    assert [i["rule"] for i in digest["items"]] == ["leaders"]
    counts = digest["counts"]
    assert (counts["articles"], counts["matches"], counts["omitted"]) == (2, 3, 2)
    assert counts["participants"] == {"Vladimir Putin": 2}  # named in the unlisted one too


def test_the_period_starts_at_the_oldest_match_left_from_before() -> None:
    earlier = NOW.replace(hour=6)
    left = [replace(MATCHES[0], matched_at=earlier), *MATCHES[1:]]
    period = digest_of("local", left, RULES, NOW, NOW.replace(hour=7))["period"]
    assert period == {"from": earlier.isoformat(), "to": NOW.isoformat()}
    period = digest_of("local", MATCHES, RULES, NOW, NOW.replace(hour=7))["period"]
    assert period["from"] == NOW.replace(hour=7).isoformat()
