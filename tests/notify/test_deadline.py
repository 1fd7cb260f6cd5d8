"""The time limit on a whole delivery: its connections are shut down once it has passed."""

from __future__ import annotations

import socket
import threading

from worker.notify.deadline import Deadline


def test_a_read_blocked_past_the_deadline_is_woken_by_the_shutdown() -> None:
    ours, theirs = socket.socketpair()
    received: list[bytes] = []
    with ours, theirs, Deadline(1) as deadline:
        deadline.watch(ours)
        reader = threading.Thread(target=lambda: received.append(ours.recv(1)))
        reader.start()
        assert not deadline.passed  # the other end says nothing; the read waits
        reader.join(10)
        assert not reader.is_alive()
        assert deadline.passed
    assert received == [b""]  # the connection was shut down, not answered


def test_a_delivery_done_in_time_keeps_its_connection() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        with Deadline(30) as deadline:
            deadline.watch(ours)
            theirs.sendall(b"2")
            assert ours.recv(1) == b"2"
        assert not deadline.passed
        theirs.sendall(b"0")  # the deadline is over: the connection is still whole
        assert ours.recv(1) == b"0"
