"""Fixtures of the delivery tests: a state file of their own, and network clients."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from worker.notify import Clients
from worker.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(str(tmp_path / "state.db"))
    yield opened
    opened.close()


@pytest.fixture
def clients() -> Iterator[Clients]:
    with httpx.Client() as http:
        yield Clients(http=http, tls=ssl.create_default_context())
