# ruff: noqa: F811 -- pytest fixtures imported from other test modules are requested by name
"""The playlist editor and the campaign form in a real headless chromium, with the strict CSP:
build a playlist by uploading and picking media, reorder it by drag, by buttons and by
keyboard, save, reload and find the same order; a refused campaign keeps what was typed and
says what is wrong in words; both at 375 px wide too."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Advertiser
from esl_controller.signage.media import store_media
from esl_controller.signage.playlists import parse_playlist
from tests.web.conftest import SCREENSHOT_DIR, browser_log_in
from tests.web.signage_support import Signage, settings, signage  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 800}


def png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1280, 720), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def uploaded(settings: Settings, engine: Engine, signage: Signage) -> dict[str, str]:
    """Two images already in the media library: name -> sha256."""
    with session_scope(engine) as session:
        return {
            name: store_media(settings, png(name), f"{name}.png", "image/png", session).sha256
            for name in ("green", "blue")
        }


@pytest.fixture
def phone(browser, live_server: str) -> Iterator:
    context = browser.new_context(base_url=live_server, viewport=PHONE, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_errors = []
    page.on(
        "console",
        lambda message: message.type == "error" and page.console_errors.append(message.text),
    )
    yield page
    context.close()


def item_order(page) -> list[str]:
    return page.locator("#playlist-items .item-row").evaluate_all(
        "rows => rows.map(row => row.dataset.itemId)"
    )


def saved_order(settings: Settings, name: str) -> list[str]:
    text = (settings.playlists_dir / f"{name}.yaml").read_text(encoding="utf-8")
    return [item.id for item in parse_playlist(name, text, name, lambda item: True).items]


def fits_the_screen(page, within: str = "main") -> bool:
    """Nothing in `within` reaches past the viewport (the shared top bar's phone layout
    belongs to the site-wide layout, not to these pages)."""
    return page.evaluate(
        """within => [...document.querySelectorAll(within)].flatMap(
            root => [root, ...root.querySelectorAll('*')]).every(
            el => el.getBoundingClientRect().right <= window.innerWidth + 0.5)""",
        within,
    )


def test_build_a_playlist_by_picking_media_then_reorder_save_and_reload(
    page, uploaded: dict[str, str], settings: Settings, tmp_path
):
    from playwright.sync_api import expect

    browser_log_in(page)
    page.click("nav >> text=Playlists")
    page.fill("input[name=name]", "lunch")
    page.click("text=Open editor")
    expect(page.locator("#no-items")).to_be_visible()

    # Upload one image from the editor, pick the two already in the library.
    red = tmp_path / "red.png"
    red.write_bytes(png("red"))
    page.fill("input[name=title]", "Lunch loop")
    page.fill("input[name=zones]", "dairy")
    page.locator("input[name=new_file]").set_input_files(str(red))
    page.click("#upload-and-add")
    expect(page.locator("#playlist-items .item-row")).to_have_count(1)
    expect(page.locator("input[name=title]")).to_have_value("Lunch loop")  # nothing typed lost
    page.click("button[aria-label='Add green.png']")
    page.click("button[aria-label='Add blue.png']")
    assert item_order(page) == ["red", "green", "blue"]
    thumbs = page.locator("#playlist-items img.thumb")
    expect(thumbs).to_have_count(3)
    thumbs.last.scroll_into_view_if_needed()
    page.wait_for_function(
        "[...document.querySelectorAll('#playlist-items img.thumb')]"
        ".every(img => img.complete && img.naturalWidth === 160)"
    )

    # Drag blue above red, then move red down with its button, then green up by keyboard.
    rows = page.locator("#playlist-items .item-row")
    rows.nth(2).drag_to(rows.nth(0), target_position={"x": 20, "y": 3})
    assert item_order(page) == ["blue", "red", "green"]
    page.click("button[aria-label='Move red.png down']")
    assert item_order(page) == ["blue", "green", "red"]
    expect(page.locator("#move-status")).to_have_text("red.png is now item 3 of 3.")
    page.locator("button[aria-label='Move green.png up']").focus()
    page.keyboard.press("Enter")
    assert item_order(page) == ["green", "blue", "red"]
    page.locator("#playlist-items .item-row").nth(2).locator("input[name=item_duration]").fill("6")

    page.click("#save-items")
    expect(page.locator(".flash-success")).to_contain_text("Playlist lunch saved")
    assert item_order(page) == ["green", "blue", "red"]
    page.reload()
    assert item_order(page) == ["green", "blue", "red"]
    assert saved_order(settings, "lunch") == ["green", "blue", "red"]
    expect(
        page.locator("#playlist-items .item-row").nth(2).locator("input[name=item_duration]")
    ).to_have_value("6")
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-playlist-editor.png"), full_page=True)
    assert page.console_errors == []


def test_the_editor_works_on_a_phone_with_buttons_only(
    phone, uploaded: dict[str, str], settings: Settings
):
    from playwright.sync_api import expect

    settings.playlists_dir.mkdir(parents=True, exist_ok=True)
    (settings.playlists_dir / "dairy.yaml").write_text(
        "title: Dairy\ntargets: {zones: [dairy]}\nitems:\n"
        f"  - {{id: green, type: image, media: '{uploaded['green']}', duration: 8}}\n"
        f"  - {{id: blue, type: image, media: '{uploaded['blue']}', duration: 8}}\n"
        "  - {id: cheese, type: promo_slide, gtin: '5901234123457', duration: 8}\n"
    )
    browser_log_in(phone)
    phone.goto("/signage/playlists/dairy")
    expect(phone.locator("#playlist-items")).to_contain_text("Cașcaval Dalia")
    assert fits_the_screen(phone)
    phone.locator("button[aria-label^='Move Cașcaval Dalia'][aria-label$='up']").tap()
    phone.locator("button[aria-label='Move green.png down']").tap()
    assert item_order(phone) == ["cheese", "green", "blue"]
    phone.locator("#save-items").tap()
    expect(phone.locator(".flash-success")).to_contain_text("Playlist dairy saved")
    phone.reload()
    assert item_order(phone) == ["cheese", "green", "blue"]
    assert saved_order(settings, "dairy") == ["cheese", "green", "blue"]
    assert fits_the_screen(phone)
    phone.screenshot(path=str(SCREENSHOT_DIR / "esl-playlist-editor-375.png"), full_page=True)
    assert phone.console_errors == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_refused_campaign_keeps_its_values_and_says_why_in_words(
    viewport: str, page, phone, signage: Signage, engine: Engine
):
    from playwright.sync_api import expect

    tab = phone if viewport == "phone" else page
    with Session(engine) as session:
        session.add(Advertiser(name="Lavazza"))
        session.commit()
    browser_log_in(tab)
    tab.goto("/signage/campaigns")
    form = tab.locator("#new-campaign")
    form.locator("input[name=name]").fill("Coffee week")
    form.locator("input[name=starts_at]").fill("2026-07-08T08:00")
    form.locator("input[name=ends_at]").fill("2026-07-01T22:00")  # before the start
    form.locator("input[name=cpm]").fill("4.50")
    form.locator("input[name=share_of_voice]").fill("2")
    form.locator("input[name=dayparts]").fill("breakfast")
    form.locator("select[name=zones]").select_option(["dairy"])
    form.locator("input[name=weekdays][value='5']").check()
    form.locator("button[type=submit]").click()

    expect(tab.locator("#campaign-errors")).to_contain_text("3 values need a change")
    expect(tab.locator("#error-ends_at")).to_have_text("The campaign must end after it starts.")
    expect(tab.locator("#error-share_of_voice")).to_contain_text("a number above 0 and at most 1")
    expect(tab.locator("#error-dayparts")).to_contain_text("such as 07:00-10:00")
    form = tab.locator("#new-campaign")
    expect(form.locator("input[name=name]")).to_have_value("Coffee week")
    expect(form.locator("input[name=starts_at]")).to_have_value("2026-07-08T08:00")
    expect(form.locator("input[name=cpm]")).to_have_value("4.50")
    expect(form.locator("input[name=share_of_voice]")).to_have_value("2")
    expect(form.locator("input[name=dayparts]")).to_have_value("breakfast")
    expect(form.locator("select[name=zones]")).to_have_values(["dairy"])
    expect(form.locator("input[name=weekdays][value='5']")).to_be_checked()
    expect(form.locator("input[name=share_of_voice]")).to_have_attribute("aria-invalid", "true")
    text = tab.locator("main").inner_text()
    for internal in ("share_of_voice", "targeting.", "{'", "Not a valid", "_schema"):
        assert internal not in text
    if viewport == "phone":
        assert fits_the_screen(tab, "#campaign-errors, #new-campaign")
        tab.screenshot(path=str(SCREENSHOT_DIR / "esl-campaign-refused-375.png"), full_page=True)
    assert [error for error in tab.console_errors if "status of 422" not in error] == []
