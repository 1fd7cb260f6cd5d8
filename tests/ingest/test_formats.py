"""Reading articles from files: every format, the seeds' titles, encodings and bad files."""

from __future__ import annotations

import codecs
import json
from datetime import date
from pathlib import Path

import pytest

from tests.helpers import REPO
from worker.ingest.formats import parse_date, parse_file
from worker.model import Article

MODIFIED = date(2026, 11, 1)


def one(name: str, data: bytes | str) -> Article:
    """The one article a file holds; fails the test on any problem."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parsed = parse_file(f"/inbox/{name}", raw, MODIFIED)
    assert parsed.problems == ()
    (article,) = parsed.articles
    return article


def problems(name: str, data: bytes | str) -> tuple[str, ...]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_file(f"/inbox/{name}", raw, MODIFIED).problems


@pytest.mark.parametrize(
    ("seed", "title", "day", "source"),
    [
        (
            "000_e87f8abe83e54d3e.txt",  # a whole paragraph on the first line
            "Chinese State Councilor and Foreign Minister Wang Yi met on Friday with Russian "
            "Foreign Minister Sergey…",
            date(2022, 8, 6),
            None,
        ),
        (
            "001_d9422b366859b37e.txt",
            "Xi highlights unique value of relations with Russia",
            date(2024, 7, 4),
            None,
        ),
        (
            "002_5508f9bde4412175.txt",  # starts with site navigation, "Home » Nation"
            "China and Russia should stand firm in rejecting Western interference and defending "
            "each other’s security…",
            date(2021, 12, 16),
            None,
        ),
        (
            "003_1a328842afac22b4.txt",  # a bare site name above the headline
            "China's Foreign Minister Hails Prospects Of Strategic Cooperation With Russia As "
            "Limitless",
            date(2021, 1, 2),
            "UrduPoint.com",
        ),
        (
            "004_79ad88eba1b6bebe.txt",
            "Chinese President Xi Jinping and his Russian counterpart, Vladimir Putin, had an "
            "in-depth and candid exchange…",
            date(2023, 3, 21),
            None,
        ),
    ],
)
def test_seed_titles_dates_and_sources(
    seed: str, title: str, day: date, source: str | None
) -> None:
    article = one(seed, (REPO / "seeds" / seed).read_bytes())
    assert (article.title, article.date, article.source) == (title, day, source)
    assert article.path == f"/inbox/{seed}"
    assert "date 20" not in article.body  # the date line is not text


def test_seed_body_keeps_the_text_and_drops_navigation() -> None:
    article = one("002.txt", (REPO / "seeds" / "002_5508f9bde4412175.txt").read_bytes())
    assert "Home » Nation" not in article.body
    assert article.body.startswith("China and Russia should stand firm")
    assert article.body.endswith("150 million doses.")


def test_headline_line_is_not_repeated_in_the_body() -> None:
    article = one("a.txt", "Putin meets Xi in Beijing\n\nThe two leaders met on Thursday.\n")
    assert (article.title, article.body) == (
        "Putin meets Xi in Beijing",
        "The two leaders met on Thursday.",
    )
    assert article.date == MODIFIED  # no date line: the file's date


def test_title_stops_at_the_first_sentence_not_at_an_abbreviation() -> None:
    article = one("a.txt", "Mr. Lavrov met U.S. envoys. They talked for hours about it all.\n")
    assert article.title == "Mr. Lavrov met U.S. envoys"


def test_same_content_is_the_same_article_whatever_the_name_and_spacing() -> None:
    text = " date 2024-05-16 Talks in Beijing\n\nXi met Putin.\n"
    first = one("a.txt", text)
    second = one("copy.txt", text.replace("\n\n", "\n\n\n").replace(" met", "  met"))
    assert first.id == second.id
    assert first.id != one("b.txt", text.replace("Putin", "Lavrov")).id


def test_markdown_front_matter() -> None:
    text = """\
---
title: Lavrov in Vientiane
date: 2024-07-25
url: https://example.org/lavrov
source: TASS
tags: [ignored]
---
Russian Foreign Minister Sergey Lavrov met Wang Yi.
"""
    article = one("a.md", text)
    assert (article.title, article.date, article.url, article.source) == (
        "Lavrov in Vientiane",
        date(2024, 7, 25),
        "https://example.org/lavrov",
        "TASS",
    )
    assert article.body == "Russian Foreign Minister Sergey Lavrov met Wang Yi."


@pytest.mark.parametrize(
    "url", ["javascript:alert(document.cookie)", "file:///etc/passwd", "/news/1"]
)
def test_a_link_that_is_no_web_address_is_left_out_with_a_warning(url: str) -> None:
    parsed = parse_file(
        "/inbox/a.md", f"---\nurl: {url!r}\n---\nLavrov met Wang Yi.".encode(), MODIFIED
    )
    (article,) = parsed.articles
    assert article.url is None  # no digest turns it into a link a reader clicks
    assert parsed.warnings == (
        f"url {url!r} is not an http or https address; the article is kept without it",
    )


def test_markdown_heading_is_the_title() -> None:
    article = one("a.md", "# Lavrov in Vientiane\n\nHe met Wang Yi.\n")
    assert (article.title, article.body) == ("Lavrov in Vientiane", "He met Wang Yi.")


def test_markdown_with_bad_front_matter_is_a_problem() -> None:
    text = "---\ntitle: [unclosed\n---\nText.\n"
    assert problems("a.md", text) == ("front matter is not valid YAML at line 3; fix it",)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"title": "T", "body": "B", "date": "2024-05-16", "url": "https://x", "source": "S"},
            ("T", "B", date(2024, 5, 16), "https://x", "S"),
        ),
        (
            {"title": "T", "text": "B", "published": "2024-05-16T10:00:00Z"},
            ("T", "B", date(2024, 5, 16), None, None),
        ),
        (
            {
                "content": "Putin spoke.\n\nMore text.",
                "published": "Thu, 16 May 2024 10:00:00 +0000",
            },
            ("Putin spoke", "Putin spoke.\n\nMore text.", date(2024, 5, 16), None, None),
        ),
    ],
)
def test_json_object(document: dict[str, str], expected: tuple[object, ...]) -> None:
    article = one("a.json", json.dumps(document))
    assert (article.title, article.body, article.date, article.url, article.source) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"title": "T"}', "no article text; give one of the keys body, text or content"),
        ("[1, 2]", "must be a JSON object with a title and a body"),
        ('{"title": "T",\n "body": }', "not valid JSON: Expecting value at line 2 column 10"),
    ],
)
def test_json_problems(text: str, problem: str) -> None:
    assert problems("a.json", text) == (problem,)


def test_a_bad_date_is_a_warning_and_the_file_date_is_used() -> None:
    parsed = parse_file("/inbox/a.json", b'{"body": "Text.", "date": "last Tuesday"}', MODIFIED)
    assert parsed.problems == ()
    assert parsed.articles[0].date == MODIFIED
    assert parsed.warnings == (
        "date 'last Tuesday' is not a date like 2024-05-16; the file's date is used",
    )


def test_accents_written_as_marks_of_their_own_are_composed() -> None:
    decomposed = "Lavro\u0301v met Wang Yi at the cafe\u0301."
    (article,) = parse_file("/inbox/a.txt", decomposed.encode(), MODIFIED).articles
    assert article.body == "Lavróv met Wang Yi at the café."


def test_a_txt_date_header_that_is_no_date_is_a_warning() -> None:
    parsed = parse_file("/inbox/a.txt", b" date 2024-02-30 Talks\n\nPutin met Xi.", MODIFIED)
    (article,) = parsed.articles
    assert (article.title, article.date) == ("Talks", MODIFIED)
    assert parsed.warnings == (
        "date '2024-02-30' is not a date like 2024-05-16; the file's date is used",
    )


def test_jsonl_reads_every_good_line_and_names_the_bad_ones() -> None:
    lines = [
        json.dumps({"title": "One", "body": "First."}),
        "{not json",
        "",
        json.dumps({"title": "Two", "body": "Second."}),
        json.dumps({"title": "Three"}),
    ]
    parsed = parse_file("/inbox/feed.jsonl", "\n".join(lines).encode(), MODIFIED)
    assert [a.title for a in parsed.articles] == ["One", "Two"]
    assert parsed.problems == (
        "line 2: not valid JSON: Expecting property name enclosed in double quotes "
        "at line 1 column 2",
        "line 5: no article text; give one of the keys body, text or content",
    )


PAGE = """\
<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<title>Talks in Beijing | World News</title>
<meta property="og:title" content="Putin and Xi hold talks in Beijing">
<meta property="og:site_name" content="World News">
<meta property="og:url" content="https://news.example/talks">
<meta property="article:published_time" content="2024-05-16T08:00:00+08:00">
<script>var tracking = "Lavrov";</script>
<style>p { color: red }</style>
</head><body>
<header><nav><a href="/">Home</a> » <a href="/world">World</a></nav></header>
<article>
<h1>Putin and Xi hold talks</h1>
<p>Russian President Vladimir Putin met Xi Jinping on Thursday.</p>
<p>They discussed the <b>Power of Siberia 2</b> pipeline.</p>
</article>
<aside>Most read: sport results</aside>
<footer>© World News</footer>
</body></html>
"""


def test_html_title_and_main_text() -> None:
    article = one("a.html", PAGE)
    assert (article.title, article.source, article.url, article.date) == (
        "Putin and Xi hold talks in Beijing",
        "World News",
        "https://news.example/talks",
        date(2024, 5, 16),
    )
    assert article.body == (
        "Putin and Xi hold talks\n\n"
        "Russian President Vladimir Putin met Xi Jinping on Thursday.\n\n"
        "They discussed the Power of Siberia 2 pipeline."
    )


def test_html_without_metadata_takes_the_title_tag() -> None:
    page = "<html><head><title>Gas deal</title></head><body><p>China buys gas.</p></body></html>"
    article = one("a.html", page)
    assert (article.title, article.body) == ("Gas deal", "China buys gas.")


RUSSIAN = (
    "Президент России Владимир Путин и председатель КНР Си Цзиньпин провели переговоры в "
    "Пекине. Стороны обсудили сотрудничество в энергетике."
)
FRENCH = (
    "Le ministre des Affaires étrangères a rencontré son homologue à Pékin. Les deux côtés "
    "ont évoqué la coopération énergétique."
)
CHINESE = (
    "中国国家主席习近平同俄罗斯总统普京举行会谈。双方就中俄关系和共同关心的国际问题深入交换意见。"
)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (RUSSIAN, "cp1251"),
        (RUSSIAN, "koi8_r"),
        (FRENCH, "cp1252"),
        (CHINESE, "gb18030"),
        (RUSSIAN, "utf-16"),  # with its byte-order mark
        (FRENCH, "utf-8-sig"),
    ],
)
def test_encodings_other_than_utf8_are_detected(text: str, encoding: str) -> None:
    article = one("a.txt", text.encode(encoding))
    assert article.body == text


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty file"),
        (b"  \n\n \t", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"%PDF-1.7\n" + bytes(range(0, 32)) * 4, "binary file"),
        (
            codecs.BOM_UTF8 + b"ok \xff\xfe",
            "not valid UTF-8 at byte 6; save the file as UTF-8",
        ),
        (b" date 2024-05-16 \n\n", "no article text after the date line"),
    ],
)
def test_files_that_cannot_be_read(data: bytes, problem: str) -> None:
    assert problems("a.txt", data) == (problem,)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-16", date(2024, 5, 16)),
        ("2024-05-16T23:30:00Z", date(2024, 5, 16)),
        ("Thu, 16 May 2024 10:00:00 GMT", date(2024, 5, 16)),
        (date(2024, 5, 16), date(2024, 5, 16)),
        ("16/05/2024", None),
        ("", None),
        (20240516, None),
    ],
)
def test_parse_date(value: object, expected: date | None) -> None:
    assert parse_date(value) == expected


def test_every_seed_is_read(tmp_path: Path) -> None:
    for seed in sorted((REPO / "seeds").iterdir()):
        parsed = parse_file(str(seed), seed.read_bytes(), MODIFIED)
        assert parsed.problems == ()
        assert len(parsed.articles) == 1
        assert len(parsed.articles[0].body) > 1000


def test_a_jsonl_line_nested_too_deeply_fails_alone() -> None:
    lines = [
        json.dumps({"title": "One", "body": "First."}),
        '{"title": "Deep", "body": ' + "[" * 100_000 + "]" * 100_000 + "}",
        json.dumps({"title": "Two", "body": "Second."}),
    ]
    parsed = parse_file("/inbox/feed.jsonl", "\n".join(lines).encode(), MODIFIED)
    assert [a.title for a in parsed.articles] == ["One", "Two"]
    assert parsed.problems == ("line 2: JSON nested too deeply; an article is one object of texts",)


def test_a_json_file_nested_too_deeply_is_a_problem() -> None:
    assert problems("a.json", "[" * 100_000) == (
        "JSON nested too deeply; an article is one object of texts",
    )


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_a_jsonl_line_ends_at_a_newline_only(separator: str) -> None:
    first = {"title": "One", "body": f"First{separator}paragraph."}
    lines = [json.dumps(first, ensure_ascii=False), json.dumps({"title": "Two", "body": "B."})]
    parsed = parse_file("/inbox/feed.jsonl", "\r\n".join(lines).encode(), MODIFIED)
    assert parsed.problems == ()
    assert [a.title for a in parsed.articles] == ["One", "Two"]
    assert separator in parsed.articles[0].body


def test_json_says_where_a_string_is_unterminated_in_plain_words() -> None:
    assert problems("a.jsonl", '{"title": "T", "body": "Unfinished') == (
        "line 1: not valid JSON: Unterminated string starting at line 1 column 24",
    )


def test_json_and_markdown_may_name_author_site_and_language() -> None:
    record = {
        "title": "Gas deal signed",
        "body": "Gazprom and CNPC signed.",
        "author": "Ivan Petrov",
        "lang": "en-GB",
        "site": "Global Wire",
    }
    article = one("a.json", json.dumps(record))
    assert (article.author, article.language, article.site) == ("Ivan Petrov", "en", "Global Wire")
    front = "---\ntitle: Gas deal\nauthor: Мария Иванова\nlanguage: ru_RU\nsite: Мир\n---\nText.\n"
    article = one("a.md", front)
    assert (article.author, article.language, article.site) == ("Мария Иванова", "ru", "Мир")


def test_a_language_that_is_not_a_code_is_left_out_with_a_warning() -> None:
    record = {"title": "T", "body": "Text.", "language": "English"}
    parsed = parse_file("/inbox/a.json", json.dumps(record).encode(), MODIFIED)
    (article,) = parsed.articles
    assert article.language is None
    assert parsed.warnings == (
        "language 'English' is not a language code like en or ru; it is left out",
    )
