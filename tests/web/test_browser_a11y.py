# ruff: noqa: F811 -- pytest fixtures imported from other test modules are requested by name
"""axe-core in a real headless chromium on every page a person sees: each dashboard page
without a parameter (found in the app's URL map, so a new page is checked without editing
this file), a label, a product, a playlist, a campaign, a failed sync run, the 403, 404 and
500 pages, the login page, the buyer portal, the shelf page and the screen. None may have a
serious or critical violation (contrast, names of inputs and buttons, landmarks...). The
error pages also fit a phone and lead back to the user's start page."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.engine import Engine

from tests.support.dashboard_pages import staff_pages, with_crash_page
from tests.support.sync_runs import add_failed_run
from tests.web.ads_seed import BUYER, Ads, ads_fixture  # noqa: F401 (fixture)
from tests.web.conftest import ADMIN, Seed, browser_log_in
from tests.web.signage_support import Signage, settings, signage  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SERIOUS = ("serious", "critical")
DALIA_GTIN = "5901234123457"


@pytest.fixture
def app(app: Flask) -> Flask:
    return with_crash_page(app)


@pytest.fixture
def failed_sync_run(engine: Engine, seed: Seed) -> int:
    """A failed sync with a refused record, so the sync pages show their error parts."""
    return add_failed_run(engine, fetched=3)


def serious_violations(page, path: str) -> list[tuple[str, str, list]]:
    from axe_playwright_python.sync_playwright import Axe

    page.goto(path)
    page.wait_for_load_state("networkidle")
    response = Axe().run(page).response
    return [
        (path, violation["id"], [node["target"] for node in violation["nodes"]][:3])
        for violation in response["violations"]
        if violation["impact"] in SERIOUS
    ]


def test_every_dashboard_page_has_no_serious_violation(
    page, app: Flask, seed: Seed, signage: Signage, ads: Ads, failed_sync_run: int
):
    paths = staff_pages(app)
    assert {"/", "/labels", "/shelf", "/users", "/revenue"} <= set(paths)
    paths += [
        f"/labels/{seed.label_ids['acked']}",
        f"/products/{DALIA_GTIN}",
        "/signage/playlists/news",
        f"/signage/campaigns/{ads.campaign_id}",
        f"/sync/{failed_sync_run}",
        "/no-such-page",
        "/test-crash",
    ]
    browser_log_in(page, ADMIN)
    found = [violation for path in paths for violation in serious_violations(page, path)]
    assert not found, "\n".join(map(str, found))


def test_login_portal_and_screen_have_no_serious_violation(page, seed: Seed, ads: Ads):
    found = serious_violations(page, "/login")
    found += serious_violations(page, "/screen")
    browser_log_in(page, BUYER)
    campaign = f"/portal/campaigns/{ads.campaign_id}"
    for path in ("/portal/", campaign, f"{campaign}/verify", "/labels"):
        found += serious_violations(page, path)  # /labels: the buyer's 403 page
    assert not found, "\n".join(map(str, found))


def test_the_first_tab_shows_a_skip_link_that_jumps_past_the_menu(page, seed: Seed):
    from playwright.sync_api import expect

    browser_log_in(page, ADMIN)
    skip = page.locator("a.skip-link")
    expect(skip).not_to_be_in_viewport()
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    expect(skip).to_have_text("Skip to content")
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["/no-such-page", "/test-crash", "/labels"])
def test_error_pages_fit_a_phone_and_lead_back_to_the_start_page(phone_page, seed, ads, path):
    from playwright.sync_api import expect

    browser_log_in(phone_page, BUYER)
    phone_page.goto(path)
    expect(phone_page.locator("h1")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= phone_page.viewport_size["width"]
    phone_page.click("#way-back")
    phone_page.wait_for_url("**/portal/")
