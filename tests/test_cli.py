"""The commands end to end, in-process, on a temporary copy of the seeds and rules."""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import (
    SEED_TITLES,
    Daemon,
    Project,
    make_project,
    titles_by_rule,
    titles_in,
)
from worker.cli import _parser, ingest_into, main
from worker.deliver.outcome import Outcome
from worker.ingest.formats import parse_file
from worker.ingest.ingestor import Ingested
from worker.model import Delivery, RawArticle
from worker.pipeline import load_setup, open_pipeline
from worker.status import FAILURES_SHOWN
from worker.store import open_store

NEW_ARTICLE = """\
 date 2024-05-16 Putin and Xi hold talks in Beijing

Russian President Vladimir Putin met Chinese President Xi Jinping in Beijing on Thursday.
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def wirewatch(project: Project, *args: str) -> int:
    return main([args[0], "-c", str(project.config), *args[1:]])


def test_run_once_writes_a_digest_of_the_seeds(project: Project) -> None:
    assert wirewatch(project, "run", "--once") == 0
    (digest,) = project.digests()
    assert digest["counts"]["articles"] == 5
    by_rule = titles_by_rule(digest)
    assert SEED_TITLES["001_d9422b366859b37e.txt"] in by_rule["xi-putin-contacts"]
    assert SEED_TITLES["001_d9422b366859b37e.txt"] in by_rule["sco-brics"]
    assert SEED_TITLES["003_1a328842afac22b4.txt"] in by_rule["strategic-partnership"]
    assert any(
        t.startswith("Chinese State Councilor") for t in by_rule["foreign-minister-contacts"]
    )
    assert any(
        t.startswith("China and Russia should stand firm") for t in by_rule["energy-cooperation"]
    )
    assert len(by_rule["xi-putin-contacts"]) == 4  # every seed with Xi and Putin in contact
    # the text and HTML forms sit beside the JSON
    assert len(list(project.outbox.glob("*.txt"))) == 1
    assert len(list(project.outbox.glob("*.html"))) == 1


def test_second_run_sends_nothing_new(project: Project) -> None:
    assert wirewatch(project, "run", "--once") == 0
    assert wirewatch(project, "run", "--once") == 0
    assert len(project.digests()) == 1


def test_next_digest_carries_only_the_new_article(project: Project) -> None:
    wirewatch(project, "run", "--once")
    (project.inbox / "talks.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    wirewatch(project, "run", "--once")
    first, second = project.digests()
    assert [item["article"]["title"] for item in second["items"]] == [
        "Putin and Xi hold talks in Beijing"
    ]
    assert second["digest_id"] != first["digest_id"]


def test_same_article_under_two_names_is_one_article(project: Project) -> None:
    wirewatch(project, "run", "--once")
    seed = project.root / "seeds" / "001_d9422b366859b37e.txt"
    (project.inbox / "copy.txt").write_bytes(seed.read_bytes())
    wirewatch(project, "run", "--once")
    assert len(project.digests()) == 1


def test_status_json_counts_and_failures(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    (project.inbox / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    wirewatch(project, "run", "--once")
    capsys.readouterr()
    assert wirewatch(project, "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["articles"] == {"ingested": 5, "failed": 1}
    assert status["failures"] == [
        {"path": str(project.inbox / "broken.txt"), "reason": "binary file"}
    ]
    assert status["matches"] >= 5
    local = status["channels"]["local"]
    assert local["pending"] == 0
    assert local["sent"] == 1
    assert local["dead"] == 0
    assert local["last_sent"] is not None


def test_status_text_shows_times_in_the_config_time_zone(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    wirewatch(project, "run", "--once")
    capsys.readouterr()
    wirewatch(project, "status", "--json")
    sent = datetime.fromisoformat(
        json.loads(capsys.readouterr().out)["channels"]["local"]["last_sent"]
    )
    wirewatch(project, "status")
    berlin = sent.astimezone(ZoneInfo("Europe/Berlin"))  # the project's timezone
    shown = berlin.strftime("%Y-%m-%d %H:%M %Z")
    assert f"1 digest sent, 0 dead, last sent {shown}\n" in capsys.readouterr().out


def test_status_text_before_any_run(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert wirewatch(project, "status") == 0
    out = capsys.readouterr().out
    assert "articles: 0 ingested, 0 failed files" in out
    assert "channel local: 0 matches pending, 0 digests sent, 0 dead, last sent never" in out


def test_status_shows_the_state_while_a_rule_file_has_a_mistake(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "run", "--once") == 0
    broken = project.root / "rules" / "broken.yaml"
    broken.write_text("rules:\n  - id: b\n    query: '(Arctic'\n", encoding="utf-8")
    capsys.readouterr()
    assert wirewatch(project, "status", "--json") == 2  # the mistake is not hidden
    out, err = capsys.readouterr()
    assert json.loads(out)["articles"]["ingested"] == 5
    assert json.loads(out)["rules"] is None
    assert err.startswith(f"{broken}:3: rules[0].query: column ")
    assert "the rules are not read, for the mistakes above; the state as it is:" in err
    (project.root / "config.yaml").write_text("state: [\n", encoding="utf-8")
    assert wirewatch(project, "status") == 2
    out, err = capsys.readouterr()
    assert out == ""  # with the config unread, which state is not known
    assert "state as it is" not in err


def test_ingest_backfills_without_sending(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    (archive / ".hidden").mkdir(parents=True)
    (archive / "talks.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    # Hidden files are ones still being written, to be renamed in: left alone, as the
    # watcher leaves them.
    (archive / ".talks.txt.part").write_text(NEW_ARTICLE[:40], encoding="utf-8")
    (archive / ".incoming.txt").write_text(NEW_ARTICLE[:40], encoding="utf-8")
    (archive / ".hidden" / "copy.txt").write_text(NEW_ARTICLE[:40], encoding="utf-8")
    assert wirewatch(project, "ingest", str(archive)) == 0
    assert "1 file: 1 new article, 1 matched" in capsys.readouterr().out
    assert project.digests() == []
    wirewatch(project, "status", "--json")
    status = json.loads(capsys.readouterr().out)
    assert status["channels"]["local"]["pending"] == 1  # its xi-putin-contacts match


def test_ingest_names_a_missing_path(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "ingest", str(tmp_path / "nowhere")) == 1
    assert f"{tmp_path / 'nowhere'}: no such file or folder" in capsys.readouterr().err


def test_check_accepts_the_default_project(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(repo)
    assert main(["check"]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_reports_a_mistake_in_one_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = project.config.read_text(encoding="utf-8").replace("timezone:", "time_zone:")
    project.config.write_text(text, encoding="utf-8")
    assert wirewatch(project, "check") == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"{project.config}:2: time_zone: unknown key 'time_zone'; did you mean 'timezone'?"
    )


def test_check_and_every_command_refuse_a_state_wirewatch_cannot_use(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = project.config.read_text(encoding="utf-8")
    project.config.write_text(text.replace("var/wirewatch.db", "mysql://db/news"), "utf-8")
    expected = (
        f"{project.config}:1: state: 'mysql://' is not a state wirewatch can use;"
        " use a file path or sqlite://, postgresql://, postgres://"
    )
    assert wirewatch(project, "check") == 1
    assert capsys.readouterr().err.strip() == expected
    assert wirewatch(project, "status") == 2
    assert capsys.readouterr().err.strip() == expected


def test_check_refuses_an_emptied_rule_file(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    emptied = project.root / "rules" / "china-russia.yaml"
    emptied.write_text("", encoding="utf-8")  # as an editor leaves it halfway through a save
    assert wirewatch(project, "check") == 1
    assert capsys.readouterr().err.strip() == (
        f'{emptied}: no rules — write "rules: []" to mean none'
    )


def test_check_reports_config_rule_and_template_mistakes_at_once(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = project.root / "rules" / "extra.yaml"
    rules.write_text("rules:\n  - id: extra\n    colour: red\n", encoding="utf-8")
    config = project.config.read_text(encoding="utf-8").replace("timezone:", "time_zone:")
    project.config.write_text(config, encoding="utf-8")
    assert wirewatch(project, "check") == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{project.config}:2: time_zone: unknown key 'time_zone'; did you mean 'timezone'?",
        f"{rules}:3: rules[0].colour: unknown key 'colour'",
    ]
    (project.root / "templates").mkdir()
    (project.root / "templates" / "subject.txt").write_text("{{ digest.nope }}", "utf-8")
    project.config.write_text(
        config.replace("time_zone:", "timezone:") + "    template: templates\n"
    )
    assert wirewatch(project, "check") == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1] for line in err] == ["rules[0].colour", "channels.local.template"]


def test_digest_dry_run_prints_and_marks_nothing(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    wirewatch(project, "ingest", str(project.root / "seeds"))
    capsys.readouterr()
    assert wirewatch(project, "digest", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("5 articles matched on local")
    assert SEED_TITLES["001_d9422b366859b37e.txt"] in out
    assert project.digests() == []
    assert wirewatch(project, "digest", "local", "--dry-run", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["counts"]["articles"] == 5


def test_dry_run_json_of_two_channels_is_a_document_a_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(
        config + "  copy:\n    type: file\n    path: outbox-copy\n", encoding="utf-8"
    )
    wirewatch(project, "ingest", str(project.root / "seeds"))
    capsys.readouterr()
    assert wirewatch(project, "digest", "--dry-run", "--format", "json") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["channel"] for line in lines] == ["local", "copy"]


def test_format_without_dry_run_sends_nothing(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    wirewatch(project, "ingest", str(project.root / "seeds"))
    with pytest.raises(SystemExit) as exited:
        wirewatch(project, "digest", "--format", "json")
    assert exited.value.code == 2
    assert "--format shapes what --dry-run prints; add --dry-run" in capsys.readouterr().err
    assert project.digests() == []


def test_digest_sends_now(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    wirewatch(project, "ingest", str(project.root / "seeds"))
    capsys.readouterr()
    assert wirewatch(project, "digest") == 0
    assert capsys.readouterr().out == "channel local: 1 digest sent\n"
    assert len(project.digests()) == 1
    assert wirewatch(project, "digest", "local") == 0
    assert capsys.readouterr().out == "channel local: nothing new to send\n"


def test_digest_names_an_unknown_channel(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "digest", "mail") == 2
    assert capsys.readouterr().err == f"{project.config}: unknown channel 'mail'; known: local\n"


def test_a_dead_digest_is_shown_and_sent_again(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = project.config.read_text(encoding="utf-8")
    retry = "    retry: {delays: [1s], give_up_after: 0.3s}\n"
    project.config.write_text(text + retry, encoding="utf-8")
    project.outbox.write_text("a file where the folder should be", encoding="utf-8")
    assert wirewatch(project, "run", "--once") == 1  # its last try: when the window closes
    time.sleep(0.4)  # past the channel's give_up_after
    assert wirewatch(project, "run", "--once") == 1  # the last try fails too: given up
    capsys.readouterr()
    wirewatch(project, "status", "--json")
    local = json.loads(capsys.readouterr().out)["channels"]["local"]
    assert (local["dead"], local["sent"], local["retrying"]) == (1, 0, 0)
    assert local["last_error"] == (
        f"cannot write to {project.outbox}: it is a file, not a folder; move it, or give the"
        " channel another path"
    )
    wirewatch(project, "status")
    assert "'wirewatch digest --retry-dead local' sends the dead digests again" in (
        capsys.readouterr().out
    )
    project.outbox.unlink()
    assert wirewatch(project, "digest", "--retry-dead") == 0
    assert capsys.readouterr().out == (
        "channel local: 1 dead digest due again\nchannel local: 1 digest sent\n"
    )
    (digest,) = project.digests()
    assert digest["counts"]["articles"] == 5


def test_a_state_file_that_is_not_a_database_is_one_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    state = project.root / "var" / "wirewatch.db"
    state.parent.mkdir()
    state.write_text("notes", encoding="utf-8")
    assert wirewatch(project, "status") == 2
    assert capsys.readouterr().err == (
        f"{project.config}:1: state: {state}: cannot be used as the state file:"
        " file is not a database\n"
    )


def test_a_second_daemon_on_the_same_state_file_refuses_to_start(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = Daemon(project)
    daemon.start()
    command = [sys.executable, "-m", "worker", "run", "-c", str(project.config)]
    second = subprocess.run(command, capture_output=True, timeout=30, check=False)
    assert second.returncode == 2
    assert second.stderr.decode() == (
        f"{project.config}:1: state: {project.root / 'var' / 'wirewatch.db'}: another"
        " 'wirewatch run' already uses this state file; stop it first, or give this config"
        " a state file of its own\n"
    )
    assert wirewatch(project, "status") == 0  # the other commands run alongside
    assert wirewatch(project, "digest") == 0
    assert daemon.stop() == 0
    daemon.start()  # the lock went with the first daemon
    assert daemon.stop() == 0


def test_output_cut_short_by_its_reader_is_no_error(project: Project) -> None:
    wirewatch(project, "ingest", str(project.root / "seeds"))
    command = [sys.executable, "-m", "worker", "digest", "--dry-run", "-c", str(project.config)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        process.stdout.readline()  # like `| head -1`
        process.stdout.close()
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert b"Traceback" not in err


def test_match_says_which_rules_match_and_why(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = project.root / "seeds" / "001_d9422b366859b37e.txt"
    assert wirewatch(project, "match", str(seed)) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [
        str(seed),
        f"  {SEED_TITLES[seed.name]} (2024-07-04, article {_article_id(seed)})",
        "  ✓ xi-putin-contacts  Xi–Putin contacts",
    ]
    assert "✓ participants.all: xi, putin — found Xi, President Xi Jinping" in out
    assert "[peace talks]" in out
    assert project.digests() == []  # a dry run: nothing stored, nothing sent
    assert not (project.root / "var").exists()


def test_match_tells_what_it_had_to_guess(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = tmp_path / "talks.txt"
    article.write_text(NEW_ARTICLE.replace(" date 2024-05-16", " date 2024-02-30"), "utf-8")
    assert wirewatch(project, "match", str(article)) == 0
    assert capsys.readouterr().err == (
        f"{article}: date '2024-02-30' is not a date like 2024-05-16; the file's date is used\n"
    )


def test_match_json_has_the_documented_shape(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "match", str(project.root / "seeds"), "--json") == 0
    reports = json.loads(capsys.readouterr().out)
    assert len(reports) == 5
    first = reports[1]
    assert set(first) >= {"path", "article", "matches"}
    assert set(first["article"]) == {"id", "title", "date"}
    rules = [match["rule"] for match in first["matches"]]
    assert rules == [
        "xi-putin-contacts",
        "sco-brics",
        "ukraine-settlement",
        "strategic-partnership",
    ]
    hit = first["matches"][0]["hits"][0]
    assert set(hit) >= {"term", "field", "start", "end"}
    text = first["article"]["title"] if hit["field"] == "title" else None
    assert text is None or text[hit["start"] : hit["end"]] == hit["text"]


def test_match_one_rule_says_which_condition_failed(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = project.root / "seeds" / "000_e87f8abe83e54d3e.txt"
    assert wirewatch(project, "match", str(seed), "--rule", "ukraine-settlement") == 0
    assert capsys.readouterr().out.splitlines()[2:] == [
        "  ✗ ukraine-settlement  Ukraine settlement: does not match",
        "      ✓ since 2022-01-01 — the article is dated 2022-08-06",
        "      ✗ Ukraine — not found",
        '      ✗ ("peace talks" OR "political settlement" OR "political resolution" OR n… '
        "— none found",
    ]


def test_match_an_unknown_rule_or_file(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = str(project.root / "seeds")
    assert wirewatch(project, "match", seed, "--rule", "nope") == 2
    assert capsys.readouterr().err.startswith("unknown rule 'nope'; known: energy-cooperation, ")
    assert wirewatch(project, "match", str(tmp_path / "nowhere.txt")) == 1
    assert f"{tmp_path / 'nowhere.txt'}: no such file or folder" in capsys.readouterr().err


def test_ingest_rematch_keeps_new_matches_only(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "run", "--once") == 0
    (sent,) = project.digests()
    rules = project.root / "rules" / "china-russia.yaml"
    new_rule = "\n  - id: taiwan\n    title: Taiwan\n    query: 'Taiwan OR \"One-China\"'\n"
    rules.write_text(rules.read_text(encoding="utf-8") + new_rule, encoding="utf-8")
    capsys.readouterr()
    assert wirewatch(project, "ingest", "--rematch") == 0
    assert "5 stored articles matched again: 1 new match" in capsys.readouterr().out
    assert wirewatch(project, "ingest", "--rematch") == 0
    assert "5 stored articles matched again: 0 new matches" in capsys.readouterr().out
    assert wirewatch(project, "run", "--once") == 0
    first, second = project.digests()
    assert first == sent
    # the next digest carries the new match only: nothing already sent is sent again
    assert [item["rule"] for item in second["items"]] == ["taiwan"]


def test_ingest_needs_a_path_or_rematch(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "ingest") == 2
    assert "give a PATH to ingest, or --rematch" in capsys.readouterr().err


def _article_id(seed: Path) -> str:
    (article,) = parse_file(str(seed), seed.read_bytes(), date(2026, 1, 1)).articles
    return article.id


def test_widening_a_channels_rules_does_not_send_the_history(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(config + "    rules: [kremlin-readouts]\n", encoding="utf-8")
    assert wirewatch(project, "run", "--once") == 0
    (first,) = project.digests()
    assert [item["rule"] for item in first["items"]] == ["kremlin-readouts"]
    project.config.write_text(config, encoding="utf-8")  # now every rule
    assert wirewatch(project, "run", "--once") == 0
    assert len(project.digests()) == 1  # the other rules' old matches are not sent
    (project.inbox / "talks.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert wirewatch(project, "run", "--once") == 0
    _, second = project.digests()
    assert [item["rule"] for item in second["items"]] == ["xi-putin-contacts"]


def test_a_channel_taken_out_keeps_showing_what_it_did_not_send(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project.config.read_text(encoding="utf-8")
    extra = "  mirror:\n    type: file\n    path: mirror\n    retry: {give_up_after: 1s}\n"
    project.config.write_text(config + extra, encoding="utf-8")
    (project.root / "mirror").write_text("a file where the folder should be", encoding="utf-8")
    assert wirewatch(project, "run", "--once") == 1
    project.config.write_text(config, encoding="utf-8")
    capsys.readouterr()
    wirewatch(project, "status", "--json")
    mirror = json.loads(capsys.readouterr().out)["channels"]["mirror"]
    assert (mirror["configured"], mirror["dead"] + mirror["retrying"]) == (False, 1)
    wirewatch(project, "status")
    assert "no longer in the config: put it back to send what it has not sent" in (
        capsys.readouterr().out
    )


def test_run_once_sends_a_backlog_as_one_digest_and_matches_lists_all_of_it(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(config + "    max_items: 3\n", encoding="utf-8")
    assert wirewatch(project, "run", "--once") == 0
    (digest,) = project.digests()
    # 3 matches listed (as stories: an article of several rules is one entry), 12 counted
    assert len(digest["items"]) <= 3
    assert digest["counts"]["matches"] == 3
    assert (digest["more"]["count"], sum(digest["more"]["by_rule"].values())) == (12, 12)
    assert wirewatch(project, "run", "--once") == 0
    assert len(project.digests()) == 1  # the rest went out counted: never sent again
    capsys.readouterr()
    assert wirewatch(project, "matches", "--digest", digest["digest_id"], "--json") == 0
    held = json.loads(capsys.readouterr().out)
    assert len(held) == 15
    listed = {(i["article"]["id"], r) for i in digest["items"] for r in i["rules"]}
    assert listed <= {(m["article"]["id"], m["rule"]) for m in held}
    assert wirewatch(project, "matches", "--rule", "sco-brics", "--since", "1d") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines
    assert all("  sco-brics  " in line for line in lines)
    assert wirewatch(project, "matches", "--digest", "no-such-digest") == 1
    told = capsys.readouterr()
    assert told.out == ""
    assert told.err.startswith("wirewatch matches: no-such-digest: no such digest")
    wirewatch(project, "status", "--json")
    local = json.loads(capsys.readouterr().out)["channels"]["local"]
    assert (local["pending"], local["sent"], local["dead"]) == (0, 1, 0)


def test_ingest_no_digest_stores_and_matches_a_backfill_that_no_digest_sends(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "talks.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert wirewatch(project, "ingest", "--no-digest", str(archive)) == 0
    assert "1 file: 1 new article, 1 matched" in capsys.readouterr().out
    assert wirewatch(project, "digest") == 0
    assert "channel local: nothing new to send" in capsys.readouterr().out
    assert project.digests() == []
    assert wirewatch(project, "matches", "--json") == 0
    (stored,) = json.loads(capsys.readouterr().out)
    assert (stored["rule"], stored["article"]["title"]) == (
        "xi-putin-contacts",
        "Putin and Xi hold talks in Beijing",
    )


def test_a_feed_line_nested_too_deeply_fails_alone(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = project.inbox / "feed.jsonl"
    deep = '{"title": "Deep", "body": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [json.dumps({"title": "Gas talks", "body": "Putin met Xi.\u2028Gas."}), deep]
    feed.write_text("\n".join([*lines, json.dumps({"title": "Oil", "body": "Oil."})]), "utf-8")
    assert wirewatch(project, "ingest", str(feed)) == 0
    assert "1 file: 2 new articles" in capsys.readouterr().out
    wirewatch(project, "status", "--json")
    (failure,) = json.loads(capsys.readouterr().out)["failures"]
    assert failure == {
        "path": str(feed),
        "reason": "line 2: JSON nested too deeply; an article is one object of texts",
    }


def test_version_from_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"wirewatch {version('wirewatch')}\n"


def _commands() -> list[str]:
    [commands] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return list(commands.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_prints_its_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: wirewatch {command} ")


def test_the_log_level_is_taken_before_or_after_the_command(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "talks.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    (tmp_path / "rain.txt").write_text("Rain\n\nRain fell all day.\n", encoding="utf-8")
    assert main(["-q", "ingest", "-c", str(project.config), str(tmp_path / "talks.txt")]) == 0
    assert capsys.readouterr().err == ""  # its match is an INFO line
    assert wirewatch(project, "ingest", str(tmp_path / "rain.txt"), "-v") == 0
    assert "DEBUG   " in capsys.readouterr().err
    assert wirewatch(project, "check", "--log-format", "json") == 0  # any command takes it


def test_ingest_logs_json_lines_with_fields(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    talks = tmp_path / "talks.txt"
    talks.write_text(NEW_ARTICLE, encoding="utf-8")
    assert main(["--log-format", "json", "ingest", "-c", str(project.config), str(talks)]) == 0
    (line,) = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert (line["event"], line["path"], line["rule"]) == (
        "article.matched",
        str(talks),
        ["xi-putin-contacts"],
    )


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["stauts"], "did you mean 'status'?"),
        (["digest", "locl"], "known: local; did you mean 'local'?"),
        (["match", "seeds", "--rule", "xi-putn-contacts"], "did you mean 'xi-putin-contacts'?"),
    ],
)
def test_a_mistyped_command_channel_or_rule_is_named(
    project: Project, args: list[str], told: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = wirewatch(project, *args)
    except SystemExit as refused:  # argparse, for a command
        code = refused.code
    assert code == 2
    assert capsys.readouterr().err.rstrip().endswith(told)


def test_status_lists_the_first_failures_and_all_on_asking(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(FAILURES_SHOWN + 3):
        (project.inbox / f"scan-{n:02}.txt").write_bytes(b"\x00\x01binary")
    wirewatch(project, "ingest", str(project.inbox))
    capsys.readouterr()
    wirewatch(project, "status")
    shown = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("  failed: ") for line in shown) == FAILURES_SHOWN
    assert "  … and 3 more; wirewatch status --all lists them" in shown
    wirewatch(project, "status", "--all")
    assert capsys.readouterr().out.count("  failed: ") == FAILURES_SHOWN + 3
    wirewatch(project, "status", "--json")
    assert len(json.loads(capsys.readouterr().out)["failures"]) == FAILURES_SHOWN + 3


def test_ingest_counts_what_it_already_knew(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "a-talks.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    wirewatch(project, "ingest", str(archive))
    (archive / "b-copy.txt").write_text(NEW_ARTICLE, encoding="utf-8")  # the same article
    (archive / "c-rain.txt").write_text("Rain\n\nRain fell all day.\n", encoding="utf-8")
    capsys.readouterr()
    assert wirewatch(project, "ingest", str(archive)) == 0
    assert capsys.readouterr().out == (
        "3 files: 1 new article, 1 already known, 0 matched, 1 file unchanged since ingested\n"
    )


def test_a_file_whose_statement_fails_undoes_its_batch_and_the_others_are_stored_alone(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    for n in range(5):
        title = "Poison" if n == 2 else f"Rain {n}"
        (archive / f"{n}.txt").write_text(f"{title}\n\nRain fell all day, {n}.\n", "utf-8")
    state = project.root / "var" / "wirewatch.db"
    open_store(str(state)).close()
    with sqlite3.connect(state) as db:  # a statement that fails for one article only
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.title = 'Poison'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    assert wirewatch(project, "ingest", str(archive)) == 0
    told = capsys.readouterr()
    assert told.out == "5 files: 4 new articles, 0 matched, 1 failed (see wirewatch status)\n"
    assert told.err.count("could not be ingested") == 1  # said once, of its file alone
    assert "2.txt: could not be ingested" in told.err
    assert wirewatch(project, "status", "--json") == 0
    (failure,) = json.loads(capsys.readouterr().out)["failures"]
    assert failure["path"] == str(archive / "2.txt")
    assert "refused" in failure["reason"]


class _Counted:
    """What /metrics is told of each file ingested (a Tally)."""

    def __init__(self) -> None:
        self.files = Counter[str]()

    def ingested(self, raw: RawArticle, outcome: Ingested) -> None:
        self.files[raw.uri] += 1

    def unread(self, path: str) -> None:
        """Not counted here."""

    def attempted(self, delivery: Delivery, outcome: Outcome) -> None:
        """Not counted here."""


def test_a_batch_undone_and_redone_file_by_file_counts_each_file_once(
    project: Project, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    for n in range(5):
        (archive / f"{n}.txt").write_text(f"Gas talks {n}\n\nGas and oil, {n}.\n", "utf-8")
    lines = [{"title": "Poison", "body": "Gas."}, {"title": "Gas again", "body": "Gas."}]
    (archive / "5.jsonl").write_text("\n".join(map(json.dumps, lines)), encoding="utf-8")
    state = project.root / "var" / "wirewatch.db"
    open_store(str(state)).close()
    # One article of the .jsonl refused: the file stores the other, but its batch is
    # undone (a statement failed) and redone file by file.
    with sqlite3.connect(state) as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.title = 'Poison'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    counted = _Counted()
    with open_pipeline(load_setup(project.config, {}), tally=counted) as pipeline:
        ingest_into(pipeline, sorted(archive.iterdir()))
    assert counted.files == {str(path): 1 for path in archive.iterdir()}


def test_a_start_whose_batch_fails_for_one_file_stores_and_sends_all_the_others(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(6):
        title = "Poison talks" if n == 2 else f"Putin and Xi hold talks, round {n}"
        body = NEW_ARTICLE.replace("Putin and Xi hold talks in Beijing", title)
        (project.inbox / f"{n}.txt").write_text(body.replace("Thursday", f"day {n}"), "utf-8")
    state = project.root / "var" / "wirewatch.db"
    open_store(str(state)).close()
    with sqlite3.connect(state) as db:  # statements that fail for one file each
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON articles WHEN NEW.title = 'Poison talks'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        db.execute(
            "CREATE TRIGGER unrecorded BEFORE INSERT ON files WHEN NEW.path LIKE '%/4.txt'"
            " BEGIN SELECT RAISE(ABORT, 'no record'); END"
        )
    assert wirewatch(project, "run", "--once") == 0
    told = capsys.readouterr().err
    assert told.count("could not be ingested") == 1  # said once, of its file alone
    assert "2.txt: could not be ingested" in told
    assert told.count("not recorded") == 1
    assert "4.txt: not recorded" in told
    (digest,) = project.digests()
    sent = titles_in(digest)
    assert {f"Putin and Xi hold talks, round {n}" for n in (0, 1, 3, 4, 5)} <= set(sent)
    assert "Poison talks" not in sent
    assert wirewatch(project, "status", "--json") == 0
    (failure,) = json.loads(capsys.readouterr().out)["failures"]
    assert failure["path"] == str(project.inbox / "2.txt")
    assert "refused" in failure["reason"]


@pytest.mark.parametrize("command", ["run", "ingest"])
def test_a_lone_new_file_whose_record_fails_is_said_and_nothing_stops(
    project: Project, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert wirewatch(project, "run", "--once") == 0  # the seeds, stored and sent
    (project.inbox / "4.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    with sqlite3.connect(project.root / "var" / "wirewatch.db") as db:
        db.execute(
            "CREATE TRIGGER unrecorded BEFORE INSERT ON files WHEN NEW.path LIKE '%/4.txt'"
            " BEGIN SELECT RAISE(ABORT, 'no record'); END"
        )
    capsys.readouterr()
    args = ["--once"] if command == "run" else [str(project.inbox)]
    assert wirewatch(project, command, *args) == 0  # a batch of one file, refused alone
    told = capsys.readouterr().err
    assert "4.txt: not recorded" in told or "4.txt: not ingested: " in told


def test_a_folder_that_does_not_alert_on_its_archive_alerts_on_what_arrives_later(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project.config.read_text(encoding="utf-8")
    quiet = config.replace("  - path: inbox\n", "  - path: inbox\n    alert_existing: false\n")
    project.config.write_text(quiet, encoding="utf-8")
    (project.inbox / "talks.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert wirewatch(project, "run", "--once") == 0
    (first,) = project.digests()  # the seeds alert still: the first digest appears
    titles = {item["article"]["title"] for item in first["items"]}
    assert "Putin and Xi hold talks in Beijing" not in titles
    capsys.readouterr()
    wirewatch(project, "matches", "--json")
    stored = {m["article"]["title"] for m in json.loads(capsys.readouterr().out)}
    assert "Putin and Xi hold talks in Beijing" in stored  # stored and matched all the same
    later = NEW_ARTICLE.replace("Thursday", "Friday").replace("hold talks", "meet again")
    (project.inbox / "later.txt").write_text(later, encoding="utf-8")
    assert wirewatch(project, "run", "--once") == 0
    _, second = project.digests()
    assert [item["article"]["title"] for item in second["items"]] == [
        "Putin and Xi meet again in Beijing"
    ]
