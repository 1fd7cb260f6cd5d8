"""Testing a rule before it goes live, as an analyst does it: `check` warns of rules that
cannot work as meant (`--strict` refuses them), and `match --stored` runs rules, a draft
too, over the articles already stored, reading the state only."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Daemon, Project, make_project, wait_for
from tests.postgres import Cluster
from tests.servers import free_port
from worker.cli import main

pytestmark = pytest.mark.timeout(120)

# A draft of the live rule xi-putin-contacts that asks for a summit only, and a new rule.
DRAFT = """\
rules:
  - id: xi-putin-contacts
    participants: {all: [xi, putin]}
    keywords: {any: [summit]}
  - id: sco-putin
    query: 'SCO AND @putin'
"""
SUMMIT = "Xi highlights unique value of relations with Russia"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    made = make_project(tmp_path)
    assert wirewatch(made, "ingest", str(made.root / "seeds")) == 0
    return made


def wirewatch(project: Project, *args: str) -> int:
    return main([args[0], "-c", str(project.config), *args[1:]])


def state_file(project: Project) -> Path:
    return project.root / "var" / "wirewatch.db"


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def backtest_json(project: Project, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert wirewatch(project, "match", "--stored", "--json", *args) == 0
    return json.loads(capsys.readouterr().out)


def test_the_live_rules_over_the_stored_articles_read_only(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    before, counts = fingerprint(state_file(project)), _counts(project)
    capsys.readouterr()
    assert wirewatch(project, "match", "--stored") == 0
    out = capsys.readouterr().out
    assert out.startswith("5 articles stored since ")
    assert "xi-putin-contacts (Xi–Putin contacts): would have matched 4 articles (80%)" in out
    assert "  2024-07-04      1  " in out  # counted by the article's date
    assert "  the 4 newest, and why:" in out
    assert "      ✓ xi-putin-contacts  Xi–Putin contacts" in out
    assert "against the live rule" not in out  # the live rules are what was run
    assert fingerprint(state_file(project)) == before  # not a byte written
    assert _counts(project) == counts
    assert project.digests() == []  # nothing sent


def test_a_draft_rule_file_against_the_live_rules(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = project.root / "draft.yaml"
    draft.write_text(DRAFT, encoding="utf-8")
    before = fingerprint(state_file(project))
    document = backtest_json(project, capsys, "--rules", str(draft), "--show", "1")
    assert document["articles"] == 5
    contacts, sco = document["rules"]
    assert contacts["rule"] == "xi-putin-contacts"
    assert contacts["matched"] == 1
    assert contacts["share"] == 0.2
    assert contacts["per_day"] == {"2024-07-04": 1}
    (shown,) = contacts["newest"]
    assert shown["article"]["title"] == SUMMIT
    assert "summit" in [hit["term"] for hit in shown["matches"][0]["hits"]]
    assert contacts["live"]["matched"] == 4
    assert contacts["live"]["gained"] == {"count": 0, "newest": []}
    assert contacts["live"]["lost"]["count"] == 3
    assert len(contacts["live"]["lost"]["newest"]) == 1  # --show 1
    assert sco["rule"] == "sco-putin"
    assert sco["live"] is None  # a new rule
    assert sco["matched"] == 1
    assert fingerprint(state_file(project)) == before


def test_one_rule_of_a_draft(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    draft = project.root / "draft.yaml"
    draft.write_text(DRAFT, encoding="utf-8")
    capsys.readouterr()
    assert wirewatch(project, "match", "--stored", "--rules", str(draft), "--rule", "sco") == 2
    assert "unknown rule 'sco'" in capsys.readouterr().err
    document = backtest_json(project, capsys, "--rules", str(draft), "--rule", "sco-putin")
    assert [rule["rule"] for rule in document["rules"]] == ["sco-putin"]


def test_a_mistake_in_the_draft_is_one_line_as_check_says_it(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = project.root / "draft.yaml"
    draft.write_text("rules:\n  - id: r\n    query: 'SCO AND @nobody'\n", encoding="utf-8")
    capsys.readouterr()
    assert wirewatch(project, "match", "--stored", "--rules", str(draft)) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{draft}:3: rules[0].query: column 9: unknown participant '@nobody'")


def test_no_state_yet_is_said_and_none_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path)
    assert wirewatch(project, "match", "--stored") == 1
    assert capsys.readouterr().err.startswith(f"{state_file(project)}: no state yet")
    assert not state_file(project).exists()


def test_a_folder_given_for_a_rule_file_is_said_so(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    drafts = project.root / "drafts"
    drafts.mkdir()
    capsys.readouterr()
    assert wirewatch(project, "match", "--stored", "--rules", str(drafts)) == 2
    assert capsys.readouterr().err == f"{drafts}: is a folder; give the path of a YAML file in it\n"


def test_stored_and_files_do_not_go_together(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = str(next((project.root / "seeds").iterdir()))
    assert wirewatch(project, "match", "--stored", seed) == 2
    assert wirewatch(project, "match", seed, "--since", "2d") == 2
    assert "--since and --show go with --stored" in capsys.readouterr().err


def test_the_backtest_on_postgresql(
    tmp_path: Path, postgres: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, state=postgres.new_database())
    assert wirewatch(project, "ingest", str(project.root / "seeds")) == 0
    counts = _counts(project)
    document = backtest_json(project, capsys, "--rule", "xi-putin-contacts")
    assert document["articles"] == 5
    assert document["rules"][0]["matched"] == 4
    assert _counts(project) == counts


def test_since_reads_only_the_articles_stored_that_recently(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(state_file(project)) as state:  # four of the five stored long ago
        (stored,) = state.execute("SELECT MIN(ingested_at) FROM articles").fetchone()
        long_ago = (datetime.fromisoformat(stored) - timedelta(days=40)).isoformat()
        state.execute("UPDATE articles SET ingested_at = ? WHERE title != ?", (long_ago, SUMMIT))
    state.close()
    recent = backtest_json(project, capsys)  # 30 days unless told
    assert recent["articles"] == 1
    assert {rule["rule"]: rule["matched"] for rule in recent["rules"]}["xi-putin-contacts"] == 1
    assert backtest_json(project, capsys, "--since", "60d")["articles"] == 5
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        wirewatch(project, "match", "--stored", "--since", "a month")
    assert refused.value.code == 2
    assert "--since: 'a month' is not a duration" in capsys.readouterr().err


def test_a_draft_that_gains_articles_names_them(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = project.root / "draft.yaml"
    draft.write_text(
        "rules:\n  - id: strategic-partnership\n    keywords: {any: [Russia]}\n", encoding="utf-8"
    )
    capsys.readouterr()
    assert wirewatch(project, "match", "--stored", "--rules", str(draft)) == 0
    out = capsys.readouterr().out
    assert "against the live rule" in out
    gained = backtest_json(project, capsys, "--rules", str(draft))["rules"][0]["live"]["gained"]
    assert gained["count"] == 1
    assert [shown["title"] for shown in gained["newest"]] == [
        "China and Russia should stand firm in rejecting Western interference and defending"
        " each other’s security…"
    ]


def _counts(project: Project) -> dict[str, int]:
    with project.store() as store:
        return store.counts()


# --- check ----------------------------------------------------------------------------------

LINTED = """\
participants:
  nobody: {name: Nobody Atall, aliases: []}
rules:
  - id: arctic-shipping
    keywords: {any: ["Northern Sea Route"]}
  - id: arctic-again
    keywords: {any: ["Northern Sea Route"]}
  - id: not-sport
    query: 'NOT sport*'
  - id: short
    query: 'Arctic AND s*'
"""


def test_check_warns_with_file_and_line_and_strict_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path)
    linted = project.root / "rules" / "arctic.yaml"
    linted.write_text(LINTED, encoding="utf-8")
    assert wirewatch(project, "check") == 0
    captured = capsys.readouterr()
    assert "OK:" in captured.out
    assert captured.err.splitlines() == [
        f"{linted}:2: participants.nobody.aliases: warning: an empty alias list: only the name"
        " 'Nobody Atall' finds 'nobody'; list the names articles use, or leave out aliases:",
        f"{linted}:2: participants.nobody: warning: no rule uses participant 'nobody'; name it"
        " in a rule or remove it",
        f"{linted}:6: rules[1]: warning: rule 'arctic-again': same query as rule"
        f" 'arctic-shipping' ({linted}:4): both match the same articles; keep one",
        f"{linted}:8: rules[2]: warning: rule 'not-sport': only NOT terms: it finds nothing and"
        " matches every article that lacks them; add a word or participant it must find",
        f"{linted}:11: rules[3].query: warning: rule 'short': column 12: wildcard 's*' is too"
        " short: it finds almost any word that begins so; give at least 3 letters before the *",
    ]
    assert wirewatch(project, "check", "--strict") == 1
    captured = capsys.readouterr()
    assert "OK:" not in captured.out
    assert captured.err.splitlines()[-1] == (
        f"{project.config}: not OK: 5 warnings, errors with --strict"
    )
    assert not state_file(project).exists()  # check made no state


def test_check_warns_of_a_rule_too_broad_for_the_articles_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path)
    (project.root / "rules" / "gas.yaml").write_text(
        "rules:\n  - id: gas\n    keywords: {any: [gas]}\n", encoding="utf-8"
    )
    lines = [{"title": f"Report {n}", "body": "gas" if n < 20 else "wheat"} for n in range(25)]
    batch = project.inbox / "batch.jsonl"
    batch.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    assert wirewatch(project, "ingest", str(batch)) == 0
    before = fingerprint(state_file(project))
    capsys.readouterr()
    assert wirewatch(project, "check") == 0
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning == (
        f"{project.root / 'rules' / 'gas.yaml'}:2: rules[0]: warning: rule 'gas': too broad: 80%"
        " (20 of 25 articles of the last 30 days); narrow it, or it floods every digest"
    )
    assert wirewatch(project, "check", "--too-broad", "85%") == 0
    assert capsys.readouterr().err == ""
    assert wirewatch(project, "check", "--strict") == 1
    assert fingerprint(state_file(project)) == before


def test_a_rule_file_with_warnings_is_reloaded_by_the_daemon(tmp_path: Path) -> None:
    daemon = Daemon(make_project(tmp_path, schedule="every 1s"))
    daemon.start()
    (daemon.project.root / "rules" / "arctic.yaml").write_text(LINTED, encoding="utf-8")
    wait_for(lambda: "rules reloaded: 11 rules" in daemon.log_text(), "the reload")
    assert "edit not applied" not in daemon.log_text()
    arctic = " date 2024-06-01 Arctic cargo\n\nCargo went along the Northern Sea Route.\n"
    (daemon.project.inbox / "arctic.txt").write_text(arctic, encoding="utf-8")
    wait_for(lambda: _sent_under(daemon.project, "Arctic cargo"), "the new rules' match")
    assert {"arctic-shipping", "arctic-again"} <= _sent_under(daemon.project, "Arctic cargo")
    assert daemon.stop() == 0


def _sent_under(project: Project, title: str) -> set[str]:
    return {
        rule
        for digest in project.digests()
        for item in digest["items"]
        if item["article"]["title"] == title
        for rule in item.get("rules") or [item["rule"]]
    }


def test_check_needs_no_reachable_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # On a laptop or in CI, away from the workers' database: the rules are checked all the
    # same, and only the breadth of each rule, which needs the articles, is left out.
    state = f"postgresql://wirewatch@127.0.0.1:{free_port()}/wirewatch"
    project = make_project(tmp_path, state=state, timing="{busy_timeout: 1s}")
    assert wirewatch(project, "check") == 0
    captured = capsys.readouterr()
    assert "OK:" in captured.out
    [told] = captured.err.splitlines()
    assert told.endswith("; how broad each rule is was not measured")
    assert "Traceback" not in captured.err
