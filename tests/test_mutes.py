"""`wirewatch mute`, `unmute`, `mutes` and `matches` end to end, and a running daemon
honouring a mute made by another process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SEED_TITLES, Daemon, Project, make_project, wait_for
from worker.cli import main

pytestmark = pytest.mark.timeout(180)

TALKS = " date 2024-05-16 Putin and Xi hold talks\n\nVladimir Putin met Xi Jinping for talks.\n"
PIPELINE = (
    " date 2024-05-16 Pipeline deal signed in Beijing\n\n"
    "Chinese President Xi Jinping hosted talks on Thursday.\n\n"
    "China and Russia discussed the Power of Siberia 2 pipeline.\n\n"
    "Russian President Vladimir Putin said the meeting was productive.\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def wirewatch(project: Project, *args: str) -> int:
    return main([args[0], "-c", str(project.config), *args[1:]])


def as_json(project: Project, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert wirewatch(project, *args, "--json") == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("target", "told"),
    [
        ("rule:xi-putin-contact",
         "unknown rule 'xi-putin-contact'; did you mean 'xi-putin-contacts'?"),
        ("participant:putn", "unknown participant 'putn'; did you mean 'putin'?"),
        ("channel:nowhere", "unknown channel 'nowhere'; known: local"),
        ("putin", "'putin' is not a mute target; give rule:ID, participant:ID or channel:NAME"),
    ],
)  # fmt: skip
def test_a_bad_target_is_refused_in_one_line(
    project: Project, capsys: pytest.CaptureFixture[str], target: str, told: str
) -> None:
    assert wirewatch(project, "mute", target, "--for", "2h") == 2
    assert capsys.readouterr().err == f"wirewatch mute: {told}\n"
    assert wirewatch(project, "unmute", target) == 2
    assert as_json(project, capsys, "mutes") == []


def test_mutes_are_listed_shown_by_status_and_ended(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        wirewatch(project, "mute", "rule:xi-putin-contacts", "--for", "2h", "--reason", "noisy")
        == 0
    )
    said = capsys.readouterr().out
    assert said.startswith("#1 rule:xi-putin-contacts until ")
    assert "(noisy): matches dropped, muted by " in said
    assert wirewatch(project, "mute", "participant:putin", "--for", "1h", "--then", "deliver") == 0
    mutes = as_json(project, capsys, "mutes")
    assert [(m["target"], m["then"], m["reason"]) for m in mutes] == [
        ("participant:putin", "deliver", None),
        ("rule:xi-putin-contacts", "drop", "noisy"),
    ]
    assert mutes[0]["until"].endswith("+01:00")  # in the config's time zone (Europe/Berlin)
    assert wirewatch(project, "status") == 0
    status = capsys.readouterr().out
    assert "muted: rule:xi-putin-contacts until " in status
    assert " CET (noisy) [#1]" in status
    assert [m["target"] for m in as_json(project, capsys, "status")["mutes"]] == [
        "participant:putin",
        "rule:xi-putin-contacts",
    ]
    assert wirewatch(project, "unmute", "participant:putin") == 0
    assert wirewatch(project, "unmute", "#1") == 0
    assert as_json(project, capsys, "mutes") == []
    assert wirewatch(project, "unmute", "#1") == 1  # no longer on


def test_a_muted_rule_is_left_out_and_its_matches_listed(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wirewatch(project, "mute", "rule:xi-putin-contacts", "--for", "2h") == 0
    assert wirewatch(project, "run", "--once") == 0
    (digest,) = project.digests()
    assert "xi-putin-contacts" not in {item["rule"] for item in digest["items"]}
    muted = as_json(project, capsys, "matches", "--muted")
    assert len(muted) == 4  # every seed with Xi and Putin in contact
    assert {m["rule"] for m in muted} == {"xi-putin-contacts"}
    assert SEED_TITLES["001_d9422b366859b37e.txt"] in {m["article"]["title"] for m in muted}
    assert muted[0]["muted"] == [
        {"channel": "local", "mute": 1, "target": "rule:xi-putin-contacts", "then": "drop",
         "released": False}
    ]  # fmt: skip
    every = as_json(project, capsys, "matches", "--rule", "sco-brics")
    assert every
    assert all(m["muted"] == [] and m["rule"] == "sco-brics" for m in every)
    assert wirewatch(project, "matches", "--muted") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].endswith("[muted on local by rule:xi-putin-contacts: dropped]")
    assert wirewatch(project, "matches", "--rule", "sco-brik") == 2
    assert capsys.readouterr().err == (
        "wirewatch matches: unknown rule 'sco-brik'; did you mean 'sco-brics'?\n"
    )


def muted_titles(project: Project) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "worker", "matches", "--muted", "--json", "-c", str(project.config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {match["article"]["title"] for match in json.loads(done.stdout)}


def test_a_running_daemon_honours_a_mute_made_by_another_process(tmp_path: Path) -> None:
    daemon = Daemon(make_project(tmp_path, schedule="every 1s"))
    daemon.start()
    wait_for(lambda: daemon.project.digests(), "the seeds' digest")
    mute = [sys.executable, "-m", "worker", "mute", "rule:xi-putin-contacts", "--for", "1h"]
    subprocess.run([*mute, "-c", str(daemon.project.config)], check=True, timeout=60)
    (daemon.project.inbox / "talks.txt").write_text(TALKS, encoding="utf-8")
    (daemon.project.inbox / "pipeline.txt").write_text(PIPELINE, encoding="utf-8")
    wait_for(lambda: daemon.digested("Pipeline deal signed in Beijing"), "the pipeline article")
    wait_for(
        lambda: (
            {"Putin and Xi hold talks", "Pipeline deal signed in Beijing"}
            <= muted_titles(daemon.project)
        ),
        "both articles' xi-putin-contacts matches listed as muted",
    )
    latest = [item for digest in daemon.project.digests()[1:] for item in digest["items"]]
    assert [(i["article"]["title"], i["rule"]) for i in latest] == [
        ("Pipeline deal signed in Beijing", "energy-cooperation")
    ]
    assert daemon.stop() == 0
