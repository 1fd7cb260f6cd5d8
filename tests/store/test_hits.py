"""A match's hits are kept as JSON text, written out by hand for speed: the very text the
JSON encoder writes, whatever the terms hold."""

from __future__ import annotations

import json
from dataclasses import asdict

from hypothesis import given
from hypothesis import strategies as st

from worker.model import Hit
from worker.store.sql import _hits_json

HITS = st.lists(
    st.builds(
        Hit,
        term=st.text(),
        field=st.sampled_from(["title", "body"]),
        start=st.integers(min_value=0),
        end=st.integers(min_value=0),
        participant=st.none() | st.text(),
    ),
    max_size=5,
)


@given(HITS)
def test_hits_are_written_as_the_json_encoder_writes_them(hits: list[Hit]) -> None:
    written = _hits_json(hits)
    assert written == json.dumps([asdict(hit) for hit in hits], ensure_ascii=False)
    assert [Hit(**hit) for hit in json.loads(written)] == hits
