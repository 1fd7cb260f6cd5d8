"""Matching: every form of the query language and every rule block, on texts a reader knows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rules.trees import trees
from tests.rules.trees import written as written_text
from worker.match.conditions import Clause
from worker.match.matcher import Matcher
from worker.model import Article
from worker.rules.query import (
    DESCRIBING,
    And,
    Distance,
    Near,
    Node,
    Not,
    Or,
    ParticipantTerm,
    Term,
    parse_query,
)
from worker.rules.ruleset import Keywords, Participant, ParticipantCondition, Rule, RuleSet

PARTICIPANTS = {
    "xi": Participant(name="Xi Jinping", aliases=("Xi Jinping", "President Xi Jinping", "Xi")),
    "putin": Participant(name="Vladimir Putin", aliases=("Vladimir Putin", "Putin", "Путин")),
    "lavrov": Participant(name="Sergey Lavrov", aliases=("Sergey Lavrov", "Lavrov")),
    "xi-cn": Participant(name="习近平", aliases=("习近平",)),
}


def article(body: str, title: str = "A headline", day: date = date(2024, 5, 1)) -> Article:
    return Article(id="a1", title=title, body=body, date=day, path="inbox/a.txt")


def matched(rule: Rule, text: str, title: str = "A headline", day: date = date(2024, 5, 1)) -> bool:
    rules = RuleSet(participants=PARTICIPANTS, rules=(rule,))
    return bool(Matcher(rules).match(article(text, title, day)))


def query(text: str) -> Rule:
    return Rule(id="r", query=text)


def keywords(**block: tuple[str, ...]) -> Rule:
    return Rule(id="r", keywords=Keywords(**block))


def participants(**block: object) -> Rule:
    return Rule(id="r", participants=ParticipantCondition(**block))


@pytest.mark.parametrize(
    ("text", "body", "expected"),
    [
        # words and phrases
        ("summit", "The Summit opened.", True),
        ("summit", "The summits opened.", False),  # whole words only
        ('"video call"', "They held a video call.", True),
        ('"video call"', "A call by video.", False),
        ('"peace talks"', "They want peace. Talks begin.", False),  # not across sentences
        ("«мирные переговоры»", "Начались мирные переговоры.", True),  # guillemets
        ("«мирные переговоры»", "Переговоры не мирные.", False),
        # prefixes
        ("sanction*", "New sanctions were announced.", True),
        ("sanction*", "It was sanctioned.", True),
        ("sanction*", "Its sanctity.", False),
        ('"nuclear energ*"', "Nuclear energy talks.", True),
        # case-sensitive
        ("{US}", "The US imposed duties.", True),
        ("{US}", "Let us talk.", False),
        ("US", "Let us talk.", True),
        # implicit AND, AND, OR, NOT and their precedence
        ("gas pipeline", "A gas deal.", False),
        ("gas pipeline", "A pipeline for gas.", True),
        ("gas AND pipeline", "A pipeline for gas.", True),
        ("oil OR gas", "Gas prices.", True),
        ("NOT football", "Talks on trade.", True),  # holds with none of its words present
        ("talks NOT football", "Talks on football.", False),
        ("talks AND NOT football", "Talks on trade.", True),
        ("oil OR gas pipeline", "Oil prices.", True),  # oil OR (gas AND pipeline)
        ("oil OR gas pipeline", "Gas prices.", False),
        ("(oil OR gas) pipeline", "Oil prices.", False),
        ("NOT oil OR gas", "Gas and oil.", True),  # (NOT oil) OR gas
        ("NOT oil gas", "Gas and oil.", False),  # (NOT oil) AND gas
        # NEAR: within n words, either order; ONEAR: in order
        ("China NEAR/1 Russia", "China and Russia.", False),
        ("China NEAR/2 Russia", "China and Russia.", True),
        ("China NEAR/2 Russia", "Russia and China.", True),
        ("China NEAR/1 Russia", "China-Russia ties.", True),
        ("China ONEAR/2 Russia", "Russia and China.", False),
        ("China ONEAR/2 Russia", "China and Russia.", True),
        ("China NEAR/3 Russia", "China, as all know, and Russia.", False),
        ("China NEAR/5 Russia", "China, as all know, and Russia.", True),
        ('"peace talks" NEAR/3 Ukraine', "Peace talks on Ukraine.", True),
        ('"peace talks" NEAR/3 Ukraine', "Peace talks on the war in Ukraine.", False),
        ("(China OR Beijing) NEAR/2 (Russia OR Moscow)", "Beijing and Moscow.", True),
        ("@xi NEAR/3 @putin", "President Xi Jinping met Putin.", True),
        ("@xi NEAR/3 @putin", "Xi met them all, and later Putin.", False),
        ("Russia NEAR/5 Russia", "Russia said.", False),  # two places, not one twice
        ("Russia NEAR/5 Russia", "Russia and Russia.", True),
        # NEAR/sentence and NEAR/paragraph
        ("@xi NEAR/sentence @putin", "Xi spoke with Putin for an hour and more.", True),
        ("@xi NEAR/sentence @putin", "Xi spoke. Putin listened.", False),
        ("@xi NEAR/paragraph @putin", "Xi spoke. Putin listened.", True),
        ("@xi NEAR/paragraph @putin", "Xi spoke.\n\nPutin listened.", False),
        ("Xi ONEAR/sentence Putin", "Putin listened to Xi.", False),
        # fields
        ("title:summit", "The summit opened.", False),
        ("body:summit", "The summit opened.", True),
        ("title:headline", "Nothing.", True),
        ("title:@putin OR body:Lavrov", "Lavrov spoke.", True),
        # participants
        ("@putin", "Президент Путин заявил.", True),
        ("@putin", "Встреча с Путиным прошла.", True),  # an inflected form of an alias
        ("@xi-cn", "习近平会见普京", True),
        ("@lavrov AND NOT @putin", "Lavrov spoke.", True),
        ("@lavrov AND NOT @putin", "Lavrov and Putin spoke.", False),
    ],
)
def test_every_query_form(text: str, body: str, expected: bool) -> None:
    assert matched(query(text), body) is expected


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        ("Lavrov", "Lavróv spoke.", True),  # accents folded
        ("Lavróv", "LAVROV spoke.", True),
        ("China", "China-Russia ties", True),  # hyphenated compounds
        ('"China Russia"', "China–Russia ties", True),  # an en dash
        ("Putin", "Putin's remarks", True),  # possessives
        ("Putin", "Putin’s remarks", True),  # a curly apostrophe
        ('"Putin remarks"', "Putin’s remarks", True),  # a possessive is part of its word
        ("Xi", "The Xi'an summit drew Putin to talks.", False),  # Xi'an, the city, is a word
        ("Xi", "The Xi’an summit", False),
        ("Xi'an", "The Xi’an summit", True),
        ("O'Brien", "O'Brien said", True),  # an apostrophe in the rule as in the text
        ("O'Brien", "O’Brien said", True),
        ("O’Brien", "O'Brien said", True),
        ("{O'Brien}", "O’Brien said", True),
        ("Brien", "O'Brien said", False),
        ("Ukraine", "la guerre d'Ukraine", True),  # French and Italian elisions
        ("Ukraine", "l’Ukraine", True),
        ("Ucraina", "dell'Ucraina", True),
        ('"guerre Ukraine"', "la guerre d'Ukraine", True),
        ("{Ukraine}", "L'Ukraine", True),
        ('"peace talks"', "“Peace talks”, they said", True),  # curly quotes
        ("BRICS", "ＢＲＩＣＳ summit", True),  # full-width letters (NFKC)
        ("straße", "STRASSE", True),  # case folding, not only lower case
        ("习近平", "习近平会见普京", True),  # Chinese without word boundaries
        ("会见", "习近平会见普京", True),
        ("はい", "そうですね、はい。", True),  # Japanese kana
        ("Путин", "ПУТИН и Путина", True),
        ("Путин", "Путину позвонили", True),  # Russian forms: Путина, Путину, Путиным
        ("Путин", "с Путиным", True),
        ("Путин", "путинизм", False),
        ("Лавров", "лавры победителя", False),
        ("Ван", "ванна", False),  # short words are matched as written
        ("переговоры", "на переговорах", True),
        ("Ёлка", "елка", True),
    ],
)
def test_text_handling(term: str, text: str, expected: bool) -> None:
    assert matched(query(term), text) is expected


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        (keywords(any=("summit",)), "The summit opened.", True),
        (keywords(any=("summit",)), "The summits opened.", False),
        (keywords(any=("summit", "talks")), "Talks went on.", True),
        (keywords(all=("gas", "pipeline")), "A gas deal.", False),
        (keywords(all=("gas", "pipeline")), "A gas pipeline.", True),
        (keywords(any=("talks",), none=("football",)), "Talks on football.", False),
        (keywords(none=("football",)), "Talks on trade.", True),
        (keywords(any=("negotiat*",)), "Negotiations resumed.", True),
        (keywords(any=("video call",)), "They held a video call.", True),
        (participants(any=("putin",)), "Putin's remarks", True),
        (participants(all=("xi", "putin")), "The Xi'an summit drew Putin to talks.", False),
        (participants(all=("xi", "putin")), "Xi's summit drew Putin’s envoy.", True),
        (participants(all=("xi", "putin")), "Xi met Putin.", True),
        (participants(all=("xi", "putin")), "Xi met Lavrov.", False),
        (participants(any=("xi",), none=("lavrov",)), "Xi met Lavrov.", False),
        (participants(none=("lavrov",)), "Xi spoke.", True),
        (participants(min=2), "Xi met Lavrov.", True),
        (participants(min=2), "Xi spoke.", False),
        (participants(any=("xi", "putin", "lavrov"), min=2), "Xi met Putin.", True),
        (participants(any=("xi", "putin", "lavrov"), min=2), "Xi met nobody.", False),
        (participants(any=("xi-cn",)), "习近平会见普京", True),
        (participants(any=("putin",)), "Президент Путин заявил", True),
    ],
)
def test_rule_blocks(rule: Rule, text: str, expected: bool) -> None:
    assert matched(rule, text) is expected


def test_all_blocks_must_hold() -> None:
    rule = Rule(
        id="r",
        query="summit OR talks",
        participants=ParticipantCondition(all=("xi", "putin")),
        keywords=Keywords(none=("football",)),
    )
    assert matched(rule, "Xi and Putin at the summit.")
    assert not matched(rule, "Xi and Putin spoke.")
    assert not matched(rule, "Xi and Putin at the summit on football.")
    assert not matched(rule, "Xi at the summit.")


DESCRIBED = Article(
    id="a1",
    title="Lavrov in Beijing",
    body="Lavrov arrived on Thursday.",
    date=date(2024, 5, 16),
    url="https://www.dailycourier.example/world/lavrov",
    author="Anna Kovács",
    language="en",
    site="The Daily Courier",
)


@pytest.mark.parametrize(
    ("text", "article", "expected"),
    [
        ("site:courier", DESCRIBED, True),
        ('site:"daily courier" AND Lavrov', DESCRIBED, True),
        ("site:dailycourier.example", DESCRIBED, True),  # the web address's host
        ("site:reuters", DESCRIBED, False),
        ("site:wire", replace(DESCRIBED, site=None, source="Global Wire"), True),
        ("site:courier", replace(DESCRIBED, site=None, url=None), False),
        ("site:Lavrov", DESCRIBED, False),  # a word of the text is not the site
        ('author:"anna kovacs"', DESCRIBED, True),  # any case, any accents
        ("author:kov*", DESCRIBED, True),
        ("author:{anna}", DESCRIBED, False),
        ("author:smith", DESCRIBED, False),
        ("author:anna", replace(DESCRIBED, author=None), False),
        ("lang:en", DESCRIBED, True),
        ("lang:EN", DESCRIBED, True),
        ("lang:(ru OR de)", DESCRIBED, False),
        ("Lavrov AND NOT lang:ru", DESCRIBED, True),
        ("NOT lang:ru", replace(DESCRIBED, language=None), True),
    ],
)
def test_site_author_and_language(text: str, article: Article, expected: bool) -> None:
    matcher = Matcher(RuleSet(participants=PARTICIPANTS, rules=(query(text),)))
    assert bool(matcher.match(article)) is expected


def test_site_author_and_language_are_not_hits_in_the_text() -> None:
    matcher = Matcher(RuleSet(participants=PARTICIPANTS, rules=(query("site:courier Lavrov"),)))
    (match,) = matcher.match(DESCRIBED)
    assert {(h.field, h.term) for h in match.hits} == {("title", "Lavrov"), ("body", "Lavrov")}


def test_date_window() -> None:
    rule = Rule(id="r", query="summit", since=date(2023, 1, 1), until=date(2023, 12, 31))
    assert not matched(rule, "The summit.", day=date(2022, 12, 31))
    assert matched(rule, "The summit.", day=date(2023, 1, 1))
    assert matched(rule, "The summit.", day=date(2023, 12, 31))
    assert not matched(rule, "The summit.", day=date(2024, 1, 1))


def test_a_rule_of_only_negations_is_evaluated_for_every_article() -> None:
    rules = (query("summit"), Rule(id="quiet", query="NOT sport* NOT football"))
    matcher = Matcher(RuleSet(participants=PARTICIPANTS, rules=rules))
    assert [m.rule_id for m in matcher.match(article("Nothing of the rules' words."))] == ["quiet"]
    assert matcher.match(article("Sports news.")) == []


def test_hits_say_which_term_where() -> None:
    rule = Rule(id="contacts", participants=ParticipantCondition(all=("xi", "putin")))
    text = "President Xi Jinping met Vladimir Putin. Later Putin left."
    (match,) = Matcher(RuleSet(participants=PARTICIPANTS, rules=(rule,))).match(article(text))
    assert match.rule_id == "contacts"
    assert [(h.participant, h.term, text[h.start : h.end]) for h in match.hits] == [
        ("xi", "President Xi Jinping", "President Xi Jinping"),  # one mention, not three
        ("putin", "Vladimir Putin", "Vladimir Putin"),
        ("putin", "Putin", "Putin"),
    ]
    assert {h.field for h in match.hits} == {"body"}
    assert match.participants == ("xi", "putin")


def test_hits_of_a_query_are_what_made_it_hold() -> None:
    text = "Russia said so. China and Russia agreed on gas."
    rule = query('(China NEAR/2 Russia) AND (gas OR oil) AND NOT "sport"')
    (match,) = Matcher(RuleSet(participants=PARTICIPANTS, rules=(rule,))).match(article(text))
    # the first Russia is not near China: it is no part of the reason
    assert [(h.term, text[h.start : h.end], h.start) for h in match.hits] == [
        ("China", "China", 16),
        ("Russia", "Russia", 26),
        ("gas", "gas", 43),
    ]
    assert match.terms == ("China", "Russia", "gas")


def test_a_phrase_in_guillemets_is_one_hit_of_its_words() -> None:
    text = "Начались мирные переговоры."
    rules = RuleSet(participants=PARTICIPANTS, rules=(query("«мирные переговоры»"),))
    (match,) = Matcher(rules).match(article(text))
    assert [(h.term, text[h.start : h.end]) for h in match.hits] == [
        ("мирные переговоры", "мирные переговоры")
    ]


def test_title_hits_come_first() -> None:
    rule = keywords(any=("summit",))
    rules = RuleSet(participants=PARTICIPANTS, rules=(rule,))
    (match,) = Matcher(rules).match(article("The summit ended.", title="Summit in Astana"))
    assert [(h.field, h.term, h.start, h.end) for h in match.hits] == [
        ("title", "summit", 0, 6),
        ("body", "summit", 4, 10),
    ]


def test_several_rules_match_in_rule_set_order() -> None:
    rules = (
        Rule(id="first", keywords=Keywords(any=("gas",))),
        Rule(id="second", query="oil"),
        Rule(id="third", keywords=Keywords(any=("coal",))),
        Rule(id="fourth", query="NOT coal"),
    )
    matcher = Matcher(RuleSet(participants=PARTICIPANTS, rules=rules))
    assert [m.rule_id for m in matcher.match(article("Oil and gas."))] == [
        "first",
        "second",
        "fourth",
    ]


def test_rules_filed_under_the_same_words_are_all_found() -> None:
    rules = tuple(Rule(id=f"r{n}", query=text) for n, text in enumerate(("gas oil", "oil gas") * 2))
    matcher = Matcher(RuleSet(participants=PARTICIPANTS, rules=(*rules, query("gas coal"))))
    assert [m.rule_id for m in matcher.match(article("Oil and gas."))] == ["r0", "r1", "r2", "r3"]


def test_a_rule_set_compiles_alike_again_once_compiling_took_its_trees() -> None:
    rule = query('"peace talks" NEAR/5 @putin AND NOT title:sport*')
    rules = RuleSet(participants=PARTICIPANTS, rules=(rule,))
    text = article("Putin said the peace talks would resume.")
    first = Matcher(rules).explain(text, "r")
    assert rule.query is not None
    assert rule.query.node == parse_query(rule.query.text).node
    assert Matcher(rules).explain(text, "r") == first
    assert first.matched


def test_an_unknown_participant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown participant '@nobody'"):
        Matcher(RuleSet(participants=PARTICIPANTS, rules=(query("@nobody"),)))


def test_explained_match_names_each_condition() -> None:
    rule = Rule(
        id="r",
        query='Ukraine AND ("peace talks" OR negotiat*) AND NOT sport*',
        participants=ParticipantCondition(any=("putin",)),
        since=date(2023, 1, 1),
    )
    matcher = Matcher(RuleSet(participants=PARTICIPANTS, rules=(rule,)))
    text = "Putin spoke of negotiations on Ukraine and of peace talks."
    explanation = matcher.explain(article(text), "r")
    assert explanation.matched
    assert [(c.label, c.held, c.found) for c in explanation.clauses] == [
        ("since 2023-01-01", True, ("2024-05-01",)),
        ("Ukraine", True, ("Ukraine",)),
        ('("peace talks" OR negotiat*)', True, ("negotiations", "peace talks")),
        ("NOT sport*", True, ()),
        ("participants.any: putin", True, ("Putin",)),
    ]
    assert explanation.hits == matcher.match(article(text))[0].hits


def test_explanation_says_which_condition_failed() -> None:
    rule = query("(China NEAR/2 Russia) AND NOT sport*")
    matcher = Matcher(RuleSet(participants=PARTICIPANTS, rules=(rule,)))
    explanation = matcher.explain(article("China, far from it all, Russia. Sports."), "r")
    assert not explanation.matched
    assert explanation.hits == ()
    near, sport = explanation.clauses
    assert near == Clause(
        "(China NEAR/2 Russia)",
        False,
        (),
        (
            Clause("China", True, ("China",), kind="term"),
            Clause("Russia", True, ("Russia",), kind="term"),
        ),
        kind="near",
    )
    assert (sport.label, sport.held, sport.found, sport.kind) == (
        "NOT sport*",
        False,
        ("Sports",),
        "not",
    )


# --- the engine against a plain reference evaluation, on random queries and texts -------

WORDS = ["alpha", "beta", "gamma", "delta", "eps", "zeta"]
PEOPLE = {
    "p": Participant(name="eps zeta", aliases=("eps zeta", "zeta")),
    "q": Participant(name="gamma", aliases=("gamma",)),
}


@dataclass(frozen=True)
class Word:
    """A word of a generated article, where it stands, and in which sentence and paragraph."""

    field: str
    text: str
    start: int
    sentence: int
    paragraph: int


@dataclass(frozen=True)
class Written:
    article: Article
    words: dict[str, list[Word]]  # by field
    described: dict[str, list[str]]  # the words of its site, author and language, by field


def spelled(draw: st.DrawFn, capital: bool = False) -> str:
    word = draw(st.sampled_from(WORDS))
    return word.title() if capital or draw(st.booleans()) else word


@st.composite
def articles(draw: st.DrawFn) -> Written:
    """An article of sentences of the words above, with the place of every word known."""
    title_words = [spelled(draw) for _ in range(draw(st.integers(1, 4)))]
    words: dict[str, list[Word]] = {"title": [], "body": []}
    at = 0
    for word in title_words:
        words["title"].append(Word("title", word, at, 0, 0))
        at += len(word) + 1
    body = ""
    sentence = 0
    for paragraph in range(draw(st.integers(1, 3))):
        if paragraph:
            body += "\n\n"
        for number in range(draw(st.integers(1, 3))):
            if number:
                body += " "
            for index in range(draw(st.integers(1, 6))):
                word = spelled(draw, capital=index == 0)
                body += (" " if index else "") + word
                words["body"].append(Word("body", word, len(body) - len(word), sentence, paragraph))
            body += "."
            sentence += 1
    described = {
        field: [spelled(draw) for _ in range(draw(st.integers(0, 2)))]
        for field in ("site", "author", "lang")
    }
    written = Article(
        "a",
        " ".join(title_words),
        body,
        date(2024, 1, 1),
        "a.txt",
        author=" ".join(described["author"]) or None,
        language=" ".join(described["lang"]) or None,
        site=" ".join(described["site"]) or None,
    )
    return Written(written, words, described)


Place = tuple[str, int, int]  # field, first word, word after the last


class Reference:
    """The meaning of a query, evaluated the simplest way there is."""

    def __init__(self, written: Written) -> None:
        self.words = written.words
        self.described = written.described

    def holds(self, node: Node) -> bool:
        if isinstance(node, Term) and node.field in DESCRIBING:
            return self.describes(node)
        if isinstance(node, Not):
            return not self.holds(node.operand)
        if isinstance(node, And):
            return all(self.holds(operand) for operand in node.operands)
        if isinstance(node, Or):
            return any(self.holds(operand) for operand in node.operands)
        return bool(self.places(node))

    def describes(self, term: Term) -> bool:
        """Whether the words of the term stand side by side in the site, author or language."""
        words = self.described[str(term.field)]
        last = len(term.words) - 1
        return any(
            all(
                self.same(w, t, term, i == last)
                for i, (w, t) in enumerate(zip(stretch, term.words, strict=True))
            )
            for start in range(len(words) - len(term.words) + 1)
            for stretch in (words[start : start + len(term.words)],)
        )

    def evidence(self, node: Node) -> set[Place]:
        """The places that make a query hold."""
        if isinstance(node, Term) and node.field in DESCRIBING:
            return set()  # nothing in the text
        if isinstance(node, Not):
            return set()
        if isinstance(node, And | Or):
            return {p for op in node.operands if self.holds(op) for p in self.evidence(op)}
        return set(self.places(node))

    def places(self, node: Node) -> list[Place]:
        if isinstance(node, Term):
            return [p for p in self.phrase(node) if node.field in (None, p[0])]
        if isinstance(node, ParticipantTerm):
            return [p for p in self.mentions(node.participant) if node.field in (None, p[0])]
        if isinstance(node, Or):
            return [place for operand in node.operands for place in self.places(operand)]
        assert isinstance(node, Near)
        pairs = [
            (x, y)
            for x in self.places(node.left)
            for y in self.places(node.right)
            if self.near(x, y, node.distance, node.ordered)
        ]
        return sorted({place for pair in pairs for place in pair})

    def phrase(self, term: Term) -> list[Place]:
        found = []
        for field, words in self.words.items():
            for start in range(len(words) - len(term.words) + 1):
                stretch = words[start : start + len(term.words)]
                if len({w.sentence for w in stretch}) == 1 and all(
                    self.same(w.text, t, term, i == len(term.words) - 1)
                    for i, (w, t) in enumerate(zip(stretch, term.words, strict=True))
                ):
                    found.append((field, start, start + len(term.words)))
        return found

    @staticmethod
    def same(text: str, word: str, term: Term, last: bool) -> bool:
        if term.case_sensitive:
            return text == word
        if term.prefix and last:
            return text.lower().startswith(word.lower())
        return text.lower() == word.lower()

    def mentions(self, participant: str) -> list[Place]:
        def aliases(pid: str) -> list[Place]:
            return [
                p for alias in PEOPLE[pid].aliases for p in self.phrase(Term(tuple(alias.split())))
            ]

        everyone = [p for pid in PEOPLE for p in aliases(pid)]
        return [
            p
            for p in aliases(participant)
            if not any(o != p and o[0] == p[0] and o[1] <= p[1] and p[2] <= o[2] for o in everyone)
        ]

    def near(self, x: Place, y: Place, distance: Distance, ordered: bool) -> bool:
        if x[0] != y[0]:
            return False
        if not (x[2] <= y[1] or (not ordered and y[2] <= x[1])):
            return False
        if isinstance(distance, int):
            gap = y[1] - x[2] + 1 if x[2] <= y[1] else x[1] - y[2] + 1
            return gap <= distance
        unit = "sentence" if distance == "sentence" else "paragraph"
        words = self.words[x[0]]
        return getattr(words[x[1]], unit) == getattr(words[y[1]], unit)

    def spans(self, places: set[Place]) -> set[tuple[str, int, int]]:
        """Places as the hits of a match give them: field and character offsets."""
        spans = set()
        for field, start, end in places:
            first, last = self.words[field][start], self.words[field][end - 1]
            spans.add((field, first.start, last.start + len(last.text)))
        return spans


@settings(max_examples=300, deadline=None)
@given(trees(WORDS, list(PEOPLE)), articles())
def test_the_engine_agrees_with_the_reference(tree: Node, written: Written) -> None:
    rules = RuleSet(
        participants=PEOPLE,
        rules=(Rule(id="r", query=parse_query(written_query := written_text(tree))),),
    )
    matcher = Matcher(rules)
    matches = matcher.match(written.article)
    reference = Reference(written)
    assert bool(matches) is reference.holds(tree), written_query
    assert matcher.rule_ids(written.article) == [m.rule_id for m in matches]  # counts agree
    if matches:
        (match,) = matches
        hits = {(h.field, h.start, h.end) for h in match.hits}
        assert hits == reference.spans(reference.evidence(tree)), written_query
