"""Templates: the defaults, a channel's own, and a mistake in one reported before sending."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from worker.digest.build import build_digest, sample_digest
from worker.digest.render import Renderer, load_renderers
from worker.errors import ConfigError
from worker.model import Article, Hit, StoredMatch
from worker.rules.ruleset import Keywords, Rule, RuleSet
from worker.settings.config import Config, load_config

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def config_with_templates(root: Path, templates: dict[str, str]) -> Config:
    (root / "inbox").mkdir()
    (root / "rules").mkdir()
    folder = root / "templates" / "mail"
    folder.mkdir(parents=True)
    for name, text in templates.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    config = """\
        watch: [{path: inbox}]
        channels:
          local:
            type: file
            path: out
            template: templates/mail
        """
    (root / "config.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    return load_config(root / "config.yaml", {})


def mistakes(config: Config) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_renderers(config)
    return str(caught.value).splitlines()


def test_a_channel_replaces_only_the_templates_it_has(tmp_path: Path) -> None:
    config = config_with_templates(
        tmp_path, {"subject.txt": "News for {{ digest.channel }}: {{ digest.counts.articles }}"}
    )
    rendered = load_renderers(config)["local"].render(sample_digest("UTC"))
    assert rendered.subject == "News for sample: 1"
    assert rendered.text.startswith("1 article matched on sample")  # the default


def test_a_json_template_shapes_the_body(tmp_path: Path) -> None:
    template = """\
        {"text": {{ (digest.counts.articles ~ " new articles") | json }},
         "titles": {{ digest["items"] | map(attribute="article.title") | list | json }}}
        """
    config = config_with_templates(tmp_path, {"digest.json": template})
    rendered = load_renderers(config)["local"].render(sample_digest("UTC"))
    assert json.loads(rendered.json) == {"text": "1 new articles", "titles": ["Putin & Xi meet"]}


@pytest.mark.parametrize(
    ("name", "template", "line", "message"),
    [
        ("digest.html", "<p>\n{{ digest.channel }\n</p>", 2, "unexpected '}'"),
        ("digest.txt", "{{ digest.title }}\n", 1, "'dict object' has no attribute 'title'"),
        ("digest.txt", "line\n{% for x in y %}{% endfor %}", 2, "'y' is undefined"),
        (
            "subject.txt",
            "{{ ''.__class__.__mro__ }}",
            1,
            "access to attribute '__class__' of 'str' object is unsafe.",
        ),
        (
            "digest.txt",
            "{{ digest.counts.update(articles=0) }}",
            1,
            "access to attribute 'update' of 'dict' object is unsafe.",
        ),
        (
            "digest.txt",
            "a\n{{ 1 // 0 }}",
            2,
            "ZeroDivisionError: integer division or modulo by zero",
        ),
        (
            "subject.txt",
            '{{ "%d" | format("x") }}',
            1,
            "TypeError: %d format: a real number is required, not str",
        ),
        (
            "digest.json",
            "{not json",
            None,
            "does not give JSON: Expecting property name enclosed in double quotes"
            " at line 1 of its output",
        ),
    ],
)
def test_a_template_mistake_names_the_file_line_and_channel(
    tmp_path: Path, name: str, template: str, line: int | None, message: str
) -> None:
    config = config_with_templates(tmp_path, {name: template})
    path = tmp_path / "templates" / "mail" / name
    where = f"{path}:{line}" if line else f"{path}"
    assert mistakes(config) == [f"{where}: channels.local.template: {message}"]


def test_a_missing_template_folder(tmp_path: Path) -> None:
    config_with_templates(tmp_path, {})
    (tmp_path / "templates" / "mail").rmdir()
    with pytest.raises(ConfigError, match=r"channels.local.template: folder .* does not exist"):
        load_config(tmp_path / "config.yaml", {})


def hostile_digest() -> dict[str, object]:
    body = "Putin said <script>alert('x')</script> & left."
    article = Article("a1", "<img src=x onerror=alert(1)>", body, date(2026, 1, 1), "/in/a")
    hit = Hit("Putin", "body", 0, 5, "putin")
    rules = RuleSet({}, (Rule(id="r", keywords=Keywords(any=("x",))),))
    return build_digest("local", [StoredMatch(1, "r", article, (hit,), NOW)], rules, NOW, None)


def test_html_escapes_article_text_and_bolds_the_matches() -> None:
    html = Renderer().render(hostile_digest()).html
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; left." in html
    assert "<b>Putin</b> said" in html


def test_text_marks_the_matches() -> None:
    text = Renderer().render(hostile_digest()).text
    assert "*Putin* said <script>alert('x')</script> & left." in text


def test_times_are_shown_in_the_channel_time_zone() -> None:
    text = Renderer().render(sample_digest("Asia/Shanghai")).text
    assert "Period: 2026-01-02 16:00 to 2026-01-02 16:00 (Asia/Shanghai)" in text


def test_the_default_html_has_nothing_remote() -> None:
    html = Renderer().render(sample_digest("UTC")).html
    assert "<script" not in html
    assert "<img" not in html
    assert "<link" not in html
    assert 'name="viewport"' in html


def test_a_template_that_is_not_utf8(tmp_path: Path) -> None:
    config = config_with_templates(tmp_path, {})
    path = tmp_path / "templates" / "mail" / "digest.txt"
    path.write_bytes("Überblick\n".encode("latin-1"))
    assert mistakes(config) == [
        f"{path}: channels.local.template: not UTF-8 text; save it as UTF-8"
    ]
