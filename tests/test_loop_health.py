"""The loop's heartbeat as /healthz reads it: stuck after a few sweeps without a move,
saying on which file; nothing said while the loop does not run (the state is awaited)."""

from __future__ import annotations

from datetime import timedelta

from worker.daemon import _Pulse


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_that_has_not_moved_for_three_sweeps_is_stuck_on_its_file() -> None:
    clock = Clock()
    pulse = _Pulse(timedelta(seconds=30), lambda: None, clock)
    assert pulse.trouble() is None  # not running: the state is awaited, said by `store`
    pulse.running(True)
    pulse.tick("/inbox/feed.jsonl")
    clock.now += 89
    assert pulse.trouble() is None
    clock.now += 2
    assert pulse.trouble() == "the loop has not moved for 91 s (on /inbox/feed.jsonl)"
    pulse.tick()
    assert pulse.trouble() is None
    pulse.running(False)
    clock.now += 1000
    assert pulse.trouble() is None


def test_ready_is_said_once_after_the_first_scan() -> None:
    told: list[str] = []
    pulse = _Pulse(timedelta(seconds=1), lambda: told.append("ready"), Clock())
    pulse.started()
    pulse.started()  # a config restart scans again
    assert told == ["ready"]
    assert pulse.scanned
