"""A run is never lost: a failed run's successor continues from its committed cursor, a dead
run is taken over (or failed, so the next continues it), and a live run keeps its lock."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller import lease
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.erp import sync as sync_module
from esl_controller.erp.feeds.base import FeedError
from esl_controller.erp.runner import SyncRunner
from esl_controller.erp.sync import dead_runs, feed_state_key, resume_interrupted, run_sync
from esl_controller.erp.sync_lock import sync_lock_key
from esl_controller.esl.refresh import RefreshReport
from esl_controller.models import FeedState, Incident, PriceHistory, Product, SyncRun
from esl_controller.web.sync_requests import active_sync_run
from tests.support.erp import FakeFeed, product_raw, promotion_raw
from tests.support.gtins import make_gtin

STORE = Settings().store_id  # the store of the `settings` fixture
SYNC_LOCK_KEY = sync_lock_key(STORE)


@pytest.fixture(autouse=True)
def _store(store):
    return store


class WorkerKilled(BaseException):
    """The process dying mid-run: not an Exception, so nothing records it."""


RECORDS = [product_raw(n) for n in range(12)]
PROMOTIONS = [promotion_raw("PR-1", 5)]


def get_run(engine, run_id: int) -> SyncRun:
    with Session(engine) as s:
        return s.get(SyncRun, run_id)


def gtins(engine) -> set[str]:
    with Session(engine) as s:
        return set(s.execute(select(Product.gtin)).scalars())


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def leave_running(engine, settings, holder: str) -> SyncRun:
    """A run that died after two pages, its lock still held in the name of `holder`."""
    with pytest.raises(WorkerKilled):
        run_sync(
            engine, FakeFeed(RECORDS, PROMOTIONS, crash_after=2, crash=WorkerKilled()), settings
        )
    with session_scope(engine) as s:
        run = s.execute(select(SyncRun)).scalars().one()
        run.holder = holder
    lease.acquire(engine, SYNC_LOCK_KEY, holder, 120)
    return get_run(engine, run.id)


def test_the_run_after_a_failed_one_continues_from_its_cursor(engine, settings) -> None:
    failing = FakeFeed(RECORDS, PROMOTIONS, crash_after=2, crash=FeedError("ERP went away"))
    failed = run_sync(engine, failing, settings, full=True)
    assert failed.status == "failed"
    assert (get_run(engine, failed.run_id).resume_cursor, len(gtins(engine))) == ("6", 6)

    healthy = FakeFeed(RECORDS, PROMOTIONS)
    outcome = run_sync(engine, healthy, settings)

    run = get_run(engine, outcome.run_id)
    assert outcome.status == "succeeded"
    assert healthy.calls[0]["cursor"] == "6"  # not page 1 again
    assert (run.retry_of, run.full) == (failed.run_id, True)
    assert gtins(engine) == {make_gtin(n) for n in range(12)}
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(PriceHistory)).scalar_one() == 12
        watermark = s.get(FeedState, feed_state_key(STORE, "fake", "products")).watermark
    # The products stream was read from the failed run's start: changes made since then
    # on its pages must not be skipped by the next incremental run.
    assert watermark.replace(tzinfo=None) == get_run(engine, failed.run_id).started_at.replace(
        tzinfo=None
    )


def test_a_run_asking_for_the_other_mode_starts_afresh(engine, settings) -> None:
    run_sync(engine, FakeFeed(RECORDS), settings, full=True)
    changed = [product_raw(n, modified_at="2026-11-23T10:30:00Z") for n in range(12)]
    failing = FakeFeed(changed, crash_after=1, crash=FeedError("ERP went away"))
    assert run_sync(engine, failing, settings).status == "failed"  # incremental
    healthy = FakeFeed(RECORDS)
    run_sync(engine, healthy, settings, full=True)
    assert healthy.calls[0]["cursor"] is None


def test_a_run_whose_process_is_gone_is_taken_over_at_once(engine, settings) -> None:
    gone = f"{socket.gethostname()}:{dead_pid()}:deadbeef"
    dead = leave_running(engine, settings, gone)

    outcome = resume_interrupted(engine, FakeFeed(RECORDS, PROMOTIONS), settings)

    run = get_run(engine, dead.id)
    assert outcome.run_id == dead.id and outcome.status == "succeeded"
    assert (run.takeovers, run.holder != gone) == (1, True)
    assert gtins(engine) == {make_gtin(n) for n in range(12)}
    with Session(engine) as s:
        (incident,) = s.execute(select(Incident).where(Incident.kind == "sync_takeover")).scalars()
    assert gone in incident.message


def test_a_live_holder_keeps_its_run(engine, settings) -> None:
    alive = f"{socket.gethostname()}:1:cafe"  # pid 1 always lives
    leave_running(engine, settings, alive)
    assert dead_runs(engine, STORE) == []
    assert resume_interrupted(engine, FakeFeed(RECORDS), settings) is None


def test_an_orphan_behind_a_live_sync_fails_and_frees_sync_now(engine, settings) -> None:
    orphan = leave_running(engine, settings, "elsewhere:42:0ld")
    lease.release(engine, SYNC_LOCK_KEY, "elsewhere:42:0ld")  # another worker ran since
    lease.acquire(engine, SYNC_LOCK_KEY, f"{socket.gethostname()}:1:busy", 120)

    outcome = resume_interrupted(engine, FakeFeed(RECORDS), settings)

    assert outcome.status == "skipped"
    run = get_run(engine, orphan.id)
    assert run.status == "failed" and "no longer holds the sync lock" in run.error
    with Session(engine) as s:
        assert active_sync_run(s) is None  # "Sync now" is no longer refused with 409
    lease.release(engine, SYNC_LOCK_KEY, f"{socket.gethostname()}:1:busy")
    healthy = FakeFeed(RECORDS)
    assert run_sync(engine, healthy, settings).status == "succeeded"
    assert healthy.calls[0]["cursor"] == "6"  # and the next run continues the orphan


def test_the_worker_poll_takes_over_a_dead_run(engine, settings) -> None:
    dead = leave_running(engine, settings, f"{socket.gethostname()}:{dead_pid()}:x")
    refreshed: list[list[str]] = []

    def refresh(label_ids: list[str]) -> RefreshReport:
        refreshed.append(label_ids)
        return RefreshReport()

    runner = SyncRunner(engine, settings, refresh, feed_factory=lambda _s: FakeFeed(RECORDS))
    outcome = runner.run_requested()
    assert outcome is not None and outcome.run_id == dead.id
    assert get_run(engine, dead.id).status == "succeeded"
    assert runner.run_requested() is None


def test_the_lock_is_renewed_while_a_page_takes_longer_than_its_term(
    engine, settings, monkeypatch
) -> None:
    term = 2.0
    monkeypatch.setattr(sync_module, "SYNC_LOCK_SECONDS", term)
    on_page_two = threading.Event()
    carry_on = threading.Event()

    class SlowFeed(FakeFeed):
        def pages(self, stream, **kwargs):
            for number, page in enumerate(super().pages(stream, **kwargs)):
                if stream == "products" and number == 1:
                    on_page_two.set()
                    carry_on.wait(10)
                yield page

    outcome: list = []
    worker = threading.Thread(
        target=lambda: outcome.append(run_sync(engine, SlowFeed(RECORDS), settings))
    )
    worker.start()
    assert on_page_two.wait(10)
    # Wait, by the renewals themselves, until the run has outlived its first lock term: a
    # renewal after the first expiry pushes the expiry past first expiry + term.
    first_expiry = lease.current(engine, SYNC_LOCK_KEY)[1]
    outlived = first_expiry + timedelta(seconds=term)
    while lease.current(engine, SYNC_LOCK_KEY)[1] <= outlived:
        threading.Event().wait(0.05)
    second = run_sync(engine, FakeFeed(RECORDS), settings)
    carry_on.set()
    worker.join(10)
    assert second.status == "skipped"
    assert dead_runs(engine, STORE) == []
    assert outcome[0].status == "succeeded"


def test_a_run_that_lost_its_lock_stops_without_writing(engine, settings) -> None:
    class TakenOverFeed(FakeFeed):
        def pages(self, stream, **kwargs):
            for number, page in enumerate(super().pages(stream, **kwargs)):
                if number == 1:
                    with session_scope(engine) as s:
                        run = s.execute(select(SyncRun)).scalars().one()
                        run.holder = "the-new-holder"
                yield page

    outcome = run_sync(engine, TakenOverFeed(RECORDS), settings)

    run = get_run(engine, outcome.run_id)
    assert (outcome.status, run.status, run.holder) == ("running", "running", "the-new-holder")
    assert run.pages_done == 1 and run.error is None


def test_a_dead_run_of_a_feed_no_longer_configured_is_failed(engine, settings) -> None:
    with session_scope(engine) as s:
        s.add(SyncRun(store_id=STORE, feed="odoo", status="running", holder="elsewhere:7:gone"))
    assert resume_interrupted(engine, FakeFeed(RECORDS), settings) is None
    with Session(engine) as s:
        (run,) = s.execute(select(SyncRun)).scalars()
        assert run.status == "failed" and "the feed is now fake" in run.error
        assert active_sync_run(s) is None
