"""Alerts about wirewatch itself: each trouble its health hears, told to the `alerts:` channels.

A problem is a part in trouble (`store`, `folder:PATH`, `channel:NAME`, `feed:NAME`, ...).
It is told at most once an hour: a trouble that starts is told at once, unless that part's
trouble was told less than an hour before; then it waits for the hour to end and is told
then, if it still stands. A trouble that was told is told again when it clears, always
and at once. Alerts go to the channels' notifiers from a thread of their own, tried a few
times each, so neither the loop nor the schedules ever wait for them; they are never part
of a digest.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from worker.errors import DeliveryError
from worker.health import Change, Health, Trouble
from worker.model import Alert
from worker.notify import Clients, Notifier, notifier_for
from worker.settings.config import Config

__all__ = ["EVERY", "AlertPolicy", "Alerts"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# The most often one problem is told, its clearing aside.
EVERY = timedelta(hours=1)
# Between the attempts at one alert on one channel, in seconds: then it is given up.
PAUSES = (5.0, 30.0, 120.0)
# How long a stopping daemon waits for the alerts still being sent.
_LAST_WORDS = 5.0


@dataclass
class _Part:
    told_at: datetime | None = None  # when its trouble was last told
    told: Trouble | None = None  # the trouble told and not yet cleared
    held: Trouble | None = None  # a trouble waiting for the hour to end


class AlertPolicy:
    """Which alerts to send, and when: a pure record of what was told, by part."""

    def __init__(self, host: str, every: timedelta = EVERY) -> None:
        self._host = host
        self._every = every
        self._parts: dict[str, _Part] = {}

    def heard(self, change: Change, now: datetime) -> list[Alert]:
        """What to tell now of a part's trouble that started, changed or cleared."""
        part = self._parts.setdefault(change.part, _Part())
        if change.trouble is None:
            part.held = None
            told, part.told = part.told, None
            return [] if told is None else [self._alert(told, now, cleared=True)]
        if part.told_at is not None and now < part.told_at + self._every:
            part.held = change.trouble
            return []
        return [self._tell(part, change.trouble, now)]

    def due(self, now: datetime) -> list[Alert]:
        """The troubles held back whose hour has ended, told now."""
        return [
            self._tell(part, part.held, now)
            for part in self._parts.values()
            if part.held is not None and part.told_at is not None
            if now >= part.told_at + self._every
        ]

    def next_due(self) -> datetime | None:
        """When the next held trouble is due, if one is held."""
        return min(
            (p.told_at + self._every for p in self._parts.values() if p.held and p.told_at),
            default=None,
        )

    def _tell(self, part: _Part, trouble: Trouble, now: datetime) -> Alert:
        part.told_at, part.told, part.held = now, trouble, None
        return self._alert(trouble, now, cleared=False)

    def _alert(self, trouble: Trouble, now: datetime, cleared: bool) -> Alert:
        return Alert(trouble.part, trouble.problem, cleared, trouble.since, now, self._host)


class Alerts:
    """Tells the `alerts:` channels of what its health hears; one for a daemon's whole life,
    so that the hour's limit outlasts a restart on a new config."""

    def __init__(
        self,
        health: Health,
        clock: Clock = lambda: datetime.now(UTC),
        every: timedelta = EVERY,
        pauses: Sequence[float] = PAUSES,
        clients: Clients | None = None,
    ) -> None:
        self._clock = clock
        self._pauses = tuple(pauses)
        self._policy = AlertPolicy(socket.gethostname(), every)
        self._lock = threading.Lock()
        self._channels: dict[str, Notifier] = {}
        self._clients = clients or Clients()
        self._own_clients = clients is None
        self._outgoing: queue.Queue[Alert | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._send_all, name="alerts", daemon=True)
        self._thread.start()
        health.listen(self._heard)

    def use(self, config: Config) -> None:
        """Send from now on to the channels `config` names in `alerts:`."""
        channels = {
            name: notifier_for(config.channels[name], self._clients) for name in config.alerts
        }
        with self._lock:
            self._channels = channels

    def close(self) -> None:
        """Send what is waiting, without long pauses between tries; then stop."""
        self._stopping.set()
        self._outgoing.put(None)
        self._thread.join(_LAST_WORDS)
        if self._own_clients:
            self._clients.close()

    def _heard(self, change: Change) -> None:
        # In the thread of the part that reported: decided at once, sent by ours.
        with self._lock:
            alerts = self._policy.heard(change, self._clock())
        for alert in alerts:
            self._outgoing.put(alert)

    def _send_all(self) -> None:
        while True:
            try:
                alert = self._outgoing.get(timeout=self._until_due())
            except queue.Empty:  # a trouble held back is due
                self._send_due()
                continue
            if alert is None:
                return
            self._send(alert)
            self._send_due()

    def _send_due(self) -> None:
        with self._lock:
            due = self._policy.due(self._clock())
        for alert in due:
            self._send(alert)

    def _until_due(self) -> float | None:
        with self._lock:
            due = self._policy.next_due()
        return None if due is None else max(0.0, (due - self._clock()).total_seconds())

    def _send(self, alert: Alert) -> None:
        with self._lock:
            channels = dict(self._channels)
        for name, notifier in channels.items():
            self._send_to(name, notifier, alert)

    def _send_to(self, name: str, notifier: Notifier, alert: Alert) -> None:
        """Try the channel a few times; say so once if it never took the alert."""
        for pause in (*self._pauses, None):
            try:
                notifier.alert(alert)
            except DeliveryError as error:
                if error.permanent or pause is None or self._stopping.wait(pause):
                    log.error("channel %s: alert not sent (%s): %s", name, alert.subject, error)
                    return
            except Exception:  # a fault of ours: the next alert is tried all the same
                log.exception("channel %s: alert not sent (%s)", name, alert.subject)
                return
            else:
                log.info("channel %s: alert sent: %s", name, alert.subject)
                return
