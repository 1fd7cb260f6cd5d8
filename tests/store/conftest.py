"""Every backend the contract is run on: each test of tests/store runs on each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.postgres import Cluster
from worker.store import Store, open_store

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The `state:` value of a new, empty store of the backend."""
    if request.param == "postgresql":
        cluster: Cluster = request.getfixturevalue("postgres")
        return cluster.new_database()
    return str(tmp_path / "state.db")


@pytest.fixture
def opened(state: str) -> Iterator[Callable[[], Store]]:
    """Opens the state as a process does; every store it opened is closed after the test."""
    stores: list[Store] = []

    def open_it() -> Store:
        stores.append(open_store(state))
        return stores[-1]

    yield open_it
    for store in stores:
        store.close()


@pytest.fixture
def store(opened: Callable[[], Store]) -> Store:
    """A new, empty store."""
    return opened()
