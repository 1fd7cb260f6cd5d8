"""The scheduler with a real APScheduler, store and folder: catch-up, retries, batching."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers import Project, make_project
from tests.postgres import Cluster
from tests.servers import Trickle
from worker.deliver.scheduler import DigestScheduler
from worker.deliver.schedules import next_due
from worker.ingest.ingestor import Ingested
from worker.model import RawArticle
from worker.notify import Clients
from worker.pipeline import Pipeline, load_setup
from worker.settings.config import load_config
from worker.settings.schedule import parse_schedule
from worker.store import open_store

pytestmark = pytest.mark.timeout(60)

# A byte every 0.2 s: no read waits long, but the whole answer would take minutes.
TRICKLED = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"." * 1000 + b"\r\n\r\n"
TALKS = " date 2024-05-16 Putin and Xi hold talks\n\nVladimir Putin met Xi Jinping for talks.\n"


@contextmanager
def pipeline_of(project: Project) -> Iterator[Pipeline]:
    setup = load_setup(project.config, {})
    store = open_store(setup.config.state_url)
    with httpx.Client() as http:
        clients = Clients(http=http, tls=ssl.create_default_context())
        yield Pipeline(setup, store, clients)
    store.close()


def scheduler_of(
    pipeline: Pipeline, clock: Callable[[], datetime] | None = None
) -> DigestScheduler:
    clocked = {"clock": clock} if clock else {}
    return DigestScheduler(
        pipeline.config, pipeline.outbox, pipeline.store, lambda: pipeline.rules, **clocked
    )


def ingest(pipeline: Pipeline, path: Path) -> Ingested:
    """The file read and ingested, as the daemon takes it."""
    found = pipeline.folders.read(path)
    assert isinstance(found, RawArticle)
    return pipeline.ingest(found)


@contextmanager
def running(pipeline: Pipeline, now: datetime | None = None) -> Iterator[DigestScheduler]:
    """The scheduler started; with `now`, it starts believing that is the time."""
    scheduler = scheduler_of(pipeline, (lambda: now) if now else None)
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown()


def ingest_seeds(pipeline: Pipeline, project: Project) -> None:
    for seed in sorted((project.root / "seeds").iterdir()):
        ingest(pipeline, seed)


def wait_for(condition: Callable[[], object], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_slots_missed_while_down_are_sent_once(tmp_path: Path) -> None:
    project = make_project(tmp_path, schedule="0 8 * * *")
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        three_days_ago = datetime.now(UTC) - timedelta(days=3)
        pipeline.store.record_run("local", three_days_ago)  # three 08:00 slots went by
        with running(pipeline):
            wait_for(project.digests)
            time.sleep(1.5)
        assert len(project.digests()) == 1
        last_run = pipeline.store.last_run("local")
        assert last_run is not None
        assert last_run > three_days_ago


def utc(zone: str, *local: int) -> datetime:
    """A local time in `zone` (the first of two, in the hour that repeats), as UTC."""
    year, month, day, hour, minute = local
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "schedule", "last_run", "now", "digests"),
    [
        # Spring forward: 02:30 does not exist on 29 March in Berlin; it comes at 03:30.
        ("Europe/Berlin", "30 2 * * *", (2026, 3, 28, 2, 30), (2026, 3, 29, 3, 35), 1),
        ("Europe/Berlin", "30 2 * * *", (2026, 3, 28, 2, 30), (2026, 3, 29, 3, 25), 0),
        # Fall back: 02:30 comes twice on 25 October; sent the first time only.
        ("Europe/Berlin", "30 2 * * *", (2026, 10, 25, 2, 30), (2026, 10, 25, 3, 10), 0),
        ("America/New_York", "30 2 * * *", (2026, 3, 7, 2, 30), (2026, 3, 8, 3, 35), 1),
        ("America/New_York", "30 1 * * *", (2026, 11, 1, 1, 30), (2026, 11, 1, 2, 10), 0),
        # Down for three days across the change: the slots missed make one digest.
        ("Europe/Berlin", "0 8 * * *", (2026, 3, 27, 8, 0), (2026, 3, 30, 9, 0), 1),
        ("America/New_York", "0 8 * * 1-5", (2026, 3, 6, 8, 0), (2026, 3, 9, 8, 30), 1),
        ("America/New_York", "0 8 * * 1-5", (2026, 3, 6, 8, 0), (2026, 3, 9, 7, 30), 0),
    ],
)
def test_catch_up_at_start_across_daylight_saving_changes(
    tmp_path: Path,
    zone: str,
    schedule: str,
    last_run: tuple[int, ...],
    now: tuple[int, ...],
    digests: int,
) -> None:
    project = make_project(tmp_path, schedule=schedule, extra=f"    timezone: {zone}\n")
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        pipeline.store.record_run("local", utc(zone, *last_run))
        with running(pipeline, now=utc(zone, *now)):
            if digests:
                wait_for(project.digests)
            time.sleep(1.5)  # and no second one
        assert len(project.digests()) == digests


def test_a_slot_not_yet_due_waits(tmp_path: Path) -> None:
    project = make_project(tmp_path, schedule="0 8 * * *")
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        pipeline.store.record_run("local", datetime.now(UTC))
        with running(pipeline):
            time.sleep(1.5)
        assert project.digests() == []


def test_a_failed_digest_is_retried_by_its_own_job(tmp_path: Path) -> None:
    retry = "    retry: {delays: [0.5s], jitter: 0}\n"
    project = make_project(tmp_path, schedule="every 1h", extra=retry)
    project.outbox.write_text("a file where the folder should be", encoding="utf-8")
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        with running(pipeline):
            wait_for(lambda: pipeline.store.channel_totals("local").retrying)
            project.outbox.unlink()  # the receiver is back before the retry at 0.5 s
            wait_for(project.digests)
        (digest,) = project.digests()
        assert digest["counts"]["articles"] == 5


def talks(pipeline: Pipeline, project: Project, scheduler: DigestScheduler, n: int) -> None:
    """Round `n` of the talks dropped in the inbox, ingested and told to the scheduler."""
    path = project.inbox / f"talks-{n}.txt"
    path.write_text(TALKS.replace("talks.", f"talks, round {n}."), encoding="utf-8")
    scheduler.matched(ingest(pipeline, path).rule_ids())


@contextmanager
def immediate(tmp_path: Path, timing: str) -> Iterator[tuple[Project, Pipeline, DigestScheduler]]:
    """An immediate channel's schedules running, once it has sent the seeds."""
    project = make_project(tmp_path, schedule="immediate", timing=timing)
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        with running(pipeline) as scheduler:
            wait_for(project.digests)  # the seeds, at start
            yield project, pipeline, scheduler


def test_immediate_matches_arriving_together_go_in_one_digest(tmp_path: Path) -> None:
    # The cap (timing.batch) far off: on a loaded machine three ingests may take a second.
    timing = "{lease: 2s, sweep: 1h, stop_grace: 1s, quiet: 1s, batch: 1h}"
    with immediate(tmp_path, timing) as (project, pipeline, scheduler):
        for n in range(3):
            talks(pipeline, project, scheduler, n)
            time.sleep(0.1)  # the three arrive closer together than timing.quiet
        wait_for(lambda: len(project.digests()) == 2)
        time.sleep(1.5)  # past another quiet spell: nothing more comes
        assert [d["counts"]["articles"] for d in project.digests()] == [5, 3]


def test_a_sweep_leaves_a_burst_being_held_to_its_own_send(tmp_path: Path) -> None:
    timing = "{lease: 2s, sweep: 0.2s, stop_grace: 1s, quiet: 2s, batch: 1h}"
    with immediate(tmp_path, timing) as (project, pipeline, scheduler):
        scheduler.matched(["xi-putin-contacts"])  # a burst held from here (its first match)
        for n in range(3):  # while sweeps come every 0.2 s
            talks(pipeline, project, scheduler, n)
            time.sleep(0.3)
        wait_for(lambda: len(project.digests()) == 2)
        time.sleep(2.5)  # past another quiet spell: nothing more comes
        assert [d["counts"]["articles"] for d in project.digests()] == [5, 3]


def test_articles_that_match_nothing_hold_a_burst_together(tmp_path: Path) -> None:
    timing = "{lease: 2s, sweep: 1h, stop_grace: 1s, quiet: 0.5s, batch: 1h}"
    with immediate(tmp_path, timing) as (project, pipeline, scheduler):
        talks(pipeline, project, scheduler, 1)
        for n in range(8):  # longer than timing.quiet in all, each closer than it
            path = project.inbox / f"weather-{n}.txt"
            path.write_text(" date 2024-05-16 Sunny\n\nSun all week.\n", encoding="utf-8")
            assert not ingest(pipeline, path).rule_ids()
            scheduler.ingested()
            time.sleep(0.1)
        talks(pipeline, project, scheduler, 2)
        wait_for(lambda: len(project.digests()) == 2)
        time.sleep(0.7)  # past another quiet period: nothing more comes
        assert [d["counts"]["articles"] for d in project.digests()] == [5, 2]


def test_a_lone_immediate_match_goes_out_without_waiting_for_the_batch(tmp_path: Path) -> None:
    timing = "{lease: 2s, sweep: 1h, stop_grace: 1s, quiet: 0.05s, batch: 1h}"
    with immediate(tmp_path, timing) as (project, pipeline, scheduler):
        talks(pipeline, project, scheduler, 1)
        wait_for(lambda: len(project.digests()) == 2)  # long before the batch's hour
        assert sorted(d["counts"]["articles"] for d in project.digests()) == [1, 5]


def test_a_burst_that_never_goes_quiet_is_sent_at_the_end_of_its_batch(tmp_path: Path) -> None:
    timing = "{lease: 2s, sweep: 1h, stop_grace: 1s, quiet: 1h, batch: 1s}"
    with immediate(tmp_path, timing) as (project, pipeline, scheduler):
        talks(pipeline, project, scheduler, 1)
        talks(pipeline, project, scheduler, 2)
        wait_for(lambda: len(project.digests()) == 2)  # long before an hour of quiet
        assert sorted(d["counts"]["articles"] for d in project.digests()) == [2, 5]


def test_each_period_sends_what_matched_in_it_without_waiting_for_a_sweep(
    tmp_path: Path,
) -> None:
    # The sweep an hour off: only the schedule itself can send the match.
    timing = "{lease: 2s, sweep: 1h, stop_grace: 1s, batch: 1s}"
    project = make_project(tmp_path, schedule="every 3s", timing=timing)
    every = timedelta(seconds=3)
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        with running(pipeline):
            wait_for(project.digests)  # a new channel sends at once
            path = project.inbox / "talks.txt"
            path.write_text(TALKS, encoding="utf-8")
            matched_at = datetime.now(UTC)
            ingest(pipeline, path)
            wait_for(lambda: len(project.digests()) == 2)
        # The turns count from when the channel appeared, every 3 s.
        appeared = pipeline.store.channel_since("local", matched_at)
    turn = appeared + every * -((appeared - matched_at) // every)  # the first after the match
    sent = datetime.fromisoformat(project.digests()[1]["generated_at"])
    # At that turn, not the one after it: a run recorded when its send ended, a moment
    # past its turn, made each turn fall due just after the schedule fired.
    assert turn <= sent < turn + every * 0.6, (turn, sent)
    assert [d["counts"]["articles"] for d in project.digests()] == [5, 1]


def test_a_slow_send_is_not_built_again_by_a_sweep_meanwhile(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    posts: list[float] = []

    def answer(request: Request) -> Response:
        posts.append(time.monotonic())
        if len(posts) == 1:
            time.sleep(2.5)  # the first send outlasts two sweeps (timing.sweep is 1 s)
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(answer)
    url = httpserver.url_for("/hook")
    hook = f"  hook:\n    type: webhook\n    url: {url}\n    schedule: every 6s\n"
    project = make_project(tmp_path, schedule="0 0 1 1 *", extra=hook)
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        with running(pipeline):
            wait_for(lambda: posts)  # a new channel sends at once; this send is slow
            path = project.inbox / "talks.txt"
            path.write_text(TALKS, encoding="utf-8")
            ingest(pipeline, path)  # matched while the first send goes on
            wait_for(lambda: len(posts) == 2, seconds=15)
    # The match waits for the next turn, six seconds on: the sweeps that found the first
    # turn's slot not yet done did not build it again, as a second digest of that turn.
    assert posts[1] - posts[0] > 4.5


def test_a_channel_time_zone_of_its_own(tmp_path: Path) -> None:
    extra = "    timezone: Asia/Shanghai\n"
    project = make_project(tmp_path, schedule="every 1h", extra=extra)
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        with running(pipeline):
            wait_for(project.digests)
        (digest,) = project.digests()
        assert digest["timezone"] == "Asia/Shanghai"


def test_a_new_cron_channel_sends_a_slot_it_missed_since_it_appeared(tmp_path: Path) -> None:
    project = make_project(tmp_path, schedule="0 8 * * *")
    store = open_store(load_config(project.config, {}).state_url)
    store.channel_since("local", datetime.now(UTC) - timedelta(days=3))  # never ran since
    store.close()
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        with running(pipeline):
            wait_for(project.digests)
            time.sleep(1)
    assert len(project.digests()) == 1


def test_a_missed_slot_waits_for_catch_up_when_asked(tmp_path: Path) -> None:
    project = make_project(tmp_path, schedule="0 8 * * *")
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        pipeline.store.record_run("local", datetime.now(UTC) - timedelta(days=3))
        scheduler = scheduler_of(pipeline)
        scheduler.start(catch_up=False)
        try:
            time.sleep(1.5)  # the daemon's start-up scan runs now
            assert project.digests() == []
            scheduler.catch_up()
            wait_for(project.digests)
            time.sleep(1)
        finally:
            scheduler.shutdown()
        assert len(project.digests()) == 1


def test_a_stop_leaves_a_stuck_send_once_its_grace_is_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stuck = Trickle(TRICKLED)  # takes minutes to answer, a byte at a time
    url = f"http://127.0.0.1:{stuck.port}/hook"
    hook = f"  hook:\n    type: webhook\n    url: {url}\n    timeout_seconds: 600\n"
    project = make_project(tmp_path, schedule="0 0 1 1 *", extra=hook)
    try:
        with pipeline_of(project) as pipeline:
            ingest_seeds(pipeline, project)
            scheduler = scheduler_of(pipeline)
            scheduler.start()
            wait_for(lambda: stuck.connections == 1)
            scheduler.shutdown(grace=timedelta(seconds=0.5))
            # the stop is over while the receiver still holds the send
            assert stuck.hung_up == 0
            assert pipeline.store.channel_totals("hook").sent == 0
    finally:
        stuck.stop()
    assert "channel hook: still sending after 0.5 s" in caplog.text


def test_a_backlog_digest_that_failed_goes_out_with_its_retry_not_at_the_next_slot(
    tmp_path: Path,
) -> None:
    extra = "    max_items: 5\n    retry: {delays: [0.5s], jitter: 0}\n"
    project = make_project(tmp_path, schedule="every 1h", extra=extra)
    project.outbox.write_text("a file where the folder should be", encoding="utf-8")
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        total = pipeline.store.channel_totals("local").pending
        with running(pipeline):
            wait_for(lambda: pipeline.store.channel_totals("local").retrying)
            assert pipeline.store.channel_totals("local").pending == 0  # the digest holds all
            project.outbox.unlink()  # the receiver is back before the retry
            wait_for(project.digests)
        (digest,) = project.digests()
        assert (len(digest["items"]), digest["more"]["count"]) == (5, total - 5)
        assert pipeline.store.last_run("local") is not None


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The state two workers share."""
    if request.param == "postgresql":
        cluster: Cluster = request.getfixturevalue("postgres")
        return cluster.new_database()
    return str(tmp_path / "shared.db")


def test_two_workers_racing_for_a_missed_slot_build_one_digest(tmp_path: Path, state: str) -> None:
    project = make_project(tmp_path, schedule="0 8 * * *", state=state)
    with pipeline_of(project) as first, pipeline_of(project) as second:
        ingest_seeds(first, project)
        first.store.record_run("local", datetime.now(UTC) - timedelta(days=3))
        schedulers = [scheduler_of(first), scheduler_of(second)]
        for scheduler in schedulers:  # both start after the slots went by
            scheduler.start()
        try:
            wait_for(project.digests)
            time.sleep(1.5)  # a sweep (timing.sweep: 1s) of each: nothing more comes
        finally:
            for scheduler in schedulers:
                scheduler.shutdown()
    (digest,) = project.digests()
    assert digest["counts"]["matches"] == 15


def test_a_slot_another_worker_builds_is_left_to_it_until_its_claim_runs_out(
    tmp_path: Path, state: str
) -> None:
    project = make_project(tmp_path, schedule="0 8 * * *", state=state)
    with pipeline_of(project) as pipeline:
        ingest_seeds(pipeline, project)
        now = datetime.now(UTC)
        last_run = now - timedelta(days=3)
        pipeline.store.record_run("local", last_run)
        zone = pipeline.config.zone_of(pipeline.config.channels["local"])
        slot = next_due(parse_schedule("0 8 * * *"), last_run, zone, timedelta(seconds=1))
        claimed_until = now + timedelta(seconds=2)  # another worker is building it
        assert pipeline.store.claim_slot("local", slot, "other", now, claimed_until)
        with running(pipeline):
            time.sleep(1.2)  # its start and a sweep (timing.sweep: 1s) go by
            assert project.digests() == []
            wait_for(project.digests)  # the other's claim ran out: this worker builds it
    (digest,) = project.digests()
    assert digest["counts"]["matches"] == 15
