"""Webhook formats: each service's message for a digest, within its limits, article text escaped."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.model import Digest
from worker.notify.messages import FORMATS, encode, message_for
from worker.notify.messages.markdown import markdown_message
from worker.notify.messages.shared import length
from worker.settings.config import WebhookChannel

SUMMARY = "President Xi Jinping met Vladimir Putin in Moscow for talks."


def item(
    rule: str,
    number: int,
    title: str | None = None,
    summary: str = SUMMARY,
    url: str | None = None,
    highlights: list[list[int]] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "rule": rule,
        "article": {
            "id": f"a{number}",
            "title": title if title is not None else f"Article {number}",
            "date": "2024-05-01",
            "source": "Xinhua",
            "url": url,
            "path": f"/srv/inbox/{number}.txt",
        },
        "participants": ["Xi Jinping", "Vladimir Putin"],
        "terms": ["talks"],
        "summary": summary,
    }
    if highlights is not None:
        entry["highlights"] = highlights
    return entry


def document(items: list[dict[str, Any]], omitted: int | None = None) -> dict[str, Any]:
    counts: dict[str, Any] = {
        "articles": len({entry["article"]["id"] for entry in items}),
        "matches": len(items),
        "rules": {},
        "participants": {"Xi Jinping": len(items)},
    }
    if omitted is not None:
        counts["omitted"] = omitted
    return {
        "digest_id": "0123456789abcdef01234567",
        "channel": "ops",
        "generated_at": "2026-11-22T08:00:00+00:00",
        "period": {"from": "2026-11-21T08:00:00+00:00", "to": "2026-11-22T08:00:00+00:00"},
        "counts": counts,
        "rules": [
            {"id": "leaders", "title": "Xi–Putin contacts", "priority": "high"},
            {"id": "energy", "title": "Energy", "priority": "normal"},
        ],
        "items": items,
    }


def digest(items: list[dict[str, Any]], omitted: int | None = None) -> Digest:
    return Digest.from_document(document(items, omitted))


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_chat_messages_show_the_period_in_the_channel_time_zone(name: str) -> None:
    berlin = Digest.from_document({**document([]), "timezone": "Europe/Berlin"})
    shown = json.dumps(message_for(name, berlin), ensure_ascii=False)
    assert "2026-11-21 09:00 to 2026-11-22 09:00 Europe/Berlin · " in shown


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_chat_messages_say_what_the_throttle_held_back(name: str) -> None:
    held = {"matches": 3, "since": "2026-11-22T06:30:00+00:00"}
    throttled = Digest.from_document({**document([]), "timezone": "Europe/Berlin", "held": held})
    shown = json.dumps(message_for(name, throttled), ensure_ascii=False)
    assert "3 matches held back by the throttle since 2026-11-22 07:30" in shown
    assert "held back" not in json.dumps(message_for(name, digest([])), ensure_ascii=False)


def test_a_markdown_message_says_what_the_throttle_held_back() -> None:
    held = {"matches": 1, "since": "2026-11-22T06:30:00+00:00"}
    throttled = Digest.from_document({**document([]), "held": held})
    shown = markdown_message(throttled, 4000)
    assert "1 match held back by the throttle since 2026-11-22 06:30" in shown


XI = [SUMMARY.index("Xi Jinping"), SUMMARY.index("Xi Jinping") + len("Xi Jinping")]
TALKS = [SUMMARY.index("talks"), SUMMARY.index("talks") + len("talks")]
SMALL_ITEMS = [
    item("leaders", 1, url="https://news.example/1", highlights=[XI, TALKS]),
    item("leaders", 2),
    item("energy", 3, title="Gas deal"),
]
SMALL = digest(SMALL_ITEMS)


def test_slack_has_a_header_a_context_line_and_a_section_per_rule() -> None:
    message = message_for("slack", SMALL)
    header, context, leaders, energy = message["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "wirewatch: 3 articles matched on ops"},
    }
    assert context["type"] == "context"
    overview, participants = (element["text"] for element in context["elements"])
    assert overview == "2026-11-21 08:00 to 2026-11-22 08:00 UTC · 3 articles · 3 matches"
    assert participants == "Participants: Xi Jinping (3)"
    assert leaders["type"] == energy["type"] == "section"
    assert leaders["text"]["verbatim"] is True
    assert leaders["text"]["text"].splitlines()[:5] == [
        "*Xi–Putin contacts · 2 matches · high priority*",
        "",
        "*<https://news.example/1|Article 1>*",
        "2024-05-01 · Xinhua · Xi Jinping, Vladimir Putin · matched: talks",
        "President *Xi Jinping* met Vladimir Putin in Moscow for *talks*.",
    ]
    assert "/srv/inbox/2.txt" in leaders["text"]["text"]  # no url: the path instead
    assert energy["text"]["text"].startswith("*Energy · 1 match*\n\n*Gas deal*\n")
    assert message["text"] == "wirewatch: 3 articles matched on ops"
    assert message["unfurl_links"] is False


def test_discord_has_the_overview_as_content_and_an_embed_per_rule() -> None:
    message = message_for("discord", SMALL)
    assert message["content"].splitlines() == [
        "**wirewatch: 3 articles matched on ops**",
        "2026-11-21 08:00 to 2026-11-22 08:00 UTC · 3 articles · 3 matches",
        "Participants: Xi Jinping (3)",
    ]
    leaders, energy = message["embeds"]
    assert leaders["title"] == "Xi–Putin contacts · 2 matches · high priority"
    assert leaders["description"].splitlines()[:3] == [
        "**[Article 1](https://news.example/1)**",
        "2024-05-01 · Xinhua · Xi Jinping, Vladimir Putin · matched: talks",
        "President **Xi Jinping** met Vladimir Putin in Moscow for **talks**.",
    ]
    assert energy["title"] == "Energy · 1 match"
    assert leaders["color"] != energy["color"]
    assert "footer" not in energy
    assert message["allowed_mentions"] == {"parse": []}


def teams_card(message: dict[str, Any]) -> dict[str, Any]:
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    return card


def texts_of(element: dict[str, Any]) -> str:
    """The text of a RichTextBlock or of every block in a Container, runs joined."""
    if element["type"] == "Container":
        return "\n".join(texts_of(child) for child in element["items"])
    return "".join(run["text"] for run in element["inlines"])


def test_teams_posts_an_adaptive_card_in_the_message_envelope() -> None:
    message = message_for("teams", SMALL)
    assert message["type"] == "message"
    card = teams_card(message)
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    body = card["body"]
    assert [texts_of(element) for element in body[:4]] == [
        "wirewatch: 3 articles matched on ops",
        "2026-11-21 08:00 to 2026-11-22 08:00 UTC · 3 articles · 3 matches",
        "Participants: Xi Jinping (3)",
        "Xi–Putin contacts · 2 matches · high priority",
    ]
    first = body[4]
    assert first["selectAction"] == {
        "type": "Action.OpenUrl",
        "url": "https://news.example/1",
        "title": "Open",
    }
    summary = first["items"][2]["inlines"]
    assert [run["text"] for run in summary if run.get("weight") == "Bolder"] == [
        "Xi Jinping",
        "talks",
    ]
    assert "selectAction" not in body[5]
    assert texts_of(body[5]).endswith("/srv/inbox/2.txt")
    assert texts_of(body[6]) == "Energy · 1 match"


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_items_of_a_rule_the_digest_lists_no_section_for_come_last_under_its_id(
    name: str,
) -> None:
    body = encode(message_for(name, digest([item("elsewhere", 1), item("energy", 2)]))).decode()
    assert body.index("Energy · 1 match") < body.index("elsewhere · 1 match")


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_a_digest_from_before_highlights_and_omitted_counts(name: str) -> None:
    old = document([item("leaders", 1)])
    assert "omitted" not in old["counts"]
    assert "highlights" not in old["items"][0]
    assert "more item" not in encode(message_for(name, Digest.from_document(old))).decode()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("slack", "… and 4 more items"),
        ("discord", "… and 4 more items"),
        ("teams", "… and 4 more items"),
    ],
)
def test_items_left_out_by_max_items_are_counted(name: str, expected: str) -> None:
    message = message_for(name, digest(SMALL_ITEMS, omitted=4))
    assert expected in encode(message).decode()


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_one_item_left_out_is_said_in_the_singular(name: str) -> None:
    body = encode(message_for(name, digest(SMALL_ITEMS, omitted=1))).decode()
    assert "… and 1 more item" in body
    assert "… and 1 more items" not in body


@pytest.mark.parametrize(
    "highlights",
    [[[50, 10]], [[-5, 3]], [[0, 999]], [[0, 10], [5, 15]], [[3, 3]], [[900, 999]], []],
)
@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_odd_highlight_spans_never_break_a_message(name: str, highlights: list[list[int]]) -> None:
    body = encode(message_for(name, digest([item("leaders", 1, highlights=highlights)]))).decode()
    assert "Moscow" in body


@pytest.mark.parametrize("highlights", [[["a", 3]], "nonsense", [[1]]])
def test_malformed_highlight_spans_are_refused_before_any_message(highlights: Any) -> None:
    entry = item("leaders", 1)
    entry["highlights"] = highlights
    with pytest.raises(ValueError, match="highlights"):
        digest([entry])


# -- limits: a digest of 300 long items ---------------------------------------------------

LONG_TITLE = "ITEM-{:03d} " + "Summit communiqué & <analysis> of the *strategic* partnership " * 12
LONG_SUMMARY = "Xi Jinping and Vladimir Putin held talks on gas & oil. " * 40


def big_digest(omitted: int = 0) -> Digest:
    items = [
        item(
            "leaders" if number < 150 else "energy",
            number,
            title=LONG_TITLE.format(number),
            summary=LONG_SUMMARY,
            url=f"https://news.example/{number}?a=1&b=2" if number % 2 else None,
            highlights=[[0, 10], [15, 29], [200, 260]],
        )
        for number in range(300)
    ]
    return digest(items, omitted=omitted)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def slack_within_limits(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert len(blocks) <= 50
    total = utf16(message["text"])
    for block in blocks:
        if block["type"] == "header":
            assert utf16(block["text"]["text"]) <= 150
            total += utf16(block["text"]["text"])
        elif block["type"] == "section":
            assert utf16(block["text"]["text"]) <= 3000
            total += utf16(block["text"]["text"])
        else:
            assert block["type"] == "context"
            assert len(block["elements"]) <= 10
            total += sum(utf16(element["text"]) for element in block["elements"])
    assert total <= 10_000


def discord_within_limits(message: dict[str, Any]) -> None:
    assert utf16(message["content"]) <= 2000
    embeds = message["embeds"]
    assert 1 <= len(embeds) <= 10
    total = 0
    for embed in embeds:
        assert utf16(embed["title"]) <= 256
        assert utf16(embed["description"]) <= 4096
        assert len(embed.get("fields", [])) <= 25
        footer = embed.get("footer", {}).get("text", "")
        assert utf16(footer) <= 2048
        total += utf16(embed["title"]) + utf16(embed["description"]) + utf16(footer)
    assert total <= 6000


def teams_within_limits(message: dict[str, Any]) -> None:
    assert len(encode(message)) <= 24_000  # Teams: about 28 KB, with a margin
    teams_card(message)


LIMITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "slack": slack_within_limits,
    "discord": discord_within_limits,
    "teams": teams_within_limits,
}


@pytest.mark.parametrize("omitted", [0, 25])
@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_a_long_digest_is_trimmed_within_the_limits(name: str, omitted: int) -> None:
    message = message_for(name, big_digest(omitted))
    LIMITS[name](message)
    body = encode(message).decode()
    shown = [int(number) for number in dict.fromkeys(re.findall(r"ITEM-(\d{3})", body))]
    assert shown == list(range(len(shown)))  # the leading items, in digest order
    assert len(shown) >= 3
    assert body.count(f"… and {300 - len(shown) + omitted} more items") == 1


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_a_digest_whose_items_were_all_left_out_says_so(name: str) -> None:
    message = message_for(name, digest([], omitted=3))
    assert "… and 3 more items" in encode(message).decode()


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_a_short_digest_is_sent_whole(name: str) -> None:
    body = encode(message_for(name, SMALL)).decode()
    assert all(f"Article {number}" in body for number in (1, 2))
    assert "Gas deal" in body
    assert "more item" not in body


# -- one long link or title never breaks a block ------------------------------------------

REVIEWED_URL = "https://news.example/" + "a" * 4500  # the 4,500-character URL Slack refused
ESCAPED_URL = "https://news.example/?" + "q=<&>|(x) " * 500  # longer still once escaped
WHOLE_MESSAGE_URL = "https://news.example/" + "a" * 30_000  # longer than any message


@pytest.mark.parametrize(
    "url",
    [REVIEWED_URL, ESCAPED_URL, WHOLE_MESSAGE_URL],
    ids=["reviewed", "escaped", "whole-message"],
)
@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_a_link_too_long_for_the_service_is_left_out(name: str, url: str) -> None:
    message = message_for(name, digest([item("leaders", 1, url=url), item("leaders", 2)]))
    LIMITS[name](message)
    body = encode(message).decode()
    assert "news.example" not in body
    assert "/srv/inbox/1.txt" in body  # where the article is, as for one without a link
    assert "Article 1" in body
    assert "Article 2" in body
    assert "more item" not in body


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_a_long_link_that_fits_is_kept(name: str) -> None:
    url = "https://news.example/" + "a" * 1000
    body = encode(message_for(name, digest([item("leaders", 1, url=url)]))).decode()
    assert url in body
    assert "/srv/inbox/1.txt" not in body


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_very_long_titles_stay_within_the_limits(name: str) -> None:
    title = "Summit communiqué & <analysis> of the *strategic* partnership " * 400
    entries = [item("leaders", number, title=title, url=REVIEWED_URL) for number in range(20)]
    long_rule = document(entries)
    long_rule["rules"][0]["title"] = title
    message = message_for(name, Digest.from_document(long_rule))
    LIMITS[name](message)
    assert "Summit communiqué" in encode(message).decode()


@settings(max_examples=40, deadline=None)
@given(part=st.text(min_size=1, max_size=8), times=st.integers(1, 5000))
@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_any_article_link_gives_a_message_within_the_limits(
    name: str, part: str, times: int
) -> None:
    entries = [item("leaders", 1, url="https://news.example/" + part * times), item("leaders", 2)]
    message = message_for(name, digest(entries))
    LIMITS[name](message)
    assert "Article 2" in encode(message).decode()


# -- article text from the wild -----------------------------------------------------------

HOSTILE = (
    "<script>alert('x')</script> *bold* _it_ ~s~ `code` |pipe| [link](https://evil.example) "
    '& &amp; <@everyone> <!channel> <@U123> @here # heading > quote \\ "quoted" \u2028'
)


def hostile_digest() -> Digest:
    entry = item(
        "leaders",
        1,
        title="1. " + HOSTILE,
        summary="- " + HOSTILE,
        url="https://news.example/a?b=<c>|d e(f)",
        highlights=[[2, 10]],
    )
    entry["article"]["source"] = HOSTILE
    entry["participants"] = [HOSTILE]
    return digest([entry, item("leaders", 2, title=HOSTILE, summary=HOSTILE)])


def test_slack_escapes_ampersands_and_angle_brackets() -> None:
    message = message_for("slack", hostile_digest())
    section = message["blocks"][2]["text"]["text"]
    links = re.findall(r"<([^<>]*)>", section)
    assert len(links) == 1  # the title's link; the rest can make none
    assert links[0].startswith("https://news.example/a?b=%3Cc%3E%7Cd%20e(f)|1. &lt;script&gt;")
    outside_link = section.replace(f"<{links[0]}>", "")
    assert "<" not in outside_link
    assert ">" not in outside_link
    assert "&lt;script&gt;" in section
    assert "&lt;@everyone&gt;" in section
    assert "&amp;amp;" in section
    assert re.search(r"&(?!amp;|lt;|gt;)", section) is None


def test_discord_escapes_markdown_and_mentions() -> None:
    message = message_for("discord", hostile_digest())
    description = message["embeds"][0]["description"]
    for escaped in (r"\*bold\*", r"\_it\_", r"\~s\~", r"\`code\`", r"\|pipe\|", r"\[link\]"):
        assert escaped in description
    assert r"\<\@everyone\>" in description
    assert r"\@here" in description
    assert "\n\\- " in description  # a summary starting with "- " is no list
    assert r"[1\. \<script\>" in description  # nor a title starting with "1."
    assert "(https://news.example/a?b=%3Cc%3E|d%20e%28f%29)" in description
    assert message["allowed_mentions"] == {"parse": []}


def test_teams_shows_article_text_as_written() -> None:
    card = teams_card(message_for("teams", hostile_digest()))
    first = card["body"][4]
    assert texts_of(first["items"][0]).startswith("1. " + HOSTILE[:40])
    assert "TextBlock" not in json.dumps(card).replace("RichTextBlock", "")
    assert first["selectAction"]["url"] == "https://news.example/a?b=<c>|d%20e(f)"


@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_only_web_addresses_become_links(name: str) -> None:
    entry = item("leaders", 1, url="javascript:alert(1)")
    body = encode(message_for(name, digest([entry]))).decode()
    assert "javascript" not in body
    assert "/srv/inbox/1.txt" in body


wild_text = st.text(
    st.characters(blacklist_categories=["Cs"]), max_size=400
)  # any Unicode but lone surrogates


@settings(max_examples=40, deadline=None)
@given(title=wild_text, summary=wild_text, source=wild_text, count=st.integers(1, 40))
@pytest.mark.parametrize("name", ["slack", "discord", "teams"])
def test_any_article_text_gives_a_valid_message(
    name: str, title: str, summary: str, source: str, count: int
) -> None:
    items = [item("leaders", number, title=title, summary=summary) for number in range(count)]
    items[0]["article"]["source"] = source
    message = message_for(name, digest(items, omitted=2))
    LIMITS[name](message)
    assert json.loads(encode(message)) == message


def test_every_format_of_the_config_has_a_message() -> None:
    # json is the channel's digest.json template; every other format is built here
    formats = set(get_args(WebhookChannel.model_fields["format"].annotation))
    assert formats == {"json", *FORMATS}


# -- plain Markdown, for the services Apprise reaches -------------------------------------


@pytest.mark.parametrize("room", [1024, 4096, 32768])
def test_markdown_keeps_the_leading_items_that_fit_the_room(room: int) -> None:
    text = markdown_message(big_digest(25), room)
    assert length(text) <= room
    shown = [int(number) for number in dict.fromkeys(re.findall(r"ITEM-(\d{3})", text))]
    assert shown == list(range(len(shown)))
    assert text.count(f"… and {300 - len(shown) + 25} more items") == 1


def test_markdown_has_a_heading_per_rule_and_linked_titles() -> None:
    text = markdown_message(SMALL, 32768)
    assert "## Xi–Putin contacts · 2 matches · high priority" in text
    assert "## Energy · 1 match" in text
    assert "more item" not in text


def test_markdown_escapes_article_text() -> None:
    text = markdown_message(hostile_digest(), 32768)
    for escaped in (r"\*bold\*", r"\_it\_", r"\`code\`", r"\[link\]", r"\<script\>"):
        assert escaped in text
    assert "\n\\- " in text  # a summary starting with "- " is no list
