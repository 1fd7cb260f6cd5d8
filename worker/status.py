"""What `wirewatch status` shows: articles, failures, matches and each channel's deliveries,
and, from a daemon's HTTP endpoint, what is wrong with it."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from worker.health import Health
from worker.model import FeedRecord, WorkerRecord
from worker.muting import mute_document
from worker.settings.config import Config, Feed
from worker.store import Articles, Deliveries, FeedsSeen, FilesSeen, Mutes, Workers, storage_full
from worker.wording import plural, quoted

__all__ = [
    "FAILURES_SHOWN",
    "StatusStore",
    "asked_health",
    "health_report",
    "status_report",
    "status_text",
    "wirewatch_version",
]


class StatusStore(Articles, FilesSeen, FeedsSeen, Deliveries, Workers, Mutes, Protocol):
    """What `status` reads: articles and matches, files and feeds, deliveries, workers,
    mutes."""


# A worker is dead when it has not beaten for this many sweeps (it beats every sweep).
_MISSED_BEATS = 3

# The failed files `status` lists (`--all`: every one; `--json` always has every one).
FAILURES_SHOWN = 20


def status_report(
    store: StatusStore,
    config: Config,
    now: datetime | None = None,
    rules: int | None = None,
    health: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `status --json` document (its shape is documented in docs/operations.md): `rules` in
    force, and the daemon's `health` as its endpoint tells it (`asked_health`)."""
    now = now or datetime.now(UTC)
    counts = store.counts()
    # A channel taken out of the config keeps the digests it had not delivered.
    gone = [name for name in store.channels_with_digests() if name not in config.channels]
    channels = {name: _channel(store, name, configured=True) for name in config.channels}
    channels |= {name: _channel(store, name, configured=False) for name in gone}
    return {
        "store": storage_full(config.state_url),  # what is wrong with the state, or null
        "articles": {"ingested": counts["ingested"], "failed": counts["failed"]},
        "failures": [{"path": f.path, "reason": f.error} for f in store.failures()],
        "matches": counts["matches"],
        "channels": channels,
        "mutes": [mute_document(mute, config.tz) for mute in store.active_mutes(now)],
        "workers": [_worker(w, now, config) for w in store.workers(now)],
        "feeds": _feeds(store, config.feeds),
        "rules": rules,
        "version": wirewatch_version(),
        "health": health,
    }


def _feeds(store: FeedsSeen, feeds: tuple[Feed, ...]) -> dict[str, dict[str, Any]]:
    """Each feed of the config as last polled, by its name."""
    records = {record.url: record for record in store.feeds()}
    return {feed.title: _feed(feed.url, records.get(feed.url)) for feed in feeds}


def _feed(url: str, record: FeedRecord | None) -> dict[str, Any]:
    record = record or FeedRecord(url)
    return {
        "url": url,
        "state": "gone" if record.gone else "failing" if record.failures else "ok",
        "last_success": _iso(record.last_success),
        "last_error": record.last_error,
        "error_since": _iso(record.error_since),
        "next_poll": _iso(record.next_poll),
    }


def wirewatch_version() -> str:
    """The installed wirewatch's version."""
    try:
        return version("wirewatch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def asked_health(config: Config) -> dict[str, Any] | None:
    """What the daemon's `/healthz` says, with `endpoint` added; None without `http:`. A
    daemon that does not answer is said to: `healthy` is then None, and `error` says why."""
    if config.http is None:
        return None
    import httpx  # only `status` asks: the daemon that imports this module never does

    url = f"http://{config.http.listen}/healthz"
    try:
        report: dict[str, Any] = httpx.get(url, timeout=5).json()
    except (httpx.HTTPError, ValueError) as error:
        why = f"no answer from {url}: {error or type(error).__name__}; is the daemon running?"
        report = {"healthy": None, "troubles": [], "error": why}
    return {"endpoint": url, **report}


def health_report(health: Health) -> dict[str, Any]:
    """The `/healthz` document: healthy, or each part in trouble, since when and why."""
    troubles = health.troubles()
    return {
        "healthy": not troubles,
        "troubles": [
            {"part": t.part, "problem": t.problem, "since": t.since.isoformat(timespec="seconds")}
            for t in troubles
        ],
    }


def _worker(worker: WorkerRecord, now: datetime, config: Config) -> dict[str, Any]:
    alive = now - worker.last_seen <= _MISSED_BEATS * config.timing.sweep
    return {
        "id": worker.id,
        "host": worker.host,
        "pid": worker.pid,
        "started": _iso(worker.started_at),
        "last_seen": _iso(worker.last_seen),
        "alive": alive,
        "holds": {"digests": worker.digests, "files": worker.files, "slots": worker.slots},
    }


def _channel(store: StatusStore, name: str, configured: bool) -> dict[str, Any]:
    totals = store.channel_totals(name)
    return {
        "pending": totals.pending,
        "sent": totals.sent,
        "dead": totals.dead,
        "last_sent": _iso(totals.last_sent),
        "retrying": totals.retrying,
        "next_attempt": _iso(totals.next_attempt_at),
        "last_error": totals.last_error,
        "configured": configured,
    }


def status_text(report: dict[str, Any], zone: ZoneInfo, every_failure: bool = False) -> str:
    """The report for a person to read, times in `zone` (the config's time zone); the first
    failed files only, unless `every_failure`."""
    articles = report["articles"]
    lines = [f"store: {report['store']}"] if report["store"] else []
    lines += [
        f"articles: {articles['ingested']} ingested, {plural(articles['failed'], 'failed file')}",
        f"matches:  {report['matches']}",
    ]
    lines += _failure_lines(report["failures"], every_failure)
    for name, channel in report["channels"].items():
        lines.append(
            f"channel {name}: {plural(channel['pending'], 'match', 'matches')} pending,"
            f" {plural(channel['sent'], 'digest')} sent, {channel['dead']} dead,"
            f" last sent {_local(channel['last_sent'], zone) or 'never'}"
        )
        if channel["retrying"]:
            retrying, due = channel["retrying"], _local(channel["next_attempt"], zone)
            lines.append(f"  {plural(retrying, 'digest')} waiting for a retry, next attempt {due}")
        if channel["last_error"]:
            lines.append(f"  last error: {channel['last_error']}")
        if not channel["configured"]:
            lines.append("  no longer in the config: put it back to send what it has not sent")
        elif channel["dead"]:
            lines.append(f"  'wirewatch digest --retry-dead {name}' sends the dead digests again")
    lines += [_mute_line(mute, zone) for mute in report["mutes"]]
    lines += [_feed_line(name, feed, zone) for name, feed in report["feeds"].items()]
    lines += [_worker_line(worker, zone) for worker in report["workers"]]
    lines += _health_lines(report["health"], zone)
    return "\n".join(lines)


def _failure_lines(failures: list[dict[str, str]], every_failure: bool) -> list[str]:
    shown = failures if every_failure else failures[:FAILURES_SHOWN]
    lines = [f"  failed: {quoted(f['path'])}: {f['reason']}" for f in shown]
    if len(shown) < len(failures):
        more = len(failures) - len(shown)
        lines.append(f"  … and {more} more; wirewatch status --all lists them")
    return lines


def _health_lines(health: dict[str, Any] | None, zone: ZoneInfo) -> list[str]:
    if health is None:
        return []
    if health["healthy"] is None:
        return [f"health: unknown: {health['error']}"]
    if health["healthy"]:
        return ["health: healthy"]
    return [
        f"health: {t['part']}: {t['problem']} (since {_local(t['since'], zone)})"
        for t in health["troubles"]
    ]


def _mute_line(mute: dict[str, Any], zone: ZoneInfo) -> str:
    reason = f" ({mute['reason']})" if mute["reason"] else ""
    return f"muted: {mute['target']} until {_local(mute['until'], zone)}{reason} [#{mute['id']}]"


def _feed_line(name: str, feed: dict[str, Any], zone: ZoneInfo) -> str:
    last = _local(feed["last_success"], zone) or "never"
    if feed["state"] == "gone":
        return (
            f"feed {name}: gone (410) since {_local(feed['error_since'], zone)}: not polled;"
            " remove it from sources: or fix its url"
        )
    next_poll = _local(feed["next_poll"], zone) or "now"
    if feed["state"] == "failing":
        return (
            f"feed {name}: failing since {_local(feed['error_since'], zone)}: {feed['last_error']};"
            f" next try {next_poll}; last read {last}"
        )
    warning = f"; {feed['last_error']}" if feed["last_error"] else ""
    return f"feed {name}: ok, last read {last}, next poll {next_poll}{warning}"


def _worker_line(worker: dict[str, Any], zone: ZoneInfo) -> str:
    holds = worker["holds"]
    held = (
        f"sending {plural(holds['digests'], 'digest')}, reading {plural(holds['files'], 'file')},"
        f" building {plural(holds['slots'], 'slot')}"
    )
    state = "alive" if worker["alive"] else "DEAD (no heartbeat): what it held is taken over"
    return (
        f"worker {worker['host']} pid {worker['pid']}: {state}; started"
        f" {_local(worker['started'], zone)}, last seen {_local(worker['last_seen'], zone)}; {held}"
    )


def _local(iso: str | None, zone: ZoneInfo) -> str | None:
    """An ISO time as a person reads it where they are: `2026-11-24 09:00 CET`."""
    if iso is None:
        return None
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
