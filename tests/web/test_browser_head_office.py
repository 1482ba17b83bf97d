"""Head office in a real headless chromium, on a desktop and on a phone (375 px): the chain
page and the store switcher have no serious accessibility violation, fit the screen, and
switch the dashboard into the chosen store; a store's manager sees no switcher."""

from __future__ import annotations

import pytest

from tests.support.head_office_stores import NORTH, SOUTH
from tests.web.conftest import ADMIN, NORTH_MANAGER, Chain, browser_log_in
from tests.web.test_browser_a11y import serious_violations

pytestmark = pytest.mark.browser

SCREENS = ["page", "phone_page"]


def _fits(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth") <= page.viewport_size["width"]


def _shown_labels(page) -> set[str]:
    page.goto("/labels")
    return set(page.locator("#content table a[href^='/labels/']").all_inner_texts())


@pytest.mark.parametrize("screen", SCREENS)
def test_the_chain_page_and_switcher_serve_head_office(
    request: pytest.FixtureRequest, screen: str, chain: Chain
):
    from playwright.sync_api import expect

    page = request.getfixturevalue(screen)
    browser_log_in(page, ADMIN)
    found = serious_violations(page, "/chain")
    assert _fits(page)
    rows = page.locator("#chain-stores tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#chain-totals")).to_be_visible()

    page.locator("#chain-stores").get_by_role("link", name=NORTH.name).click()
    page.wait_for_url("**/?store=north")
    found += serious_violations(page, "/")  # the overview with the switcher in its header
    assert _fits(page)
    switcher = page.locator("#store-select")
    expect(switcher).to_be_visible()
    expect(switcher).to_have_value(NORTH.id)
    assert _shown_labels(page) == {NORTH.label_id(i) for i in range(3)}

    page.select_option("#store-select", label=SOUTH.name)
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url("**/?store=south")
    assert _shown_labels(page) == {SOUTH.label_id(0), SOUTH.label_id(1)}
    assert not found, "\n".join(map(str, found))
    assert page.console_errors == []


def test_a_store_manager_on_a_phone_sees_their_store_without_a_switcher(phone_page, chain: Chain):
    browser_log_in(phone_page, NORTH_MANAGER)
    found = serious_violations(phone_page, "/labels")
    assert phone_page.locator("#store-switcher").count() == 0
    assert _fits(phone_page)
    assert _shown_labels(phone_page) == {NORTH.label_id(i) for i in range(3)}
    phone_page.goto("/chain")
    assert "for head office" in phone_page.locator("main").inner_text()
    assert not found, "\n".join(map(str, found))
