"""What `status` says of the workers on a state: alive, or dead when they stopped beating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from worker.settings.config import load_config
from worker.status import status_report, status_text
from worker.store import open_store

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_a_worker_that_stopped_beating_is_marked_dead(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "rules").mkdir()
    (tmp_path / "config.yaml").write_text(
        "watch: [{path: inbox}]\ntiming: {sweep: 10s}\n", encoding="utf-8"
    )
    config = load_config(tmp_path / "config.yaml", {})
    store = open_store(config.state_url)
    try:
        store.beat("alive", "host-a", 11, NOW - timedelta(seconds=25))  # within 3 sweeps
        store.beat("killed", "host-b", 22, NOW - timedelta(seconds=31))
        report = status_report(store, config, NOW)
    finally:
        store.close()
    assert [(w["id"], w["alive"]) for w in report["workers"]] == [
        ("killed", False),
        ("alive", True),
    ]
    text = status_text(report, config.tz)
    assert "worker host-b pid 22: DEAD (no heartbeat)" in text
    assert "worker host-a pid 11: alive" in text
