"""Render a digest document as text, HTML and JSON with the Jinja2 templates in the package."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["Rendered", "render"]

_ENV = Environment(
    loader=PackageLoader("worker", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Rendered:
    """One digest in every form a channel sends."""

    subject: str
    text: str
    html: str
    json: str


def render(document: dict[str, Any]) -> Rendered:
    """Render the digest `document` (as built by `worker.digest.build_digest`)."""
    context = {"digest": document, "sections": _sections(document)}
    return Rendered(
        subject=_ENV.get_template("subject.txt").render(context).strip(),
        text=_ENV.get_template("digest.txt").render(context),
        html=_ENV.get_template("digest.html").render(context),
        json=json.dumps(document, indent=2, ensure_ascii=False) + "\n",
    )


def _sections(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**rule, "items": [item for item in document["items"] if item["rule"] == rule["id"]]}
        for rule in document["rules"]
    ]
