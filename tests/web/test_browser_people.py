"""People and the buyer portal in a real headless chromium, on a desktop and at 375 px: an
admin creates a buyer on the Users page, the buyer logs in on a phone, lands on their
campaigns, downloads the report, checks the chain, and meets a styled 403 with a way back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.models import User
from tests.web.ads_seed import Ads, ads_fixture  # noqa: F401
from tests.web.conftest import ADMIN, SCREENSHOT_DIR, browser_log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
NEW_BUYER = ("dairy-phone", "phone-password-1")


def _fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _phone(browser, live_server: str):
    context = browser.new_context(base_url=live_server, viewport=PHONE, accept_downloads=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    phone.console_errors = []
    phone.on(
        "console",
        lambda message: message.type == "error" and phone.console_errors.append(message.text),
    )
    return context, phone


def test_admin_creates_a_buyer_who_downloads_their_report_on_a_phone(
    page, browser, live_server: str, engine: Engine, ads: Ads
):
    from playwright.sync_api import expect

    browser_log_in(page, ADMIN)
    page.click("nav >> text=Users")
    page.wait_for_url("**/users")
    form = page.locator("#add-user")
    form.locator("input[name=username]").fill(NEW_BUYER[0])
    form.locator("select[name=role]").select_option("buyer")
    form.locator("select[name=advertiser_id]").select_option(label="Dairy Co")
    form.locator("input[name=password]").fill(NEW_BUYER[1])
    form.locator("input[name=confirm]").fill(NEW_BUYER[1])
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Created buyer {NEW_BUYER[0]}.")
    expect(page.locator(f"tr[data-user='{NEW_BUYER[0]}']")).to_contain_text("of Dairy Co")
    with Session(engine) as session:
        buyer = session.scalars(select(User).where(User.username == NEW_BUYER[0])).one()
    assert buyer.advertiser_id == ads.advertiser_id
    assert page.console_errors == []

    context, phone = _phone(browser, live_server)
    try:
        phone.goto("/login")
        phone.fill("input[name=username]", NEW_BUYER[0])
        phone.fill("input[name=password]", NEW_BUYER[1])
        phone.click("button[type=submit]")
        phone.wait_for_url("**/portal/")
        campaigns = phone.locator("#portal-campaigns tbody tr")
        expect(campaigns).to_have_count(1)
        expect(campaigns.first).to_contain_text("Milk spring")
        expect(campaigns.first).to_contain_text("40.0% of 10 plays")
        nav = phone.locator("nav a")
        expect(nav).to_have_text(["Your campaigns", "Account"])
        assert _fits_the_width(phone)
        phone.screenshot(path=str(SCREENSHOT_DIR / "esl-portal-phone.png"), full_page=True)

        phone.click("#portal-campaigns >> text=Milk spring")
        phone.wait_for_url(f"**/portal/campaigns/{ads.campaign_id}")
        expect(phone.locator("[data-field=plays]")).to_have_text("4")
        expect(phone.locator("#by-player")).to_contain_text("Screen s2")
        assert _fits_the_width(phone)
        phone.screenshot(path=str(SCREENSHOT_DIR / "esl-portal-campaign-phone.png"), full_page=True)
        with phone.expect_download() as download_info:
            phone.click("#downloads >> [data-format=csv]")
        download = download_info.value
        assert download.suggested_filename.endswith(".csv")
        csv_text = Path(download.path()).read_text(encoding="utf-8")
        assert "Milk spring" in csv_text and "Espresso" not in csv_text

        phone.click("#verify-link")
        phone.wait_for_url(f"**/portal/campaigns/{ads.campaign_id}/verify")
        expect(phone.locator("#chain-verdict")).to_contain_text("Intact")
        expect(phone.locator("[data-field=head_hash]")).not_to_have_text("–")
        assert _fits_the_width(phone)

        assert phone.console_errors == []  # no CSP violations on any of these pages
        phone.goto("/labels")
        expect(phone.locator("#forbidden h1")).to_have_text("Not for your account")
        assert _fits_the_width(phone)
        phone.click("#way-back")
        phone.wait_for_url("**/portal/")
        # The 403 itself is the one resource the console names; nothing else failed.
        assert all("403" in error for error in phone.console_errors)
    finally:
        context.close()


def test_users_and_audit_pages_work_at_375_px(browser, live_server: str, ads: Ads):
    from playwright.sync_api import expect

    context, phone = _phone(browser, live_server)
    try:
        phone.goto("/login")
        phone.fill("input[name=username]", ADMIN[0])
        phone.fill("input[name=password]", ADMIN[1])
        phone.click("button[type=submit]")
        phone.wait_for_url("**/")
        phone.goto("/users")
        row = phone.locator("tr[data-user='bob']")
        row.locator("text=Log out everywhere").click()
        expect(phone.locator(".flash-success")).to_contain_text("Logged bob out everywhere")
        assert _fits_the_width(phone)
        phone.screenshot(path=str(SCREENSHOT_DIR / "esl-users-phone.png"), full_page=True)
        phone.goto("/audit")
        expect(phone.locator("#audit-table tbody tr").first).to_contain_text("user.logout_all")
        assert _fits_the_width(phone)
        phone.goto("/account")
        expect(phone.locator("#account-username")).to_have_text(ADMIN[0])
        assert _fits_the_width(phone)
        assert phone.console_errors == []
    finally:
        context.close()
