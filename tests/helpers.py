"""A temporary wirewatch project: the seeds, the default rules, an inbox and an outbox."""

from __future__ import annotations

import json
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

SEED_TITLES = {
    "001_d9422b366859b37e.txt": "Xi highlights unique value of relations with Russia",
    "003_1a328842afac22b4.txt": (
        "China's Foreign Minister Hails Prospects Of Strategic Cooperation With Russia As Limitless"
    ),
}


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def digests(self) -> list[dict[str, Any]]:
        """The JSON digests written so far, oldest first."""
        files = sorted(self.outbox.glob("*.json")) if self.outbox.exists() else []
        return [json.loads(path.read_text(encoding="utf-8")) for path in files]


def make_project(
    root: Path, schedule: str = "every 1m", extra: str = "", rescan_seconds: float = 300
) -> Project:
    """Copy seeds/ and rules/ into `root` and write a config with a file channel."""
    shutil.copytree(REPO / "seeds", root / "seeds")
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "inbox").mkdir()
    config = f"""\
        state: var/wirewatch.db
        timezone: Europe/Berlin
        watch:
          - path: seeds
          - path: inbox
        ingest:
          settle_seconds: 0.5
          rescan_seconds: {rescan_seconds}
        rules: rules/
        channels:
          local:
            type: file
            path: outbox/
            schedule: "{schedule}"
        """
    (root / "config.yaml").write_text(textwrap.dedent(config) + extra, encoding="utf-8")
    return Project(root)


def titles_by_rule(digest: dict[str, Any]) -> dict[str, set[str]]:
    """The article titles a digest lists under each rule."""
    by_rule: dict[str, set[str]] = {}
    for item in digest["items"]:
        by_rule.setdefault(item["rule"], set()).add(item["article"]["title"])
    return by_rule
