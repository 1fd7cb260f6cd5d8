from datetime import date

import pytest

from worker.articles import Article
from worker.match import Matcher
from worker.rules import Keywords, Participant, ParticipantCondition, Rule, RuleSet

PARTICIPANTS = {
    "xi": Participant(name="Xi Jinping", aliases=("Xi Jinping", "President Xi Jinping", "Xi")),
    "putin": Participant(name="Vladimir Putin", aliases=("Vladimir Putin", "Putin", "Путин")),
    "lavrov": Participant(name="Sergey Lavrov", aliases=("Sergey Lavrov", "Lavrov")),
    "xi-cn": Participant(name="习近平", aliases=("习近平",)),
}


def article(body: str, title: str = "A headline", day: date = date(2024, 5, 1)) -> Article:
    return Article(id="a1", title=title, body=body, date=day, path="inbox/a.txt")


def matched(rule: Rule, text: str, day: date = date(2024, 5, 1)) -> bool:
    rules = RuleSet(participants=PARTICIPANTS, rules=(rule,))
    return bool(Matcher(rules).match(article(text, day=day)))


def keywords(**block: tuple[str, ...]) -> Rule:
    return Rule(id="r", keywords=Keywords(**block))


def participants(**block: object) -> Rule:
    return Rule(id="r", participants=ParticipantCondition(**block))


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        (keywords(any=("summit",)), "The summit opened.", True),
        (keywords(any=("summit",)), "The summits opened.", False),  # whole words only
        (keywords(any=("summit", "talks")), "Talks went on.", True),
        (keywords(all=("gas", "pipeline")), "A gas deal.", False),
        (keywords(all=("gas", "pipeline")), "A gas pipeline.", True),
        (keywords(any=("talks",), none=("football",)), "Talks on football.", False),
        (keywords(any=("video call",)), "They held a video call.", True),
        (keywords(any=("video call",)), "A call by video.", False),
        (keywords(any=("Lavrov",)), "Lavróv spoke.", True),  # accents folded
        (keywords(any=("China",)), "China-Russia ties", True),  # hyphenated compounds
        (participants(any=("putin",)), "Putin's remarks", True),  # possessive
        (participants(any=("putin",)), "Putin’s remarks", True),  # curly apostrophe
        (participants(all=("xi", "putin")), "Xi met Putin.", True),
        (participants(all=("xi", "putin")), "Xi met Lavrov.", False),
        (participants(any=("xi",), none=("lavrov",)), "Xi met Lavrov.", False),
        (participants(min=2), "Xi met Lavrov.", True),
        (participants(min=2), "Xi spoke.", False),
        (participants(any=("xi-cn",)), "习近平会见普京", True),  # no word boundaries
        (participants(any=("putin",)), "Президент Путин заявил", True),
    ],
)
def test_rule_conditions(rule: Rule, text: str, expected: bool) -> None:
    assert matched(rule, text) is expected


def test_all_blocks_must_hold() -> None:
    rule = Rule(
        id="r",
        participants=ParticipantCondition(all=("xi", "putin")),
        keywords=Keywords(any=("summit",)),
    )
    assert matched(rule, "Xi and Putin at the summit.")
    assert not matched(rule, "Xi and Putin spoke.")


def test_date_window() -> None:
    rule = Rule(id="r", keywords=Keywords(any=("summit",)), since=date(2023, 1, 1))
    assert not matched(rule, "The summit.", day=date(2022, 12, 31))
    assert matched(rule, "The summit.", day=date(2023, 1, 1))


def test_hits_say_which_term_where() -> None:
    rule = Rule(id="contacts", participants=ParticipantCondition(all=("xi", "putin")))
    text = "President Xi Jinping met Vladimir Putin. Later Putin left."
    (match,) = Matcher(RuleSet(participants=PARTICIPANTS, rules=(rule,))).match(article(text))
    assert match.rule_id == "contacts"
    assert [(h.participant, text[h.start : h.end]) for h in match.hits] == [
        ("xi", "President Xi Jinping"),  # the longest alias is one mention, not three
        ("putin", "Vladimir Putin"),
        ("putin", "Putin"),
    ]
    assert {h.field for h in match.hits} == {"body"}
    assert match.participants == ("xi", "putin")


def test_keyword_in_title_is_a_title_hit() -> None:
    rule = Rule(id="r", keywords=Keywords(any=("summit",)))
    rules = RuleSet(participants=PARTICIPANTS, rules=(rule,))
    (match,) = Matcher(rules).match(article("Nothing here.", title="Summit in Astana"))
    assert [(h.field, h.term, h.start, h.end) for h in match.hits] == [("title", "summit", 0, 6)]


def test_several_rules_match_in_rule_set_order() -> None:
    first = Rule(id="first", keywords=Keywords(any=("gas",)))
    second = Rule(id="second", keywords=Keywords(any=("oil",)))
    third = Rule(id="third", keywords=Keywords(any=("coal",)))
    matcher = Matcher(RuleSet(participants=PARTICIPANTS, rules=(first, second, third)))
    assert [m.rule_id for m in matcher.match(article("Oil and gas."))] == ["first", "second"]
