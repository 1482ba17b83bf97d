"""Adding a base station from the dashboard, in a real chromium."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from esl_controller.models import BaseStation
from tests.web.conftest import SCREENSHOT_DIR, browser_log_in

pytestmark = pytest.mark.browser


def test_manager_adds_an_access_point_from_the_stations_page(page, engine):
    from playwright.sync_api import expect

    page.goto("/base-stations")
    browser_log_in(page)
    page.goto("/base-stations")
    page.fill("#station-id", "ap-front")
    page.select_option("#station-driver", "oepl")
    page.fill("#station-url", "http://10.0.0.5")
    page.fill("#station-name", "Front of store")
    page.click("#add-station button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Base station ap-front added")
    expect(page.locator("#stations-table")).to_contain_text("Front of store")
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-base-stations.png"), full_page=True)
    with Session(engine) as s:
        assert s.get(BaseStation, "ap-front").driver == "oepl"

    page.fill("#station-id", "ap-2")
    page.select_option("#station-driver", "oepl")  # no address: the driver refuses it
    page.click("#add-station button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Base station not added")
    with Session(engine) as s:
        assert s.get(BaseStation, "ap-2") is None


def test_the_stations_page_follows_a_repush_as_it_goes(page, engine):
    from playwright.sync_api import expect

    from esl_controller.db import session_scope
    from esl_controller.models import OutboxMessage

    browser_log_in(page)
    page.goto("/base-stations")
    row = page.locator("#station-bs-2")
    expect(row.locator(".progress-cell")).to_contain_text("0 of 1 (0 %)")
    with session_scope(engine) as s:  # the worker queues a re-push of three more labels
        for label_id in ("L-ACKED", "L-SENT", "L-FAILED"):
            s.add(OutboxMessage(label_id=label_id, base_station_id="bs-2", payload=b"x"))
    expect(row.locator(".queue")).to_contain_text("4 pending", timeout=20_000)
    expect(row.locator(".progress-cell")).to_contain_text("0 of 4")
    assert page.console_errors == []
