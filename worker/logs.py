"""Log lines for people (text) or for log collectors (one JSON object a line)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime, tzinfo

__all__ = ["JsonFormatter", "TextFormatter", "log_in_zone", "setup_logging"]

# What every record has; anything else on it was given by `extra=` and is a field of its own.
_RECORD_KEYS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, the fields given with
    the call (`event`, `path`, `channel`, `digest`, ...), and the traceback, if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {key: value for key, value in vars(record).items() if key not in _RECORD_KEYS}
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-12-05 10:00:00+0100 INFO    message`: times in the config's time zone once it is
    read (`log_in_zone`), as digests and `status` show them; the host's until then."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s")
        self.zone: tzinfo | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        moment = datetime.fromtimestamp(record.created, self.zone or UTC)
        if self.zone is None:
            moment = moment.astimezone()  # the host's zone
        return moment.strftime(datefmt or "%Y-%m-%d %H:%M:%S%z")


def log_in_zone(zone: tzinfo) -> None:
    """Text log lines from now on give their times in `zone` (the config's `timezone:`)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, TextFormatter):
            handler.formatter.zone = zone


def setup_logging(log_format: str, level: int = logging.INFO) -> None:
    """Log to stderr: `level` for wirewatch, WARNING for the libraries it uses."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    logging.getLogger("worker").setLevel(level)
    for name in _SAID_BY_US:
        logging.getLogger(name).setLevel(logging.ERROR)


# Libraries that warn of what wirewatch says once in its own words: the connection pool
# of every failed reconnection (an outage is one line), the scheduler of each sweep
# skipped while the one before still waits for the state; the web page extractor of each
# page it leaves to wirewatch's own reading.
_SAID_BY_US = ("psycopg.pool", "apscheduler.scheduler", "apscheduler.executors", "trafilatura")
