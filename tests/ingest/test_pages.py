"""Web pages as sites lay them out: the article is read, not the page around it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from tests.helpers import Project, make_project, titles_by_rule
from worker.cli import main
from worker.ingest.formats import parse_file
from worker.model import Article

PAGES = Path(__file__).parent / "fixtures" / "pages"


def read(name: str) -> Article:
    """The one article of a saved page; fails the test on any problem."""
    parsed = parse_file(f"/inbox/{name}", (PAGES / name).read_bytes(), date(2026, 11, 1))
    assert parsed.problems == ()
    (article,) = parsed.articles
    return article


@pytest.mark.parametrize(
    ("page", "title", "author", "site", "language", "day"),
    [
        (
            "news.html",
            "Lavrov arrives in Beijing for talks on trade and energy",
            "Anna Kovacs",
            "The Daily Courier",
            "en",
            date(2024, 5, 16),
        ),
        (
            "blog.html",
            "Why the northern sea route matters to Beijing",
            "Maria Lindqvist",
            "Northern Notes",
            "en",
            date(2024, 3, 2),
        ),
        (
            "wire.html",
            "Russia and China sign long-term gas supply deal",
            "Ivan Petrov",
            "Global Wire",
            "en",
            date(2024, 9, 3),
        ),
        (
            "russian.html",
            "Путин и Си Цзиньпин провели переговоры в Пекине",
            "Мария Иванова",
            "Мир Новостей",
            "ru",
            date(2024, 5, 16),
        ),
        (  # nothing the extractor takes for an article: the page's own text is read
            "letters.html",
            "Letters to the editor: the Arctic, ports and pipelines",
            None,
            "Harbour Gazette",
            "en",
            date(2026, 11, 1),
        ),
    ],
)
def test_a_page_gives_its_title_author_site_and_language(
    page: str, title: str, author: str | None, site: str, language: str, day: date
) -> None:
    article = read(page)
    assert (article.title, article.author, article.site, article.language, article.date) == (
        title,
        author,
        site,
        language,
        day,
    )


@pytest.mark.parametrize(
    ("page", "story", "boilerplate"),
    [
        ("news.html", "Lavrov arrived in Beijing", ("Volcano", "Most read", "Subscribe", "©")),
        ("blog.html", "Insurers remain cautious", ("bitcoin", "Leave a reply", "Reindeer")),
        ("wire.html", "second pipeline across Mongolia", ("tariffs", "Trust Principles")),
        ("russian.html", "провели в четверг переговоры", ("Землетрясение", "Самое читаемое")),
        ("letters.html", "fishermen of Murmansk", ()),
    ],
)
def test_a_page_gives_the_story_without_the_page_around_it(
    page: str, story: str, boilerplate: tuple[str, ...]
) -> None:
    body = read(page).body
    assert story in body
    for words in boilerplate:
        assert words not in body
    assert not body.startswith(read(page).title)  # said once


PAGE_RULES = """\
rules:
  - {id: talks, query: 'Lavrov AND Beijing'}
  - {id: volcano, query: volcano}
  - {id: sea-route, query: '"sea route"'}
  - {id: bitcoin, query: bitcoin}
  - {id: gas-deal, query: 'gas AND pipeline'}
  - {id: tariffs, query: tariffs}
  - {id: russian-talks, query: 'переговоры AND lang:ru'}
  - {id: earthquake, query: землетрясение}
  - {id: letters, query: Murmansk}
  - {id: courier, query: 'site:"daily courier"'}
  - {id: wire-site, query: 'site:globalwire.example'}
  - {id: by-kovacs, query: 'author:kovacs'}
  - {id: in-russian, query: 'lang:ru'}
  - {id: in-german, query: 'lang:de'}
"""


@pytest.fixture
def pages(tmp_path: Path) -> Project:
    project = make_project(tmp_path)
    (project.root / "rules" / "pages.yaml").write_text(PAGE_RULES, encoding="utf-8")
    for page in PAGES.glob("*.html"):
        shutil.copy(page, project.inbox / page.name)
    return project


def run_once(project: Project) -> dict[str, set[str]]:
    """`wirewatch run --once`: the titles its one digest lists under each rule."""
    assert main(["run", "-c", str(project.config), "--once"]) == 0
    (digest,) = project.digests()
    return titles_by_rule(digest)


def test_only_the_story_fires_rules_end_to_end(pages: Project) -> None:
    by_rule = run_once(pages)
    assert by_rule["talks"] == {"Lavrov arrives in Beijing for talks on trade and energy"}
    assert by_rule["sea-route"] == {"Why the northern sea route matters to Beijing"}
    assert by_rule["gas-deal"] == {"Russia and China sign long-term gas supply deal"}
    assert by_rule["russian-talks"] == {"Путин и Си Цзиньпин провели переговоры в Пекине"}
    assert by_rule["letters"] == {"Letters to the editor: the Arctic, ports and pipelines"}
    # The sidebar's, the comments' and the related stories' words fire nothing.
    assert not by_rule.keys() & {"volcano", "bitcoin", "tariffs", "earthquake", "in-german"}


def test_site_author_and_language_rules_match_end_to_end(pages: Project) -> None:
    by_rule = run_once(pages)
    assert by_rule["courier"] == {"Lavrov arrives in Beijing for talks on trade and energy"}
    assert by_rule["wire-site"] == {"Russia and China sign long-term gas supply deal"}
    assert by_rule["by-kovacs"] == {"Lavrov arrives in Beijing for talks on trade and energy"}
    assert by_rule["in-russian"] == {"Путин и Си Цзиньпин провели переговоры в Пекине"}
    with pages.store() as store:
        stored = {article.title: article for article in store.articles()}
    wire = stored["Russia and China sign long-term gas supply deal"]
    assert (wire.author, wire.site, wire.language) == ("Ivan Petrov", "Global Wire", "en")


def test_match_explains_a_site_rule(pages: Project, capsys: pytest.CaptureFixture[str]) -> None:
    page = str(pages.inbox / "news.html")
    assert main(["match", "-c", str(pages.config), page, "--rule", "courier"]) == 0
    assert '✓ site:"daily courier" — found in The Daily Courier' in capsys.readouterr().out
    assert main(["match", "-c", str(pages.config), page, "--rule", "in-german"]) == 0
    assert "✗ lang:de — not in en" in capsys.readouterr().out


def test_check_refuses_an_unknown_field_in_one_line(
    pages: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = pages.root / "rules" / "pages.yaml"
    rules.write_text(
        textwrap.dedent("""\
            rules:
              - id: writer
                query: 'writer:kovacs'
            """),
        encoding="utf-8",
    )
    assert main(["check", "-c", str(pages.config)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"{rules}:3: rules[0].query: column 1: unknown field 'writer:'; the fields are title:, "
        "body:, site:, author: and lang: (put the words in quotes to search for them)"
    )


def test_starting_wirewatch_does_not_load_the_page_extractor() -> None:
    code = "import sys, worker.cli, worker.ingest.formats; print('trafilatura' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"
