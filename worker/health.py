"""What is wrong with a running wirewatch, part by part, for `/healthz`, `status` and the
`alerts:` channels.

A part is something an operator can act on: `store` (the state: unreachable, storage full,
the file gone), `watcher`, `scheduler`, `loop`, `folder:PATH`, `channel:NAME`. A part says
what is wrong with it (`report`) and that it is fine again (`report(part, None)`); a part
that cannot say so itself (a thread that died) is asked when health is read (`probe`).
Listeners hear each change, once: a problem that starts, changes its words, or clears.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Change", "Health", "Trouble"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Trouble:
    """What is wrong with one part, in one line, and since when."""

    part: str
    problem: str
    since: datetime


@dataclass(frozen=True)
class Change:
    """A part's trouble started or changed (`trouble` set), or cleared (`trouble` None)."""

    part: str
    trouble: Trouble | None


class Health:
    """The troubles of one running wirewatch; safe to use from every thread."""

    def __init__(self, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._reported: dict[str, Trouble] = {}
        self._probes: dict[str, Callable[[], str | None]] = {}
        self._listeners: list[Callable[[Change], None]] = []

    def report(self, part: str, problem: str | None) -> None:
        """`part` has `problem` now, or none (None); listeners hear it if that is news."""
        with self._lock:
            before = self._reported.get(part)
            if problem is None:
                if before is None:
                    return
                del self._reported[part]
                change = Change(part, None)
            else:
                if before is not None and before.problem == problem:
                    return
                since = before.since if before is not None else self._clock()
                trouble = Trouble(part, problem, since)
                self._reported[part] = trouble
                change = Change(part, trouble)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(change)
            except Exception:  # one listener's fault must not stop a part from reporting
                log.exception("a health listener failed on %s", part)

    def probe(self, part: str, check: Callable[[], str | None]) -> None:
        """Ask `check` what is wrong with `part` each time health is read; None when fine."""
        with self._lock:
            self._probes[part] = check

    def forget(self, part: str) -> None:
        """`part` is gone (its thread stopped on purpose): neither reported nor probed."""
        with self._lock:
            self._probes.pop(part, None)
        self.report(part, None)

    def listen(self, listener: Callable[[Change], None]) -> None:
        """Tell `listener` of every change reported from now on."""
        with self._lock:
            self._listeners.append(listener)

    def troubles(self) -> list[Trouble]:
        """Everything wrong now, by part: what was reported, and what the probes say."""
        with self._lock:
            found = dict(self._reported)
            probes = list(self._probes.items())
        now = self._clock()
        for part, check in probes:
            problem = check()
            if problem is not None and part not in found:
                found[part] = Trouble(part, problem, now)
        return [found[part] for part in sorted(found)]

    def trouble(self, part: str) -> Trouble | None:
        """What is wrong with `part`, if anything."""
        return next((t for t in self.troubles() if t.part == part), None)
