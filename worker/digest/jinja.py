"""The templates of a channel compiled and run by Jinja2: sandboxed, an undefined name an
error, HTML escaped.

Loaded only when a channel's templates are first needed (`worker.digest.render`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    pass_context,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from worker.errors import TemplateMistake
from worker.model import Digest, Rendered

__all__ = ["TEMPLATES", "Templates"]

# The four templates of a channel, each a file of its folder or of the package.
TEMPLATES = ("subject.txt", "digest.txt", "digest.html", "digest.json")


class Templates:
    """The four templates of a channel, compiled once; TemplateMistake for one that does
    not compile."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        loader: BaseLoader = PackageLoader("worker.digest", "templates")
        if folder is not None:
            loader = ChoiceLoader([FileSystemLoader(folder), loader])
        self._text = _environment(loader, html=False)
        self._html = _environment(loader, html=True)
        try:
            self._templates = {name: self._load(name) for name in TEMPLATES}
        except TemplateSyntaxError as error:
            raise TemplateMistake(error.filename or "", error.lineno, error.message or "") from None

    def _load(self, name: str) -> Template:
        environment = self._html if name.endswith(".html") else self._text
        try:
            return environment.get_template(name)
        except UnicodeDecodeError:
            where = self.folder / name if self.folder is not None else Path(name)
            raise TemplateMistake(str(where), None, "not UTF-8 text; save it as UTF-8") from None

    def render(self, digest: Digest) -> Rendered:
        """The digest rendered by each template, which sees it as its JSON document."""
        document = digest.document()
        titles = {rule["id"]: rule["title"] for rule in document["rules"]}
        context = {
            "digest": document,
            "sections": _sections(document),
            "zone": digest.timezone,
            "rule_titles": titles,
        }
        try:
            out = {name: self._templates[name].render(context) for name in TEMPLATES}
        except Exception as error:  # Jinja2's, or raised by what a template runs: {{ 1 // 0 }}
            file, line = _template_line(error.__traceback__)
            message = str(error) if isinstance(error, TemplateError) else _told(error)
            raise TemplateMistake(file or str(self.folder), line, message) from None
        try:
            json.loads(out["digest.json"])
        except json.JSONDecodeError as error:
            message = f"does not give JSON: {error.msg} at line {error.lineno} of its output"
            raise TemplateMistake(self.source_of("digest.json"), None, message) from None
        return Rendered(
            subject=" ".join(out["subject.txt"].split()),
            text=out["digest.txt"],
            html=out["digest.html"],
            json=out["digest.json"],
        )

    def source_of(self, name: str) -> str:
        """Where template `name` comes from: the channel's folder or the package."""
        filename = self._templates[name].filename
        return filename or name


def _told(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _template_line(traceback: TracebackType | None) -> tuple[str | None, int | None]:
    """The template file and line an error was raised at (Jinja2 puts them in the traceback)."""
    found: tuple[str | None, int | None] = (None, None)
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if code.co_filename.endswith((".html", ".txt", ".json")):
            found = (code.co_filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


def _environment(loader: BaseLoader, html: bool) -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["local"] = _local
    environment.filters["json"] = _json
    environment.filters["highlighted"] = _highlighted_html if html else _highlighted_text
    environment.filters["rule_title"] = _rule_title
    return environment


def _sections(digest: Mapping[str, Any]) -> list[dict[str, Any]]:
    totals = digest["counts"]["rules"]
    return [
        {
            **rule,
            "items": [item for item in digest["items"] if item["rule"] == rule["id"]],
            "total": totals.get(rule["id"], 0),
        }
        for rule in digest["rules"]
    ]


@pass_context
def _local(context: Context, moment: str, form: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO 8601 time of the digest in the channel's time zone: `{{ t | local }}`."""
    zone = ZoneInfo(context["digest"].get("timezone", "UTC"))
    return datetime.fromisoformat(moment).astimezone(zone).strftime(form)


@pass_context
def _rule_title(context: Context, rule_id: str) -> str:
    """A rule's title as the digest names it: `{{ item.rules | map("rule_title") }}`."""
    titles: Mapping[str, str] = context.get("rule_titles", {})
    return titles.get(rule_id, rule_id)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _pieces(item: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """The summary as (text, highlighted) pieces."""
    summary: str = item["summary"]
    spans = sorted((int(a), int(b)) for a, b in item.get("highlights", []))
    pieces, at = [], 0
    for start, end in spans:
        if start < at:
            continue  # overlaps the one before
        pieces += [(summary[at:start], False), (summary[start:end], True)]
        at = end
    return [*pieces, (summary[at:], False)]


def _highlighted_text(item: Mapping[str, Any]) -> str:
    """The summary with each matched term between asterisks: *Putin*."""
    return "".join(f"*{text}*" if marked else text for text, marked in _pieces(item))


def _highlighted_html(item: Mapping[str, Any]) -> Markup:
    """The summary, escaped, with each matched term in bold."""
    parts = (
        Markup("<b>%s</b>") % text if marked else escape(text) for text, marked in _pieces(item)
    )
    return Markup("").join(parts)
