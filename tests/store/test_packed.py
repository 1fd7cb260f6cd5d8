"""Article bodies and digests kept packed: a state of the layout before them is upgraded in
place and reads as it did, on each backend, and moves to the other backend unchanged."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.postgres import Cluster
from worker.cli import main
from worker.model import Article, Delivery, Digest, DigestCounts, Match, Period, Rendered
from worker.store import Store, open_store, postgresql, sqlite
from worker.store.sql import TABLES, pack, unpack

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BODY = "Gas talks went on in Beijing — “for hours”.\n\n" * 40
OLD = Article("article-old", "Gas talks", BODY, date(2024, 5, 1), "/in/old.txt", url="https://x")
RENDERED = Rendered(subject="1 match", text="Gas talks", html="<p>Gas talks</p>", json="{}")


def waiting(digest_id: str) -> Delivery:
    counts = DigestCounts(articles=1, matches=1)
    period = Period(start=NOW, end=NOW)
    digest = Digest(
        digest_id=digest_id, channel="local", generated_at=NOW, period=period, counts=counts
    )
    return Delivery(digest, rendered=RENDERED)


def written_before_packing(state: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An article and a digest as the layout before packing keeps them: as text."""
    backend = postgresql if state.startswith("postgresql://") else sqlite
    monkeypatch.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:-1])
    store = open_store(state)
    try:
        store.add_rows("seen_articles", [(OLD.id, NOW)])
        columns = {**asdict(OLD), "ingested_at": NOW}
        store.add_rows("articles", [tuple(columns[name] for name in TABLES["articles"][0])])
        document = json.dumps(waiting("d-old").digest.document())
        rendered = json.dumps(asdict(RENDERED))
        row = ("d-old", "local", NOW, "pending", 0, document, None, None, None, None)
        store.add_rows("digests", [(*row, rendered, None, None)])
    finally:
        store.close()
    monkeypatch.undo()


def test_a_state_written_before_packing_reads_as_it_did(
    state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written_before_packing(state, monkeypatch)
    store = open_store(state)
    try:
        (article,) = store.articles()
        assert article == OLD
        (delivery,) = store.unsent_digests("local")
        assert delivery.digest == waiting("d-old").digest
        assert delivery.rendered == RENDERED
        # The same text again is no new version, though it is kept otherwise now.
        assert not store.revise_article(OLD, [], NOW)
        edited = Article(OLD.id, OLD.title, BODY + "More.", OLD.date, OLD.path, url=OLD.url)
        assert store.revise_article(edited, [Match("rule", ())], NOW)
        assert list(store.articles()) == [edited]
    finally:
        store.close()


def test_a_state_written_before_packing_moves_to_postgresql_unchanged(
    tmp_path: Path, postgres: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = str(tmp_path / "state.db")
    written_before_packing(state, monkeypatch)
    database = postgres.new_database()
    assert main(["copy-state", state, database]) == 0
    moved: Store = open_store(database)
    try:
        assert list(moved.articles()) == [OLD]
        (delivery,) = moved.unsent_digests("local")
        assert delivery.rendered == RENDERED
    finally:
        moved.close()


def test_plain_text_written_as_bytes_by_an_older_wirewatch_still_reads() -> None:
    # A worker of the layout before packing, still running beside an upgraded one, writes
    # its text into what is now a column of bytes: it reads back as that text.
    assert unpack(BODY.encode("utf-8")) == BODY
    assert unpack(pack(BODY)) == BODY
