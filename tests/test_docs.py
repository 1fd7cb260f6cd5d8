"""The docs site builds with no broken link or page, and its reference is what the code says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO
from tools import reference

PAGES = REPO / "docs"


def test_the_docs_build_strictly_without_the_network(tmp_path: Path) -> None:
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    built = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=90)
    assert built.returncode == 0, built.stderr  # a broken link or anchor, or a page left out
    assert "WARNING" not in built.stderr, built.stderr
    for page in ("index", "rules", "participants", "channels", "operations", "reference/cli"):
        assert (site / page.removeprefix("index") / "index.html").is_file(), page
    html = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in html  # nothing fetched when the site is read


def test_the_committed_reference_is_what_the_code_generates() -> None:
    generated: dict[Path, str] = reference.pages()
    assert set(generated) == set((PAGES / "reference").glob("*.md"))
    for path, text in generated.items():
        committed = path.read_text(encoding="utf-8")
        assert committed == text, (
            f"{path.relative_to(REPO)} differs from the code: run `make reference` "
            "(python tools/reference.py) and commit what it writes"
        )


def test_the_reference_names_every_command_and_key() -> None:
    pages = reference.pages()
    cli, config, rules = (
        pages[PAGES / "reference" / f"{n}.md"] for n in ("cli", "config", "rules")
    )
    for command in ("run", "check", "match", "status", "ingest", "digest", "prune", "mute"):
        assert f"## `{command}`" in cli
    assert "| `--rule` | `ID` |" in cli
    assert "| `channels.NAME.smtp.port` | whole number, at least 1 and at most 65535 | `587` |" in (
        config
    )
    assert "| `timing.batch` | duration" in config
    assert "| `rules[].query` | query |" in rules
    # each key with an example of its value, from its section's example or its own
    assert "| Only articles dated up to this day. | `2026-12-31` |" in rules
    assert "| `timing.lease` | duration (`30s`, `15m`, `2h`, `1d`) | `15s` |" in config


def test_the_options_every_command_takes_are_listed_once_above_the_commands() -> None:
    cli = reference.pages()[PAGES / "reference" / "cli.md"]
    shared, *commands = cli.split("\n## `")
    for flag in ("`--verbose`", "`--quiet`", "`--log-format`"):
        assert f"| {flag}" in shared or f", {flag}" in shared
        assert not any(flag in command for command in commands)


def test_a_stale_page_is_named_with_the_command_that_writes_it_again(tmp_path: Path) -> None:
    page = tmp_path / "cli.md"
    page.write_text("# Command line\n\nwritten by hand\n", encoding="utf-8")
    assert reference.stale_lines({page: page.read_text(encoding="utf-8")}) == []
    assert reference.stale_lines({page: "# Command line\n"}) == [
        f"{page} differs from the code; run `make reference`"
    ]
    assert reference.stale_lines({tmp_path / "config.md": "# config.yaml\n"})  # a page missing


def test_check_passes_on_the_committed_reference() -> None:
    checked = subprocess.run(
        [sys.executable, "tools/reference.py", "--check"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
