"""The revenue pages in a real headless chromium: revenue charts (server-drawn SVG, no CSP
violations), creating a report schedule, and the delivery log with a failed webhook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from esl_controller.db import session_scope
from esl_controller.models import ReportDelivery, ReportSchedule
from tests.web.ads_seed import FLIGHT_START, Ads, ads_fixture  # noqa: F401
from tests.web.conftest import SCREENSHOT_DIR, browser_log_in

pytestmark = pytest.mark.browser


def test_manager_reads_revenue_schedules_a_report_and_sees_the_log(page, engine: Engine, ads: Ads):
    from playwright.sync_api import expect

    browser_log_in(page)
    page.click("nav >> text=Revenue")
    page.wait_for_url("**/revenue")
    page.fill("input[name=from]", "2026-03-01")
    page.fill("input[name=to]", "2026-03-07")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#revenue-totals")).to_contain_text("0.13 RON")
    expect(page.locator("#revenue-by-campaign tbody tr")).to_have_count(2)
    expect(page.locator("#revenue-by-campaign")).to_contain_text("Milk spring")
    campaign_bars = page.locator("#revenue-by-campaign svg rect")
    expect(campaign_bars).to_have_count(2)
    widths = [float(bar.get_attribute("width")) for bar in campaign_bars.all()]
    assert widths[0] > widths[1] > 0  # Milk earned more than Espresso
    # The stylesheet (not inline style) colours the bars: CSP allows it.
    fill = campaign_bars.first.evaluate("bar => getComputedStyle(bar).fill")
    assert fill not in ("", "none", "rgb(0, 0, 0)")
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-revenue.png"), full_page=True)

    page.click("nav.chips >> text=Report schedules")
    page.select_option("select[name=cadence]", "weekly")
    page.select_option("select[name=format]", "csv")
    page.fill("input[name=webhook_url]", "https://buyer.example/hook")
    page.fill("input[name=webhook_secret_name]", "dairy")
    page.click("#schedule-form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("created")
    expect(page.locator("#schedules-table")).to_contain_text("weekly")
    with session_scope(engine) as session:
        (schedule,) = session.scalars(select(ReportSchedule)).all()
        assert (schedule.cadence, schedule.webhook_secret_name) == ("weekly", "DAIRY")
        session.add(
            ReportDelivery(
                schedule_id=schedule.id,
                channel="webhook",
                status="failed",
                period_from=FLIGHT_START,
                period_to=FLIGHT_START + timedelta(days=7),
                attempts=9,
                last_error="gave up after 9 attempts over 6.0 h: POST https://buyer.example/hook: "
                "HTTP 503",
            )
        )

    page.click("nav.chips >> text=Delivery log")
    row = page.locator("#deliveries-table tbody tr").first
    expect(row.locator(".badge")).to_have_text("failed")
    expect(row).to_contain_text("HTTP 503")
    page.click("nav.chips >> text=sent")
    expect(page.locator("#deliveries-table")).to_contain_text("No report deliveries yet.")
    assert page.console_errors == []
