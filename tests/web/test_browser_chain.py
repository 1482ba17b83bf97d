"""A chain campaign in a real headless chromium: the buyer's portal shows it store by store
(with each store's report to download) and its proof per store, the campaign form offers
the stores and zone kinds; none of these pages has a serious accessibility violation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from tests.support.chain_stores import BUYER, add_buyer, play_everywhere, seed_chain
from tests.web.conftest import ADMIN, Seed, browser_log_in
from tests.web.test_browser_a11y import serious_violations

pytestmark = pytest.mark.browser

PLAYS = {"buc-centre": 4, "buc-north": 2, "london": 3}


def test_a_chain_campaign_in_the_portal_and_the_form(
    page, seed: Seed, engine: Engine, settings: Settings
):
    from playwright.sync_api import expect

    world = seed_chain(engine)
    start = utcnow() - timedelta(hours=2)
    play_everywhere(engine, settings, world, world.dairy_campaign_id, PLAYS, start=start)
    add_buyer(engine, world)
    browser_log_in(page, BUYER)
    campaign = f"/portal/campaigns/{world.dairy_campaign_id}"
    found = serious_violations(page, campaign)
    rows = page.locator("#by-store tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Bucharest Centre")
    with page.expect_download() as download:
        page.click('#by-store a[data-store="london"][data-format="csv"]')
    saved = download.value.path().read_bytes()
    assert b"# stores: london only\r\n" in saved
    assert b"\r\ntotal,Total,3," in saved  # London's three plays, nothing of the others
    found += serious_violations(page, f"{campaign}/verify")
    expect(page.locator('#by-store tr[data-store="buc-north"]')).to_contain_text("add up")

    page.context.clear_cookies()
    browser_log_in(page, ADMIN)
    found += serious_violations(page, "/signage/campaigns")
    stores = page.locator("select[name=stores] option")
    expect(stores).to_have_count(4)  # the seeded store and the chain's three
    expect(page.locator("select[name=zone_kinds] option[value=dairy]")).to_have_count(1)
    assert not found, "\n".join(map(str, found))
    assert page.console_errors == []
