# ruff: noqa: F811 -- pytest fixtures imported from other test modules are requested by name
"""Every dashboard page on a phone (375 px wide) in a real chromium: nothing wider than the
screen (tables scroll inside their own box), and the menu folds behind a toggle."""

from __future__ import annotations

import pytest

from esl_controller.db import session_scope
from esl_controller.models import SyncRun
from tests.web.ads_seed import Ads, ads_fixture  # noqa: F401 (fixtures)
from tests.web.conftest import ADMIN, PHONE, SCREENSHOT_DIR, browser_log_in
from tests.web.signage_support import (  # noqa: F401 (fixtures)
    GOOD_PLAYLIST,
    Signage,
    settings,
    signage,
)

pytestmark = pytest.mark.browser

# Not staff pages: a health probe, media and thumbnail bytes, the players' slide screens,
# and the buyer portal (a buyer's pages; the people tests walk them at 375 px as a buyer).
NOT_PAGES = {"healthz", "media.media", "auth.logout"}
NOT_PAGE_PREFIXES = ("screen_slides.", "portal.", "signage.file_thumbnail", "signage.media_t")


def _pages(app, ads: Ads, run_id: int) -> list[str]:
    """Every GET page of the app; pages that need an id get one from the test data, so a
    page added later is checked without touching this test."""
    ids = {
        "label_id": "L-FAILED",
        "campaign_id": str(ads.campaign_id),
        "name": "dairy",
        "run_id": str(run_id),
    }
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
            continue
        if rule.endpoint.startswith(NOT_PAGE_PREFIXES):
            continue
        if rule.rule.startswith(("/api/", "/static/", "/screen")) or rule.endpoint == "static":
            continue
        if not set(rule.arguments) <= set(ids):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", ids[name]).replace(f"<{name}>", ids[name])
        paths.append(path)
    return sorted(paths)


@pytest.fixture
def store_pages(app, ads: Ads, signage: Signage, settings, engine) -> list[str]:
    settings.playlists_dir.mkdir(parents=True, exist_ok=True)
    (settings.playlists_dir / "dairy.yaml").write_text(GOOD_PLAYLIST, encoding="utf-8")
    with session_scope(engine) as session:
        run = SyncRun(feed="json", status="succeeded")
        session.add(run)
        session.flush()
        run_id = run.id
    return _pages(app, ads, run_id)


def test_every_page_fits_a_phone_screen(phone_page, store_pages):
    page = phone_page
    page.goto("/login")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    browser_log_in(page, ADMIN)  # the admin sees every staff page (users too)
    too_wide = {}
    for path in store_pages:
        answer = page.goto(path)
        assert answer.status == 200, path
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = width
            name = path.strip("/").replace("/", "-") or "overview"
            page.screenshot(path=str(SCREENSHOT_DIR / f"esl-phone-{name}.png"), full_page=True)
    assert too_wide == {}, f"pages wider than {PHONE['width']} px: {too_wide}"
    assert "/shelf" in store_pages and "/labels/L-FAILED" in store_pages


def test_the_menu_folds_behind_a_toggle_on_a_phone(phone_page, store_pages):
    from playwright.sync_api import expect

    page = phone_page
    browser_log_in(page)
    nav = page.locator(".topbar nav")
    expect(nav).to_be_hidden()
    page.click("label.nav-toggle-label")
    expect(nav).to_be_visible()
    page.click(".topbar nav >> text=Shelf")
    page.wait_for_url("**/shelf")
    expect(page.locator(".topbar nav a[aria-current=page]")).to_have_text("Shelf")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
