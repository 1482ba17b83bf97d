"""People and the buyer portal in a real headless chromium, on a desktop and at 375 px: an
admin creates a buyer on the Users page, the buyer logs in on a phone, lands on their
campaigns, downloads the report, checks the chain, and meets a styled 403 with a way back."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.models import Impression, User
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


def _seeded_totals(engine: Engine, campaign_id: int) -> tuple[int, int]:
    """What the billing log holds for the campaign: plays, impressions x 1,000."""
    with Session(engine) as session:
        impressions = session.scalars(
            select(Impression.impressions_milli).where(Impression.campaign_id == campaign_id)
        ).all()
    return len(impressions), sum(impressions)


def _download(page, fmt: str) -> bytes:
    with page.expect_download() as download_info:
        page.click(f"#downloads >> [data-format={fmt}]")
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(f".{fmt}")
    return Path(download.path()).read_bytes()


def test_a_new_buyer_logs_in_after_the_admin_and_their_reports_add_up_to_the_plays(
    page, engine: Engine, ads: Ads
):
    """One browser, as a newcomer would: the admin creates the buyer, logs out, the buyer
    logs in, finds the campaign and downloads its report in every format."""
    from playwright.sync_api import expect

    buyer = ("dairy-newcomer", "newcomer-password-1")
    browser_log_in(page, ADMIN)
    page.click("nav >> text=Users")
    form = page.locator("#add-user")
    form.locator("input[name=username]").fill(buyer[0])
    form.locator("select[name=role]").select_option("buyer")
    form.locator("select[name=advertiser_id]").select_option(label="Dairy Co")
    form.locator("input[name=password]").fill(buyer[1])
    form.locator("input[name=confirm]").fill(buyer[1])
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Created buyer {buyer[0]}.")
    page.click("form.logout button")
    page.wait_for_url("**/login")
    expect(page.locator(".flash-success")).to_have_text("You are logged out.")

    page.fill("input[name=username]", buyer[0])
    page.fill("input[name=password]", buyer[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/")
    campaigns = page.locator("#portal-campaigns tbody tr")
    expect(campaigns).to_have_count(1)
    expect(campaigns.first).to_contain_text("Milk spring")
    page.click("#portal-campaigns >> text=Milk spring")
    page.wait_for_url(f"**/portal/campaigns/{ads.campaign_id}")

    plays, impressions_milli = _seeded_totals(engine, ads.campaign_id)
    assert (plays, impressions_milli) == (4, 10_000)  # what ads_seed billed, read back
    expect(page.locator("[data-field=plays]")).to_have_text(str(plays))
    expect(page.locator("[data-field=impressions]")).to_have_text("10.0")

    report = json.loads(_download(page, "json"))
    assert report["campaign"]["name"] == "Milk spring"
    assert (report["total"]["plays"], report["total"]["impressions_milli"]) == (4, 10_000)
    assert sum(group["plays"] for group in report["groups"]) == plays
    spend = report["total"]["spend"]  # 10 impressions at 12.50 RON CPM, rounded half up once
    assert spend == "0.13"

    csv_lines = _download(page, "csv").decode("utf-8").splitlines()
    rows = list(csv.DictReader(line for line in csv_lines if not line.startswith("#")))
    *days, total = rows
    assert (int(total["plays"]), total["impressions"], total["spend"]) == (4, "10.000", spend)
    assert sum(int(day["plays"]) for day in days) == plays
    assert "Espresso" not in "\n".join(csv_lines)

    pdf = pypdf.PdfReader(io.BytesIO(_download(page, "pdf")))
    text = " ".join(" ".join(sheet.extract_text().split()) for sheet in pdf.pages)
    assert "Milk spring" in text and "Espresso" not in text
    assert f"{spend} RON" in text
    assert re.search(rf"\bTotal {plays} ", text), text
    assert page.console_errors == []

    # Another advertiser's campaign: no page, and its report is refused with the reason.
    page.goto(f"/portal/campaigns/{ads.other_campaign_id}")
    expect(page.locator("#not-found h1")).to_have_text("Page not found")
    expect(page.locator("main")).not_to_contain_text("Espresso")
    refused = page.request.get(f"/api/v1/reports?campaign={ads.other_campaign_id}&format=csv")
    assert refused.status == 403
    assert refused.json() == {
        "error": f"campaign #{ads.other_campaign_id} is not one of your campaigns"
    }
    # The staff's campaign list, which names every advertiser's campaigns, is a styled 403.
    page.goto("/signage/campaigns")
    expect(page.locator("#forbidden h1")).to_have_text("Not for your account")
    expect(page.locator("main")).not_to_contain_text("Espresso")
    page.click("#way-back")
    page.wait_for_url("**/portal/")
