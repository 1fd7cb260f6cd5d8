"""Log lines for people (text) or for log collectors (one JSON object a line)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

__all__ = ["setup_logging"]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(log_format: str, verbose: bool = False) -> None:
    """Log to stderr: INFO for wirewatch, WARNING for the libraries it uses."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S%z")
        )
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    logging.getLogger("worker").setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in _SAID_BY_US:
        logging.getLogger(name).setLevel(logging.ERROR)


# Libraries that warn of what wirewatch says once in its own words: the connection pool
# of every failed reconnection (an outage is one line), the scheduler of each sweep
# skipped while the one before still waits for the state.
_SAID_BY_US = ("psycopg.pool", "apscheduler.scheduler", "apscheduler.executors")
