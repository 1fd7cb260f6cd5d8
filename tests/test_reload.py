"""Edits while the daemon runs: rules, templates and config, good and bad, and SIGHUP."""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.helpers import Daemon, make_project, wait_for

pytestmark = pytest.mark.timeout(120)

NEW_RULE = """
  - id: arctic-shipping
    title: Arctic shipping
    keywords: {any: ["Northern Sea Route"]}
"""
ARCTIC = " date 2024-06-01 Arctic cargo\n\nChina shipped cargo along the Northern Sea Route.\n"
TALKS = " date 2024-05-16 Putin and Xi hold talks\n\nVladimir Putin met Xi Jinping for talks.\n"


@pytest.fixture
def daemon(tmp_path: Path) -> Daemon:
    running = Daemon(make_project(tmp_path, schedule="every 1s"))
    running.start()
    wait_for(running.project.digests, "the seeds' digest")
    return running


def rules_of(daemon: Daemon, title: str) -> set[str]:
    """The rules under which an article with this title was sent, over all digests."""
    return {
        item["rule"]
        for digest in daemon.project.digests()
        for item in digest["items"]
        if item["article"]["title"] == title
    }


def test_a_rule_added_while_running_is_applied(daemon: Daemon) -> None:
    rules = daemon.project.root / "rules" / "china-russia.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + NEW_RULE, encoding="utf-8")
    wait_for(lambda: "rules reloaded: 8 rules" in daemon.log_text(), "the reload")
    (daemon.project.inbox / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    wait_for(lambda: rules_of(daemon, "Arctic cargo"), "the new rule's match")
    assert rules_of(daemon, "Arctic cargo") == {"arctic-shipping"}
    assert daemon.stop() == 0


def test_a_rules_folder_replaced_whole_is_applied_and_watched_anew(daemon: Daemon) -> None:
    rules = daemon.project.root / "rules"
    deployed = daemon.project.root / "rules.new"
    shutil.copytree(rules, deployed)
    extra = deployed / "china-russia.yaml"
    extra.write_text(extra.read_text(encoding="utf-8") + NEW_RULE, encoding="utf-8")
    shutil.rmtree(rules)
    deployed.rename(rules)  # as a deploy puts a new folder in place of the old
    wait_for(lambda: "rules reloaded: 8 rules" in daemon.log_text(), "the deployed rules")
    edited = rules / "china-russia.yaml"  # and edits of the new folder are noticed
    edited.write_text(edited.read_text(encoding="utf-8").replace(NEW_RULE, ""), "utf-8")
    wait_for(lambda: "rules reloaded: 7 rules" in daemon.log_text(), "the edit after it")
    assert daemon.stop() == 0


def test_a_bad_edit_is_refused_and_the_old_rules_keep_matching(daemon: Daemon) -> None:
    broken = daemon.project.root / "rules" / "broken.yaml"
    broken.write_text("rules:\n  - id: half-written\n    keywords: {any: [\n", encoding="utf-8")
    wait_for(lambda: "edit not applied" in daemon.log_text(), "the refusal")
    lines = daemon.log_text().splitlines()  # the mistake, with its file and line, on one line
    assert any(f"edit not applied: {broken}:" in line for line in lines)
    (daemon.project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: rules_of(daemon, "Putin and Xi hold talks"), "a match of the old rules")
    assert rules_of(daemon, "Putin and Xi hold talks") == {"xi-putin-contacts"}
    assert daemon.stop() == 0


def test_an_edit_with_one_mistake_is_refused_whole(daemon: Daemon) -> None:
    rules = daemon.project.root / "rules" / "china-russia.yaml"
    good = rules.read_text(encoding="utf-8")
    # A new rule, and the leaders' rule broken: neither half of the edit may apply.
    edited = good.replace("id: xi-putin-contacts", "id: xi-putin-contacts\n    colour: red")
    assert edited != good
    rules.write_text(edited + NEW_RULE, encoding="utf-8")
    wait_for(lambda: "edit not applied" in daemon.log_text(), "the refusal")
    assert "unknown key 'colour'" in daemon.log_text()
    (daemon.project.inbox / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    wait_for(lambda: daemon.articles("arctic.txt"), "the arctic article")
    (daemon.project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: rules_of(daemon, "Putin and Xi hold talks"), "a match of the old rules")
    assert rules_of(daemon, "Putin and Xi hold talks") == {"xi-putin-contacts"}
    assert rules_of(daemon, "Arctic cargo") == set()
    assert daemon.stop() == 0


def test_sighup_reloads(daemon: Daemon) -> None:
    assert daemon.process is not None
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "rules reloaded: 7 rules" in daemon.log_text(), "the reload")
    assert "SIGHUP received" in daemon.log_text()
    assert daemon.stop() == 0


def keys_of_new_digests(daemon: Daemon, seen: int) -> list[set[str]]:
    digests = sorted(daemon.project.outbox.glob("*.json"))[seen:]
    return [set(json.loads(path.read_text(encoding="utf-8"))) for path in digests]


def test_template_edits_are_applied(daemon: Daemon) -> None:
    folder = daemon.project.root / "templates"
    folder.mkdir()
    template = folder / "digest.json"
    template.write_text('{"titles": {{ digest["items"] | length }}}\n', encoding="utf-8")
    config = daemon.project.config
    text = config.read_text(encoding="utf-8") + "    template: templates\n"
    config.write_text(text, encoding="utf-8")  # a new setting: the daemon restarts
    wait_for(lambda: "config changed: restarting" in daemon.log_text(), "the restart")
    (daemon.project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: keys_of_new_digests(daemon, 1) == [{"titles"}], "the template's digest")
    template.write_text('{"count": {{ digest["items"] | length }}}\n', encoding="utf-8")
    wait_for(lambda: "rules reloaded" in daemon.log_text(), "the template reload")
    (daemon.project.inbox / "again.txt").write_text(TALKS.replace("talks.", "more talks."), "utf-8")
    wait_for(lambda: keys_of_new_digests(daemon, 2) == [{"count"}], "the edited template's")
    assert daemon.stop() == 0


def test_a_channel_added_while_running_gets_what_matches_from_then_on(daemon: Daemon) -> None:
    config = daemon.project.config
    extra = "  extra:\n    type: file\n    path: extra-out/\n    schedule: every 1s\n"
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    wait_for(lambda: "config changed: restarting" in daemon.log_text(), "the restart")
    wait_for(lambda: daemon.log_text().count("watching") == 2, "the watchers again")
    (daemon.project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    extra_out = daemon.project.root / "extra-out"
    wait_for(lambda: list(extra_out.glob("*.json")), "the new channel's digest")
    (digest,) = (json.loads(p.read_text(encoding="utf-8")) for p in extra_out.glob("*.json"))
    assert [item["article"]["title"] for item in digest["items"]] == ["Putin and Xi hold talks"]
    assert daemon.stop() == 0


def test_a_template_edit_that_fails_is_refused(daemon: Daemon) -> None:
    folder = daemon.project.root / "templates"
    folder.mkdir()
    (folder / "subject.txt").write_text("News\n", encoding="utf-8")
    config = daemon.project.config
    config.write_text(config.read_text(encoding="utf-8") + "    template: templates\n", "utf-8")
    wait_for(lambda: daemon.log_text().count("watching") == 2, "the restart")
    (folder / "subject.txt").write_text('{{ "%d" | format("x") }}\n', encoding="utf-8")
    wait_for(lambda: "edit not applied" in daemon.log_text(), "the refusal")
    assert f"{folder / 'subject.txt'}:1: channels.local.template: TypeError" in daemon.log_text()
    (daemon.project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: rules_of(daemon, "Putin and Xi hold talks"), "a digest, still")
    assert daemon.stop() == 0


def test_a_new_state_file_needs_a_restart(daemon: Daemon) -> None:
    config = daemon.project.config
    text = config.read_text(encoding="utf-8").replace("var/wirewatch.db", "var/other.db")
    config.write_text(text, encoding="utf-8")
    wait_for(lambda: "state: edit not applied while running" in daemon.log_text(), "the refusal")
    (daemon.project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: rules_of(daemon, "Putin and Xi hold talks"), "a digest, still")
    assert len(daemon.project.digests()) == 2  # the seeds were not sent again
    assert not (daemon.project.root / "var" / "other.db").exists()
    assert daemon.stop() == 0


def test_a_rule_file_emptied_is_refused_and_its_rules_keep_matching(daemon: Daemon) -> None:
    rules = daemon.project.root / "rules" / "china-russia.yaml"
    rules.write_text("", encoding="utf-8")  # saved empty, or an editor that stopped halfway
    wait_for(lambda: "edit not applied" in daemon.log_text(), "the refusal")
    assert f'{rules}: no rules — write "rules: []" to mean none' in daemon.log_text()
    (daemon.project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    wait_for(lambda: rules_of(daemon, "Putin and Xi hold talks"), "a match of the old rules")
    assert rules_of(daemon, "Putin and Xi hold talks") == {"xi-putin-contacts"}
    assert "0 rules" not in daemon.log_text()
    assert daemon.stop() == 0


def test_a_rule_file_truncated_then_written_is_applied_once_written(tmp_path: Path) -> None:
    project = make_project(tmp_path, schedule="every 1s")
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(config.replace("settle_seconds: 0.5", "settle_seconds: 3"), "utf-8")
    daemon = Daemon(project)
    daemon.start()
    wait_for(project.digests, "the seeds' digest")
    rules = project.root / "rules" / "china-russia.yaml"
    saved = rules.read_text(encoding="utf-8")
    rules.write_text("", encoding="utf-8")  # the editor truncates the file...
    (project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")  # an article comes...
    time.sleep(1)  # ...and writes a moment later: longer than a burst of events, within settling
    rules.write_text(saved, encoding="utf-8")
    wait_for(lambda: "rules reloaded: 7 rules" in daemon.log_text(), "the reload")
    wait_for(lambda: rules_of(daemon, "Putin and Xi hold talks"), "the article's match")
    assert rules_of(daemon, "Putin and Xi hold talks") == {"xi-putin-contacts"}
    assert "0 rules" not in daemon.log_text()
    assert "edit not applied" not in daemon.log_text()  # the empty file was never read
    assert daemon.stop() == 0


def test_an_article_that_came_while_its_rule_was_missing_is_sent_once_it_is_added(
    daemon: Daemon,
) -> None:
    (daemon.project.inbox / "arctic.txt").write_text(ARCTIC, encoding="utf-8")
    wait_for(lambda: daemon.articles("arctic.txt"), "the arctic article")
    rules = daemon.project.root / "rules" / "china-russia.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + NEW_RULE, encoding="utf-8")
    wait_for(lambda: rules_of(daemon, "Arctic cargo"), "the new rule's match of it")
    assert rules_of(daemon, "Arctic cargo") == {"arctic-shipping"}
    assert "rules added or changed (arctic-shipping)" in daemon.log_text()
    widened = rules.read_text(encoding="utf-8").replace('"Northern Sea Route"', "Arctic, cargo")
    rules.write_text(widened, encoding="utf-8")  # changed: matched again, nothing new
    wait_for(lambda: "0 new matches" in daemon.log_text(), "the second look back")
    (daemon.project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")  # a digest after
    wait_for(lambda: rules_of(daemon, "Putin and Xi hold talks"), "the next digest")
    assert daemon.digested("Arctic cargo") == 1  # matched, and sent, once
    assert daemon.stop() == 0
