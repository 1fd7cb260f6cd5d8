"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import Daemon
from tests.postgres import Cluster, ClusterError, start_cluster
from tests.servers import Mailbox, Server, free_port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end scenarios first (tests/test_*.py, each through running daemons): they
    are the long ones, and started last they would keep the whole run waiting on them."""
    items.sort(key=lambda item: item.path.parent.name != "tests")


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Server]]:
    """Start SMTP servers on 127.0.0.1 with aiosmtpd's options; all stop after the test."""
    controllers: list[Controller] = []

    def start(**options: Any) -> Server:
        mailbox = Mailbox()
        port = free_port()
        controller = Controller(
            mailbox, hostname="127.0.0.1", port=port, server_hostname="mail.test", **options
        )
        controller.start()
        controllers.append(controller)
        return Server(port, mailbox)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(autouse=True)
def _no_daemon_left_behind() -> Iterator[None]:
    yield
    while Daemon.started:
        Daemon.started.pop().kill()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A PostgreSQL server for this test process, started once and removed at the end."""
    try:
        cluster = start_cluster()
    except ClusterError as error:
        pytest.fail(str(error))
    yield cluster
    cluster.remove()
