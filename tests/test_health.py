"""The troubles of a running wirewatch: reported, probed, heard once per change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.helpers import make_project
from worker.daemon import forget_channels_gone
from worker.health import Change, Health
from worker.settings.config import load_config

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_a_reported_problem_is_listed_until_it_clears() -> None:
    clock = Clock()
    health = Health(clock)
    health.report("store", "storage full")
    clock.now += timedelta(minutes=5)
    health.report("store", "storage full")  # said again: still the same trouble, same start
    [trouble] = health.troubles()
    assert (trouble.part, trouble.problem, trouble.since) == ("store", "storage full", START)
    health.report("store", None)
    assert health.troubles() == []


def test_listeners_hear_each_change_once() -> None:
    health = Health(Clock())
    heard: list[Change] = []
    health.listen(heard.append)
    health.report("store", "storage full")
    health.report("store", "storage full")
    health.report("store", "the state file is gone")
    health.report("store", None)
    health.report("store", None)
    said = [(c.part, c.trouble.problem if c.trouble else None) for c in heard]
    assert said == [
        ("store", "storage full"),
        ("store", "the state file is gone"),
        ("store", None),
    ]


def test_a_probe_is_asked_when_health_is_read_and_forgotten_on_purpose() -> None:
    health = Health(Clock())
    alive = [True]
    health.probe("watcher", lambda: None if alive[0] else "the watcher thread died")
    assert health.troubles() == []
    alive[0] = False
    assert [t.problem for t in health.troubles()] == ["the watcher thread died"]
    health.forget("watcher")
    assert health.troubles() == []


def test_a_failing_listener_does_not_stop_the_report() -> None:
    health = Health(Clock())

    def broken(_change: Change) -> None:
        raise RuntimeError("boom")

    heard: list[Change] = []
    health.listen(broken)
    health.listen(heard.append)
    health.report("channel:ops", "a digest went dead")
    assert len(heard) == 1
    assert health.trouble("channel:ops") is not None


def test_a_channel_taken_out_of_the_config_is_in_trouble_no_more(tmp_path: Path) -> None:
    project = make_project(tmp_path)  # one channel: local
    config = load_config(project.config, {})
    health = Health(Clock())
    health.report("channel:hook", "digest 1 given up: 410 Gone")  # a channel since removed
    health.report("channel:local", "digest 2 given up: disk full")
    health.report("folder:/in", "the folder is gone")
    forget_channels_gone(health, config)
    assert sorted(t.part for t in health.troubles()) == ["channel:local", "folder:/in"]
