"""The catalogue pages in a real chromium, under the strict CSP: a manager finds a product,
is refused a bad manual price, sets a good one and a promotion, and finds the promotion's
labels on the calendar; the same pages at 375 px, the width of a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.models import Product
from esl_controller.web.catalogue_actions import set_manual_promotion
from tests.web.conftest import SCREENSHOT_DIR, browser_log_in

pytestmark = pytest.mark.browser

DALIA = "5901234123457"
PHONE = {"width": 375, "height": 740}


def test_manager_sets_a_manual_price_and_promotion_and_sees_its_labels(page, engine):
    from playwright.sync_api import expect

    browser_log_in(page)
    page.click("nav >> text=Products")
    page.fill("#product-q", "Hochland")
    page.click("form.filters button[type=submit]")
    rows = page.locator("#products-table tbody tr")
    expect(rows).to_have_count(1)
    page.click("#products-table >> text=Cașcaval Dalia")
    page.wait_for_url(f"**/products/{DALIA}")
    expect(page.locator("#price-chart polyline")).to_have_count(1)
    expect(page.locator("#product-labels")).to_contain_text("L-ACKED")

    page.fill("#manual-price-price", "0")
    page.fill("#manual-price-reason", "ERP down since 9:00")
    page.click("#manual-price button[type=submit]")
    expect(page.locator("#manual-price-price-error")).to_contain_text("more than zero")
    expect(page.locator("#manual-price-reason")).to_have_value("ERP down since 9:00")
    expect(page.locator("#manual-price-price")).to_have_attribute("aria-invalid", "true")

    page.fill("#manual-price-price", "22.49")
    page.click("#manual-price button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Manual price 22.49 RON set")
    expect(page.locator("#manual-badge")).to_be_visible()
    with Session(engine) as s:
        assert s.scalars(select(Product).where(Product.gtin == DALIA)).one().price_minor == 2249

    today = utcnow().date()
    page.fill("#manual-promotion-price", "19.99")
    page.fill("#manual-promotion-starts", today.isoformat())
    page.fill("#manual-promotion-ends", (today + timedelta(days=2)).isoformat())
    page.fill("#manual-promotion-reason", "head office offer by phone")
    page.click("#manual-promotion button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Manual promotion added")
    expect(page.locator("#prior-lowest")).to_contain_text("22.49 RON")
    expect(page.locator("#prior-reason")).to_contain_text("lowest price in the 30 days before")
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-product.png"), full_page=True)

    page.click("nav >> text=Promotions")
    chip = page.locator("#promo-calendar a.promo-chip", has_text="Cașcaval Dalia")
    expect(chip.first).to_be_visible()
    chip.first.click()
    row = page.locator("#promotions-table tbody tr", has_text="Cașcaval Dalia")
    expect(row).to_contain_text("L-ACKED")
    expect(row).to_contain_text("L-FAILED")
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-promotions.png"), full_page=True)
    # The refused price answered 400 on purpose; nothing else (no CSP violation) may fail.
    refused = "status of 400"
    assert [error for error in page.console_errors if refused not in error] == []


@pytest.mark.parametrize("path", ["/products", f"/products/{DALIA}", "/promotions"])
def test_catalogue_pages_fit_a_phone(page, path):
    from playwright.sync_api import expect

    browser_log_in(page)
    page.set_viewport_size(PHONE)
    page.goto(path)
    expect(page.locator("main h1")).to_be_visible()
    # The page's own content stays within the phone's width; wide tables scroll in a box.
    overflow = page.evaluate(
        "() => [...document.querySelectorAll('main > *')]"
        ".filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(el => el.tagName + '#' + el.id + '.' + el.className)"
    )
    assert overflow == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for field in page.locator("main input:not([type=hidden])").all():
        box = field.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(
        path=str(SCREENSHOT_DIR / f"esl-phone{path.replace('/', '-')}.png"), full_page=True
    )
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["/products", f"/products/{DALIA}", "/promotions"])
def test_catalogue_pages_have_no_serious_accessibility_violations(page, engine, settings, path):
    from axe_playwright_python.sync_playwright import Axe

    today = utcnow().date()
    last_day = today + timedelta(days=2)
    with Session(engine) as s:  # a promotion, so the calendar and the prior price show
        set_manual_promotion(s, engine, settings, DALIA, 1999, today, last_day, "offer", "bob")
    browser_log_in(page)
    page.goto(path)
    results = Axe().run(page)
    serious = [
        (violation["id"], [node["target"] for node in violation["nodes"]][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == []
