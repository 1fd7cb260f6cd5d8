"""Everything the user wrote, read and checked together: config, rules and templates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from worker.config import Config, load_config, named_rule_files
from worker.render import Renderer, load_renderers
from worker.rules import RuleSet, load_rules, rule_mistakes
from worker.yamlfile import ConfigError, Problem

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
    try:
        config = load_config(path, environ)
    except ConfigError as error:
        rules = rule_mistakes(named_rule_files(path)) if path.exists() else []
        raise ConfigError(_in_order([*error.problems, *rules])) from None
    problems: list[Problem] = []
    try:
        rule_set = load_rules(config)
    except ConfigError as error:
        problems += error.problems
    try:
        renderers = load_renderers(config)
    except ConfigError as error:
        problems += error.problems
    if problems:
        raise ConfigError(_in_order(problems))
    return Settings(config, rule_set, renderers)


def _in_order(problems: list[Problem]) -> list[Problem]:
    """File by file as first named, each file's mistakes from its top down."""
    files = list(dict.fromkeys(problem.file for problem in problems))
    return sorted(problems, key=lambda p: (files.index(p.file), p.line or 0))
