"""The dashboard in a real headless chromium against a real WSGI server."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.db import session_scope
from esl_controller.models import Label, OutboxMessage
from tests.web.conftest import SCREENSHOT_DIR, browser_log_in

pytestmark = pytest.mark.browser


def _log_in(page) -> None:
    page.goto("/")
    assert page.url.endswith("/login?next=%2F")  # the dashboard asks for a login first
    browser_log_in(page)


def _outbox_rows(engine: Engine, label_id: str) -> list[OutboxMessage]:
    with Session(engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.label_id == label_id)
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def test_manager_walks_through_the_dashboard(page, engine: Engine):
    from playwright.sync_api import expect

    _log_in(page)
    expect(page.locator("[data-field='labels.up_to_date']")).to_have_text("1")
    expect(page.locator("[data-field='labels.bound']")).to_have_text("4")
    expect(page.locator("[data-field='labels.by_state.failed']")).to_have_text("1")
    expect(page.locator("#incident-counts")).to_contain_text("invalid_gtin")
    expect(page.locator("#refreshed")).to_contain_text("Last refreshed")  # the fetch ran
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-overview.png"), full_page=True)

    page.click("nav >> text=Labels")
    page.select_option("select[name=state]", "failed")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/labels?*state=failed*")
    rows = page.locator("#labels-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("no ack after 5 attempts")

    page.fill("input[name=q]", "")
    page.select_option("select[name=state]", "")
    page.fill("input[name=q]", "Cașcaval")
    page.click("form.filters button[type=submit]")
    expect(rows).to_have_count(2)
    page.click("#labels-table >> text=L-ACKED")
    page.wait_for_url("**/labels/L-ACKED")

    preview = page.locator("#label-preview")
    expect(preview).to_be_visible()
    page.wait_for_function("document.getElementById('label-preview').complete")
    assert preview.evaluate("image => image.naturalWidth") > 0
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-label.png"), full_page=True)

    page.click("#repush")
    expect(page.locator(".flash-success")).to_contain_text("Re-push of L-ACKED queued")
    rows_after_repush = _outbox_rows(engine, "L-ACKED")
    assert [row.kind for row in rows_after_repush] == ["image"]
    expect(page.locator("#outbox-table tbody tr")).to_have_count(1)

    page.select_option("select[name=colour]", "red")
    page.select_option("select[name=pattern]", "fast_blink")
    page.fill("input[name=seconds]", "20")
    page.click("#flash-led")
    expect(page.locator(".flash-success")).to_contain_text("LED flash (red, fast_blink, 20 s)")
    assert [row.kind for row in _outbox_rows(engine, "L-ACKED")] == ["image", "led"]

    page.click("text=Log out")
    page.wait_for_url("**/login")
    expect(page.locator(".flash-success")).to_contain_text("You are logged out.")
    page.goto("/labels")
    assert "/login" in page.url
    assert page.console_errors == []  # no CSP violations, no failed scripts


def test_overview_refreshes_itself_while_labels_are_acked(page, engine: Engine):
    from playwright.sync_api import expect

    _log_in(page)
    expect(page.locator("[data-field='labels.up_to_date']")).to_have_text("1")
    with session_scope(engine) as session:
        session.execute(
            update(Label).where(Label.state.in_(["pending", "sent"])).values(state="acked")
        )
    # no reload: the page's own poll of /api/v1/summary brings the new counts
    expect(page.locator("[data-field='labels.up_to_date']")).to_have_text("3")
    expect(page.locator("[data-field='labels.by_state.pending']")).to_have_text("0")
    assert page.locator("#labels-progress").evaluate("bar => bar.value") == 3
    assert page.console_errors == []
