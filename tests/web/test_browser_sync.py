"""The sync pages in a real headless chromium against a real WSGI server: request a sync,
watch it progress (the worker's part is played by writing the run row), read a failed
run's dead letters and re-run it."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import SyncRun
from tests.support.sync_runs import add_failed_run
from tests.web.conftest import SCREENSHOT_DIR, browser_log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def failed_run(engine: Engine, live_server: str) -> int:
    return add_failed_run(engine, fetched=40, more_refused=1)


def _newest_run(engine: Engine) -> SyncRun:
    with Session(engine) as session:
        return session.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()


def _worker_writes(engine: Engine, run_id: int, **values) -> None:
    with session_scope(engine) as session:
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))


def test_manager_requests_a_sync_and_watches_it(page, engine: Engine, failed_run: int):
    from playwright.sync_api import expect

    browser_log_in(page)
    page.click("nav >> text=Sync")
    page.wait_for_url("**/sync")
    page.click("#sync-now")
    expect(page.locator(".flash-success")).to_contain_text("requested")
    requested = _newest_run(engine)
    assert (requested.status, requested.trigger) == ("requested", "manual")
    row = page.locator(f"#sync-run-{requested.id}")
    expect(row.locator(".badge")).to_have_text("requested")

    # The worker takes it: the page notices the new status by itself and shows progress.
    _worker_writes(
        engine, requested.id, status="running", started_at=utcnow(), phase="products",
        pages_done=2, fetched=1000,
    )  # fmt: skip
    expect(row.locator(".badge")).to_have_text("running")
    expect(row.locator(".sync-progress [data-field=fetched]")).to_have_text("1000")
    _worker_writes(engine, requested.id, pages_done=3, fetched=1500)
    expect(row.locator(".sync-progress [data-field=pages_done]")).to_have_text("3")
    expect(row.locator(".sync-progress [data-field=fetched]")).to_have_text("1500")
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-sync-running.png"), full_page=True)

    _worker_writes(
        engine, requested.id, status="succeeded", finished_at=utcnow(), fetched=1500,
        changed=12, labels_rendered=12,
    )  # fmt: skip
    expect(row.locator(".badge")).to_have_text("succeeded")
    expect(row.locator("[data-field=labels_rendered]")).to_have_text("12")

    page.click(f"#sync-runs-table >> text=#{failed_run}")
    page.wait_for_url(f"**/sync/{failed_run}")
    letters = page.locator("#dead-letters-table tbody tr")
    expect(letters).to_have_count(2)
    expect(letters.first).to_contain_text("check digit is 8, expected 7")
    expect(letters.nth(1)).to_contain_text("PR-1007")
    expect(page.locator("#run-error")).to_contain_text("503")
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-sync-failed-run.png"), full_page=True)

    page.click("#rerun")
    expect(page.locator(".flash-success")).to_contain_text(f"Re-run of #{failed_run} requested")
    retry = _newest_run(engine)
    assert (retry.status, retry.trigger, retry.retry_of) == ("requested", "retry", failed_run)
    page.wait_for_url(f"**/sync/{retry.id}")
    assert page.console_errors == []  # no CSP violations, no failed scripts
