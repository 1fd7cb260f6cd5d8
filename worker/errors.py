"""The errors that cross from one stage to another, each saying what to do about it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ConfigError",
    "DeliveryError",
    "Problem",
    "StateError",
    "StateFull",
    "StateGone",
    "StateUnavailable",
    "StoppingError",
    "TemplateMistake",
]


@dataclass(frozen=True)
class Problem:
    """One mistake in a file: `FILE:LINE: key.path: message`."""

    file: Path
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        return ": ".join(part for part in (where, self.key, self.message) if part)


class ConfigError(Exception):
    """The config or the rules are wrong; `str()` is one line per problem."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class StateError(Exception):
    """The state cannot be used; the message says why and what to do."""


class StateUnavailable(StateError):  # noqa: N818 - a condition that passes, not a failure
    """The state cannot be reached now (a database down or restarting, a file locked by
    another process past the busy timeout): what was to be done waits and is tried again."""


class StateFull(StateUnavailable):
    """The state's storage is full: what was to be done waits until there is room again."""


class StateGone(StateError):  # noqa: N818 - what happened to the state, not a failure of ours
    """The state file was deleted or replaced (while running, or since the last run): written
    on, everything would be lost or sent again, so wirewatch stops and says how to go on."""


class DeliveryError(Exception):
    """A delivery failed; the message says why, without secrets."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent  # trying again cannot help (a 400, an SMTP 550)
        self.retry_after = retry_after  # seconds the receiver asked us to wait (Retry-After)


class StoppingError(DeliveryError):
    """A send or a poll left running by a stop: its network client is closed. The digest
    waits for the next start; the feed is polled then."""


class TemplateMistake(Exception):  # noqa: N818 - a mistake in a file, not a failure of ours
    """A template that does not render, or renders what cannot be sent: `FILE:LINE: what`."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")
        self.file, self.line, self.message = file, line, message

    def problem(self, channel: str) -> Problem:
        """The mistake as `check` reports it, under the channel's `template:` key."""
        return Problem(Path(self.file), self.line, f"channels.{channel}.template", self.message)
