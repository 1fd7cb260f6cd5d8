"""What `wirewatch match` shows: excerpts with the hits marked, and each condition's reason."""

from __future__ import annotations

from datetime import date

from worker.match.explain import Report, excerpts, render_text, report_json
from worker.match.matcher import Matcher
from worker.model import Article, Hit
from worker.rules.ruleset import Participant, ParticipantCondition, Rule, RuleSet

BODY = (
    "The ministers met in Astana on Tuesday. "
    + "Nothing else happened for a long while, as the delegations waited. " * 3
    + "Later Putin spoke of peace talks."
)
ARTICLE = Article("a1", "Putin in Astana", BODY, date(2024, 5, 1), "inbox/a.txt")
RULES = RuleSet(
    participants={"putin": Participant(name="Vladimir Putin", aliases=("Putin",))},
    rules=(
        Rule(
            id="talks",
            title="Peace talks",
            query='"peace talks" OR negotiat*',
            participants=ParticipantCondition(any=("putin",)),
        ),
        Rule(id="sco", query="(SCO OR BRICS) AND Astana", since=date(2024, 1, 1)),
    ),
)


def test_excerpts_mark_the_hits_and_stay_short() -> None:
    hits = (
        Hit("Putin", "title", 0, 5, "putin"),
        Hit("Astana", "body", 21, 27),
        Hit("Putin", "body", BODY.index("Putin"), BODY.index("Putin") + 5, "putin"),
        Hit('"peace talks"', "body", BODY.index("peace"), BODY.index("peace") + 11),
    )
    assert excerpts(ARTICLE, hits) == [
        "title: [Putin] in Astana",
        "The ministers met in [Astana] on Tuesday. Nothing else happened for a long while, "
        "as the …",
        "… for a long while, as the delegations waited. Later [Putin] spoke of [peace talks].",
    ]


def test_a_matching_rule_says_what_held() -> None:
    matcher = Matcher(RULES)
    report = Report("inbox/a.txt", ARTICLE, (matcher.explain(ARTICLE, "talks"),))
    ending = "… for a long while, as the delegations waited. Later [Putin] spoke of [peace talks]."
    assert render_text(report, RULES).splitlines() == [
        "inbox/a.txt",
        "  Putin in Astana (2024-05-01, article a1)",
        "  ✓ talks  Peace talks",
        '      ✓ "peace talks" OR negotiat* — found peace talks',
        "      ✓ participants.any: putin — found Putin",
        "      title: [Putin] in Astana",
        f"      {ending}",
    ]


def test_a_rule_that_fails_says_which_condition_failed() -> None:
    matcher = Matcher(RULES)
    report = Report("inbox/a.txt", ARTICLE, (matcher.explain(ARTICLE, "sco"),))
    assert render_text(report, RULES).splitlines()[2:] == [
        "  ✗ sco: does not match",
        "      ✓ since 2024-01-01 — the article is dated 2024-05-01",
        "      ✗ (SCO OR BRICS) — none found",
        "      ✓ Astana — found Astana",
    ]


def test_json_has_the_spec_shape() -> None:
    matcher = Matcher(RULES)
    explanations = tuple(matcher.explain(ARTICLE, rule) for rule in ("talks", "sco"))
    document = report_json(Report("inbox/a.txt", ARTICLE, explanations), RULES)
    assert document["path"] == "inbox/a.txt"
    assert document["article"] == {"id": "a1", "title": "Putin in Astana", "date": "2024-05-01"}
    (match,) = document["matches"]
    assert match["rule"] == "talks"
    assert match["hits"][0] == {
        "term": "Putin",
        "field": "title",
        "start": 0,
        "end": 5,
        "participant": "putin",
        "text": "Putin",
    }
    assert [clause["clause"] for clause in match["clauses"]] == [
        '"peace talks" OR negotiat*',
        "participants.any: putin",
    ]
    (failed,) = document["failed"]
    assert failed["rule"] == "sco"
    assert [(c["clause"], c["held"]) for c in failed["clauses"]] == [
        ("since 2024-01-01", True),
        ("(SCO OR BRICS)", False),
        ("Astana", True),
    ]


def test_site_author_and_language_say_what_the_article_gives() -> None:
    rule = Rule(id="courier", query="site:courier AND author:smith AND lang:en AND Putin")
    rules = RuleSet(participants={}, rules=(rule,))
    article = Article(
        "a1",
        "Putin in Astana",
        BODY,
        date(2024, 5, 1),
        "inbox/a.html",
        url="https://www.dailycourier.example/a",
        language="en",
        site="The Daily Courier",
    )
    report = Report("inbox/a.html", article, (Matcher(rules).explain(article, "courier"),))
    assert render_text(report, rules).splitlines()[2:7] == [
        "  ✗ courier: does not match",
        "      ✓ site:courier — found in The Daily Courier, www.dailycourier.example",
        "      ✗ author:smith — the article does not say",
        "      ✓ lang:en — found in en",
        "      ✓ Putin — found Putin",
    ]
    (failed,) = report_json(report, rules)["failed"]
    assert failed["clauses"][0] == {
        "clause": "site:courier",
        "held": True,
        "found": ["The Daily Courier", "www.dailycourier.example"],
        "clauses": [],
    }
