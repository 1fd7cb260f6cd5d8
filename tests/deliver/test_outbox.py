"""The durable outbox: backoff (pure), and retries and claims over a real SQLite file,
a real folder and a real HTTP server."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers import BACKLOG_RULES, HeldWrite, add_backlog
from worker.deliver.outbox import Outbox
from worker.deliver.outcome import Outcome
from worker.digest.render import Renderer
from worker.model import Article, Hit, Match, Mute
from worker.notify import Clients
from worker.rules.ruleset import Keywords, Rule, RuleSet
from worker.settings.config import Config, RetrySettings, load_config
from worker.store import Store, open_store

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
RULES = RuleSet({}, (Rule(id="gas", keywords=Keywords(any=("gas",))),))
DEFAULT = RetrySettings()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def project(root: Path, retry: str, settings: str = "") -> Config:
    (root / "inbox").mkdir()
    (root / "rules").mkdir()
    text = f"""\
        watch: [{{path: inbox}}]
        channels:
          local: {{type: file, path: out, retry: {retry}{settings}}}
          other: {{type: file, path: other-out}}
        """
    (root / "config.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(root / "config.yaml", {})


def add_article(store: Store, n: int) -> None:
    article = Article(f"a{n}", f"Gas deal {n}", "China buys gas.", date(2024, 5, n), f"/in/{n}")
    store.add_article(article, [Match("gas", (Hit("gas", "body", 11, 14),))], T0)


def digests(folder: Path) -> list[dict[str, Any]]:
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [json.loads(path.read_text(encoding="utf-8")) for path in files]


def titles(folder: Path) -> list[str]:
    return [item["article"]["title"] for d in digests(folder) for item in d["items"]]


def test_a_template_that_fails_on_a_digest_keeps_its_matches_waiting(
    tmp_path: Path, store: Store, clients: Clients, caplog: pytest.LogCaptureFixture
) -> None:
    config = project(tmp_path, "{}")
    (tmp_path / "mine").mkdir()
    template = tmp_path / "mine" / "digest.json"
    # Valid JSON for the sample digest it is tried on, not for a title with a quote in it.
    template.write_text('{"title": "{{ digest["items"][0].article.title }}"}', encoding="utf-8")
    renderers = {"local": Renderer(tmp_path / "mine"), "other": Renderer()}
    outbox = Outbox(config, store, clients, lambda: RULES, renderers, clock=Clock())
    article = Article("a1", 'Gas deal "signed"', "China buys gas.", date(2024, 5, 1), "/in/1")
    store.add_article(article, [Match("gas", (Hit("gas", "body", 11, 14),))], T0)
    assert outbox.send("local").failed
    assert not (tmp_path / "out").exists()
    assert store.unsent_digests("local") == []  # nothing half-made is kept to retry
    (line,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert line == (
        f"channel local: the digest waits until its template is fixed: {template}: does not"
        " give JSON: Expecting ',' delimiter at line 1 of its output"
    )
    template.write_text('{"title": {{ digest["items"][0].article.title | json }}}', "utf-8")
    outbox.use_renderers({"local": Renderer(tmp_path / "mine"), "other": Renderer()})
    assert outbox.send("local").sent == 1  # the matches waited for the fix
    assert digests(tmp_path / "out") == [{"title": 'Gas deal "signed"'}]


def test_a_failed_digest_is_retried_unchanged_and_holds_back_the_next(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = project(tmp_path, "{delays: [5s, 1m], jitter: 0}")
    clock = Clock()
    outbox = Outbox(config, store, clients, lambda: RULES, clock=clock)
    (tmp_path / "out").write_text("a file where the folder should be", encoding="utf-8")
    add_article(store, 1)
    failed = outbox.send("local")
    assert (failed.failed, failed.retry_at) == (True, T0 + timedelta(seconds=5))
    (first,) = store.unsent_digests("local")

    add_article(store, 2)
    clock.advance(1)
    waiting = outbox.send("local")  # not due yet: nothing is tried, nothing new is built
    assert (waiting.sent, waiting.retry_at, waiting.held) == (0, T0 + timedelta(seconds=5), True)
    assert [d.id for d in store.unsent_digests("local")] == [first.id]

    (tmp_path / "out").unlink()  # the receiver is back
    clock.advance(5)
    delivered = outbox.send("local", new=False)  # the retry
    assert (delivered.sent, delivered.failed) == (1, False)
    assert outbox.send("local").sent == 1  # then the digest held back (the scheduler owes it)
    assert digests(tmp_path / "out")[0]["digest_id"] == first.id
    assert titles(tmp_path / "out") == ["Gas deal 1", "Gas deal 2"]
    assert outbox.send("local").sent == 0


def test_a_digest_is_dead_after_the_limit_and_retry_dead_sends_it(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = project(tmp_path, "{delays: [5s], give_up_after: 20s, jitter: 0}")
    clock = Clock()
    outbox = Outbox(config, store, clients, lambda: RULES, clock=clock)
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    add_article(store, 1)
    outcomes = []
    for _ in range(5):  # at 0, 5, 10, 15 and 20 s; a retry at 25 s would pass the limit
        outcomes.append(outbox.send("local"))
        clock.advance(5)
    assert [o.dead for o in outcomes] == [0, 0, 0, 0, 1]
    totals = store.channel_totals("local")
    assert (totals.dead, totals.pending, totals.retrying) == (1, 0, 0)
    assert totals.last_error is not None
    assert "cannot write to" in totals.last_error
    assert outbox.send("local").sent == 0  # dead: not tried again by itself

    (tmp_path / "out").unlink()
    assert outbox.revive("local") == 1
    assert outbox.send("local").sent == 1
    assert titles(tmp_path / "out") == ["Gas deal 1"]


def test_a_failing_channel_does_not_stop_another(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = project(tmp_path, "{delays: [5s]}")
    outbox = Outbox(config, store, clients, lambda: RULES, clock=Clock())
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    add_article(store, 1)
    assert outbox.send("local").failed
    assert outbox.send("other").sent == 1
    assert titles(tmp_path / "other-out") == ["Gas deal 1"]


def test_preview_builds_the_digest_and_marks_nothing(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = project(tmp_path, "{}")
    outbox = Outbox(config, store, clients, lambda: RULES, clock=Clock())
    assert outbox.preview("local") is None
    add_article(store, 1)
    preview = outbox.preview("local")
    assert preview is not None
    assert preview.counts.articles == 1
    assert outbox.send("local").sent == 1
    assert digests(tmp_path / "out")[0]["digest_id"] == preview.digest_id


def sending_empty(tmp_path: Path) -> Config:
    """The project's config with its one channel `other`, which sends even when nothing
    matched (`send_empty`)."""
    config = project(tmp_path, "{}")
    quiet = config.channels["other"].model_copy(update={"send_empty": True})
    return config.model_copy(update={"channels": {"other": quiet}})


def test_send_empty_sends_a_digest_when_nothing_matched(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = sending_empty(tmp_path)
    outbox = Outbox(config, store, clients, lambda: RULES, clock=Clock())
    assert outbox.send("other").sent == 1
    (digest,) = digests(tmp_path / "other-out")
    assert digest["counts"]["articles"] == 0


def test_a_muted_channel_sends_not_even_an_empty_digest(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = sending_empty(tmp_path)
    clock = Clock()
    store.add_mute(Mute(0, "channel:other", T0 + timedelta(hours=1), "drop"), T0)
    outbox = Outbox(config, store, clients, lambda: RULES, clock=clock)
    assert outbox.send("other").sent == 0  # its readers are away: no "nothing matched"
    clock.advance(3600)  # the mute is over
    assert outbox.send("other").sent == 1


def test_a_new_digest_held_behind_a_waiting_one_is_told(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = project(tmp_path, "{delays: [5s], jitter: 0}")
    outbox = Outbox(config, store, clients, lambda: RULES, clock=Clock())
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    add_article(store, 1)
    assert not outbox.send("local").held  # tried, failed: nothing held back
    add_article(store, 2)
    assert outbox.send("local").held  # due, but waits behind the first
    assert not outbox.send("local", new=False).held  # a retry alone holds nothing back


def test_a_retry_sends_what_the_first_attempt_sent_though_a_template_changed(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = project(tmp_path, "{delays: [5s], jitter: 0}")
    clock = Clock()
    outbox = Outbox(config, store, clients, lambda: RULES, clock=clock)
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    add_article(store, 1)
    assert outbox.send("local").failed
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "digest.txt").write_text("a template edited meanwhile\n", encoding="utf-8")
    outbox.use_renderers({"local": Renderer(folder), "other": Renderer()})
    (tmp_path / "out").unlink()
    clock.advance(5)
    assert outbox.send("local", new=False).sent == 1
    (text,) = (tmp_path / "out").glob("*.txt")
    assert text.read_text(encoding="utf-8").startswith("1 article matched on local")


def test_a_backlog_goes_out_as_one_digest_listing_the_first_and_counting_the_rest(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    # A section per rule: the backlog's articles, alike, would be one story.
    config = project(tmp_path, "{}", ", group_by: rule")
    outbox = Outbox(config, store, clients, lambda: BACKLOG_RULES, clock=Clock())
    add_backlog(store, 500, T0)
    assert outbox.send("local").sent == 1
    (sent,) = digests(tmp_path / "out")
    # The 50 it lists: the high-priority rule's, newest first.
    listed = [item["article"]["title"] for item in sent["items"]]
    assert sorted(listed) == sorted(f"Deal {n}" for n in range(500, 254, -5))
    assert {item["rule"] for item in sent["items"]} == {"gas"}
    more = sent["more"]
    assert (more["count"], more["by_rule"]) == (450, {"oil": 400, "gas": 50})
    assert more["by_participant"] == {"Xi Jinping": 225, "Vladimir Putin": 149}
    command = f"wirewatch matches --digest {sent['digest_id']}"
    assert more["command"] == command
    (text,) = (tmp_path / "out").glob("*.txt")
    told = text.read_text(encoding="utf-8")
    assert f"… and 450 more — `{command}` lists them" in told
    assert "By rule: oil (400), gas (50)" in told
    (html,) = (tmp_path / "out").glob("*.html")
    assert "By participant: Xi Jinping (225), Vladimir Putin (149)" in html.read_text("utf-8")
    # It holds them all: none is pending, none goes out again, all are listed by the command.
    assert store.channel_totals("local").pending == 0
    assert outbox.send("local").sent == 0
    assert len(digests(tmp_path / "out")) == 1
    held = list(store.stored_matches(digest_id=sent["digest_id"]))
    assert sorted(record.title for record in held) == sorted(f"Deal {n}" for n in range(1, 501))


def test_a_backlog_leaves_out_what_a_mute_keeps_out_before_it_lists_and_counts(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = project(tmp_path, "{}", ", group_by: rule")
    outbox = Outbox(config, store, clients, lambda: BACKLOG_RULES, clock=Clock())
    add_backlog(store, 500, T0)
    store.add_mute(Mute(0, "rule:oil", T0 + timedelta(days=1), "drop"), T0)
    preview = outbox.preview("local")
    assert preview is not None
    assert preview.more is not None
    assert (len(preview.items), preview.more.count) == (50, 50)
    assert store.channel_totals("local").pending == 500  # a preview takes nothing
    assert outbox.send("local").sent == 1
    (sent,) = digests(tmp_path / "out")
    assert {item["rule"] for item in sent["items"]} == {"gas"}
    assert (sent["more"]["count"], sent["more"]["by_rule"]) == (50, {"gas": 50})
    assert store.channel_totals("local").pending == 0  # the muted ones dropped
    held = list(store.stored_matches(digest_id=sent["digest_id"]))
    assert len(held) == 100


def test_a_backlog_digest_that_failed_is_retried_holding_all_of_it(
    tmp_path: Path, store: Store, clients: Clients
) -> None:
    config = project(tmp_path, "{delays: [5s], jitter: 0}", ", max_items: 2")
    clock = Clock()
    outbox = Outbox(config, store, clients, lambda: RULES, clock=clock)
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    for n in range(1, 6):
        add_article(store, n)
    failed = outbox.send("local")
    assert (failed.sent, failed.failed, failed.retry_at) == (0, True, T0 + timedelta(seconds=5))
    assert store.channel_totals("local").pending == 0  # the digest holds them all
    (tmp_path / "out").unlink()
    clock.advance(5)
    retried = outbox.send("local")
    assert (retried.sent, retried.failed, retried.dead, retried.held) == (1, False, 0, False)
    assert sorted(titles(tmp_path / "out")) == ["Gas deal 4", "Gas deal 5"]  # the newest
    (sent,) = digests(tmp_path / "out")
    assert sent["more"]["count"] == 3
    assert outbox.send("local").sent == 0


def test_a_clock_set_back_loses_no_match(tmp_path: Path, store: Store, clients: Clients) -> None:
    config = project(tmp_path, "{}")
    clock = Clock()
    clock.advance(3600)  # an hour fast when the channel first came
    outbox = Outbox(config, store, clients, lambda: RULES, clock=clock)
    clock.now = T0  # put right
    article = Article("a1", "Gas deal", "China buys gas.", date(2024, 5, 1), "/in/1")
    store.add_article(article, [Match("gas", (Hit("gas", "body", 11, 14),))], T0)
    assert outbox.send("local").sent == 1
    assert titles(tmp_path / "out") == ["Gas deal"]


def hook_project(root: Path, url: str, lease: str) -> Config:
    (root / "inbox").mkdir()
    (root / "rules").mkdir()
    text = (
        f"watch: [{{path: inbox}}]\ntiming: {{lease: {lease}}}\n"
        f"channels:\n  hook: {{type: webhook, url: '{url}'}}\n"
    )
    (root / "config.yaml").write_text(text, encoding="utf-8")
    return load_config(root / "config.yaml", {})


def now() -> datetime:
    return datetime.now(UTC)


def add_article_now(store: Store) -> None:
    article = Article("a1", "Gas deal", "China buys gas.", date(2024, 5, 1), "/in/1")
    store.add_article(article, [Match("gas", (Hit("gas", "body", 11, 14),))], now())


@pytest.mark.timeout(30)
def test_a_digest_being_delivered_is_not_sent_by_a_second_sender(
    tmp_path: Path, httpserver_ipv4: HTTPServer, clients: Clients
) -> None:
    in_flight, release = threading.Event(), threading.Event()

    def slow(request: Request) -> Response:
        in_flight.set()
        release.wait(timeout=20)
        return Response("ok")

    httpserver_ipv4.expect_request("/hook").respond_with_handler(slow)
    config = hook_project(tmp_path, httpserver_ipv4.url_for("/hook"), lease="1s")
    stores = [open_store(str(tmp_path / "state.db")) for _ in range(2)]  # one for each process
    first, second = (Outbox(config, s, clients, lambda: RULES, clock=now) for s in stores)
    add_article_now(stores[0])
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            sending = pool.submit(first.send, "hook")
            assert in_flight.wait(timeout=10)
            during = [second.send("hook")]
            time.sleep(1.5)  # past the first lease: the sender renewed it
            during.append(second.send("hook"))
            release.set()
            assert sending.result(timeout=10).sent == 1
        assert [(o.sent, o.elsewhere) for o in during] == [(0, True), (0, True)]
        assert second.send("hook").sent == 0
        assert len(httpserver_ipv4.log) == 1
        assert stores[1].channel_totals("hook").sent == 1
    finally:
        release.set()
        for store in stores:
            store.close()


def locked_after_delivery(
    tmp_path: Path, receiver: HTTPServer, clients: Clients, lease: str
) -> tuple[Config, Outbox, Store, HeldWrite, threading.Event]:
    """An outbox whose receiver, once it took a digest, locks the outbox's state file."""
    path = tmp_path / "state.db"
    store = open_store(str(path), busy_timeout=timedelta(seconds=0.1))
    blocker, locked = HeldWrite(str(path)), threading.Event()

    def accept_then_lock(request: Request) -> Response:
        blocker.take()
        locked.set()
        return Response("ok")

    receiver.expect_request("/hook").respond_with_handler(accept_then_lock)
    config = hook_project(tmp_path, receiver.url_for("/hook"), lease)
    outbox = Outbox(config, store, clients, lambda: RULES, clock=now)
    add_article_now(store)
    return config, outbox, store, blocker, locked


@pytest.mark.timeout(30)
def test_a_digest_delivered_while_the_state_file_is_locked_is_marked_sent_not_resent(
    tmp_path: Path,
    httpserver_ipv4: HTTPServer,
    clients: Clients,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, first, store, blocker, locked = locked_after_delivery(
        tmp_path, httpserver_ipv4, clients, "3s"
    )
    other = open_store(str(tmp_path / "state.db"))  # another process, as `wirewatch digest`
    second = Outbox(config, other, clients, lambda: RULES, clock=now)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            sending = pool.submit(first.send, "hook")
            assert locked.wait(timeout=10)
            time.sleep(1)  # within the lease: it fails to mark the digest sent, and tries again
            blocker.release()
            during = second.send("hook")  # the claim keeps it off the digest
            outcome = sending.result(timeout=10)
        assert (outcome.sent, outcome.failed) == (1, False)
        assert during.sent == 0
        assert first.send("hook", new=False).sent == 0
        assert second.send("hook").sent == 0
        assert len(httpserver_ipv4.log) == 1
        assert other.channel_totals("hook").sent == 1
        told = [r.getMessage() for r in caplog.records if r.name == "worker.deliver.record"]
        assert any("was delivered but is not marked sent yet" in line for line in told)
        assert not any(r.levelname == "ERROR" for r in caplog.records)
    finally:
        blocker.close()
        store.close()
        other.close()


@pytest.mark.timeout(30)
def test_a_digest_not_marked_sent_within_its_lease_is_never_resent_by_its_sender(
    tmp_path: Path,
    httpserver_ipv4: HTTPServer,
    clients: Clients,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, outbox, store, blocker, locked = locked_after_delivery(
        tmp_path, httpserver_ipv4, clients, "1s"
    )
    try:
        delivered = outbox.send("hook")  # returns once the lease has run out, still locked
        assert locked.is_set()
        assert (delivered.sent, delivered.failed) == (1, False)
        (error,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert "was delivered but cannot be marked sent:" in error
        assert "database is locked" in error
        time.sleep(1)
        waiting = outbox.send("hook", new=False)  # still locked: marking it waits, no resend
        assert (waiting.sent, waiting.retry_at is not None) == (0, True)
        blocker.release()
        assert outbox.send("hook", new=False) == Outcome()
        assert len(httpserver_ipv4.log) == 1
        assert store.channel_totals("hook").sent == 1
        assert store.unsent_digests("hook") == []
    finally:
        blocker.close()
        store.close()
