"""Everything the user wrote, read and checked together: config, rules and templates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from worker.config import Config, load_config
from worker.render import Renderer, load_renderers
from worker.rules import RuleSet, load_rules

__all__ = ["Settings", "load_settings"]


@dataclass(frozen=True)
class Settings:
    """What every command starts from: the config, the rules and the channels' templates."""

    config: Config
    rules: RuleSet
    renderers: dict[str, Renderer]

    def sources(self) -> list[Path]:
        """The files and folders the user edits: the config, the rules, the templates."""
        folders = [channel.template for channel in self.config.channels.values()]
        return [self.config.source, *self.config.rules, *(f for f in folders if f is not None)]


def load_settings(path: Path, environ: Mapping[str, str]) -> Settings:
    """Read and check everything the user wrote; ConfigError lists every mistake."""
    config = load_config(path, environ)
    rules = load_rules(config)
    return Settings(config, rules, load_renderers(config))
