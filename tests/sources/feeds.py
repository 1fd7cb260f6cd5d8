"""Fixture feeds, written out as publishers serve them, and a project that reads them."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.helpers import Project, make_project
from worker.ingest.ingestor import Ingested
from worker.notify import Clients
from worker.pipeline import Pipeline, load_setup
from worker.store import open_store

TALKS = "Vladimir Putin met Xi Jinping in Moscow for talks on trade and security."


def rss(*items: str, title: str = "The Courier") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://courier.example/</link>"
        f"<description>News</description>{''.join(items)}</channel></rss>"
    )


def item(title: str, body: str, guid: str | None = None, link: str | None = None) -> str:
    parts = [f"<title>{title}</title>", f"<description>&lt;p&gt;{body}&lt;/p&gt;</description>"]
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link is not None:
        parts.append(f"<link>{link}</link>")
    parts.append("<pubDate>Mon, 06 May 2024 08:00:00 GMT</pubDate>")
    parts.append("<author>desk@courier.example (Anna Petrova)</author>")
    return f"<item>{''.join(parts)}</item>"


def atom(*entries: tuple[str, str, str]) -> str:
    written = "".join(
        f"<entry><id>{key}</id><title>{title}</title><updated>2024-05-06T08:00:00Z</updated>"
        f'<link href="https://atom.example/{key}"/><summary>{body}</summary>'
        "<author><name>Ivan Sidorov</name></author></entry>"
        for key, title, body in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Atom Wire</title><id>urn:atom-wire</id><updated>2024-05-06T08:00:00Z</updated>"
        f"{written}</feed>"
    )


def json_feed(*items: tuple[str, str, str]) -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "JSON Wire",
            "items": [
                {
                    "id": key,
                    "title": title,
                    "content_text": body,
                    "url": f"https://json.example/{key}",
                    "date_published": "2024-05-06T08:00:00Z",
                    "authors": [{"name": "Li Wei"}],
                }
                for key, title, body in items
            ],
        }
    )


STORY_PAGE = """<!doctype html><html lang="en"><head><title>Putin and Xi talk | Courier</title>
</head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Putin and Xi talk</h1>
<p>Vladimir Putin met Xi Jinping in Moscow on Monday for talks that lasted four hours.</p>
<p>The two leaders discussed energy, trade and the situation in the region at length.</p>
<p>Officials on both sides described the conversation as warm and productive.</p>
</article><aside>Most read: a recipe for borscht</aside><footer>(c) Courier</footer>
</body></html>"""


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def feed_project(root: Path, sources: str, state: str = "var/wirewatch.db") -> Project:
    """A project whose config has these `sources:` (YAML lines, indented by two)."""
    return make_project(root, extra=f"sources:\n{sources}", state=state)


@contextmanager
def pipeline_of(project: Project, clock: Clock) -> Iterator[Pipeline]:
    setup = load_setup(project.config, {})
    store = open_store(setup.config.state_url)
    with httpx.Client() as http:
        clients = Clients(http=http, tls=ssl.create_default_context())
        yield Pipeline(setup, store, clients, clock=clock, spread=lambda: 0.5)
    store.close()


def poll(pipeline: Pipeline) -> list[Ingested]:
    """Every feed that is due polled, and its entries ingested, as the loop does."""
    return [pipeline.ingest(raw) for raw in pipeline.feeds.scan() if raw is not None]
