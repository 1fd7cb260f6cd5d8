"""Render a digest document as a subject, text, HTML and JSON with Jinja2 templates.

The templates shipped in the package are the defaults; a channel's `template:` folder
may replace any of them. Templates run sandboxed, an undefined name is an error, HTML
is escaped, and a channel's own templates are tried on a sample digest when the config
is loaded, so a mistake is reported then, with its file and line, and not at sending
time. The shipped ones are tried by the tests, and compiled at a channel's first digest:
a daemon whose channels have no templates of their own loads Jinja2 only then.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from worker.digest.build import sample_digest
from worker.errors import ConfigError, Problem, TemplateMistake
from worker.model import Digest, Rendered
from worker.settings.config import Config

if TYPE_CHECKING:
    from worker.digest.jinja import Templates

__all__ = ["Renderer", "load_renderers"]


class Renderer:
    """The four templates of a channel, compiled when first needed, then kept."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._compiled: Templates | None = None
        self._compiling = threading.Lock()  # channels send their digests in threads

    def _templates(self) -> Templates:
        with self._compiling:
            if self._compiled is None:
                from worker.digest.jinja import Templates

                self._compiled = Templates(self.folder)
            return self._compiled

    def render(self, digest: Digest) -> Rendered:
        """The digest rendered by each template, which sees it as its JSON document."""
        return self._templates().render(digest)

    def source_of(self, name: str) -> str:
        """Where template `name` comes from: the channel's folder or the package."""
        return self._templates().source_of(name)


def load_renderers(config: Config) -> dict[str, Renderer]:
    """A renderer per channel, those with templates of their own tried on a sample digest;
    ConfigError names every fault."""
    renderers: dict[str, Renderer] = {}
    problems: list[Problem] = []
    for name, channel in config.channels.items():
        try:
            renderer = _tried(channel.template, config.zone_of(channel).key)
        except TemplateMistake as fault:
            problems.append(fault.problem(name))
            continue
        renderers[name] = renderer
    if problems:
        raise ConfigError(problems)
    return renderers


def _tried(folder: Path | None, zone: str) -> Renderer:
    """A renderer whose templates, if the channel has its own, have rendered a sample digest:
    their mistakes show now, not when sending."""
    renderer = Renderer(folder)
    if folder is not None:
        renderer.render(sample_digest(zone))
    return renderer
