# ruff: noqa: F811 -- pytest fixtures imported from other test modules are requested by name
"""The signage pages in a real headless chromium against a real WSGI server: register a
player, edit a playlist (a refused edit shows its error and leaves the file alone, then the
fix is saved), create a campaign with an uploaded creative, push a manual override and
read the trigger log."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import Creative, Override
from tests.web.conftest import MANAGER, SCREENSHOT_DIR, browser_log_in
from tests.web.signage_support import (  # noqa: F401 (fixtures)
    BAD_PLAYLIST,
    GOOD_PLAYLIST,
    PNG,
    SENSOR,
    Signage,
    settings,
    signage,
)

pytestmark = pytest.mark.browser


def test_manager_runs_the_signage_pages(
    page, live_server: str, signage: Signage, settings: Settings, engine: Engine, tmp_path
):
    from playwright.sync_api import expect

    browser_log_in(page)
    page.click("nav >> text=Players")
    page.fill("#register-player input[name=id]", "screen-42")
    page.fill("#register-player input[name=name]", "Checkout screen")
    page.fill("#register-player input[name=zone]", "checkout")
    page.click("#register-player button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("screen-42 registered")
    expect(page.locator("#zone-checkout #player-screen-42")).to_contain_text("offline")
    expect(page.locator("#player-screen-01")).to_contain_text("news")

    # A playlist: a bad edit is refused with file, line and field; the file is untouched.
    (settings.playlists_dir).mkdir(parents=True, exist_ok=True)
    (settings.playlists_dir / "dairy.yaml").write_text(GOOD_PLAYLIST)
    page.click("nav >> text=Playlists")
    page.click("#playlists-table >> text=dairy")
    page.click("#yaml-editor summary")  # the YAML editor is folded under the item editor
    page.fill("#playlist-text", BAD_PLAYLIST)
    page.click("#save-playlist")
    expect(page.locator("#playlist-error")).to_contain_text("signage_playlists/dairy.yaml:8:")
    expect(page.locator("#playlist-error")).to_contain_text("duration")
    assert (settings.playlists_dir / "dairy.yaml").read_text() == GOOD_PLAYLIST
    fixed = GOOD_PLAYLIST.replace("duration: 20", "duration: 25")
    page.fill("#playlist-text", fixed)
    page.click("#save-playlist")
    expect(page.locator(".flash-success")).to_contain_text("Playlist dairy saved")
    expect(page.locator("#playlist-status")).to_have_text("ok")
    assert (settings.playlists_dir / "dairy.yaml").read_text() == fixed

    # A campaign with an uploaded image creative.
    page.click("nav >> text=Campaigns")
    page.fill("#new-advertiser input[name=name]", "Lavazza")
    page.click("#new-advertiser button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Advertiser Lavazza created")
    form = page.locator("#new-campaign")
    form.locator("input[name=name]").fill("Coffee week")
    form.locator("input[name=starts_at]").fill("2026-07-01T08:00")
    form.locator("input[name=ends_at]").fill("2026-07-08T22:00")
    form.locator("input[name=cpm]").fill("4.50")
    form.locator("select[name=zones]").select_option(["dairy"])
    form.locator("input[name=dayparts]").fill("07:00-10:00")
    form.locator("input[name=triggers][value=audience]").check()
    form.locator("input[name=min_count]").fill("3")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_contain_text("Campaign Coffee week created")
    image = tmp_path / "coffee.png"
    image.write_bytes(PNG)
    creative = page.locator("#add-creative")
    creative.locator("input[name=name]").fill("Coffee still")
    creative.locator("input[name=file]").set_input_files(str(image))
    creative.locator("input[name=duration_s]").fill("8")
    creative.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_contain_text("Creative Coffee still added")
    expect(page.locator("#creatives-table tbody tr")).to_have_count(1)
    with Session(engine) as session:
        stored = session.scalars(select(Creative)).one()
    assert (stored.kind, stored.duration_s) == ("image", 8.0)
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-signage-campaign.png"), full_page=True)

    # A manual override to the dairy zone.
    page.click("nav >> text=Override")
    page.select_option("#override-form select[name=zone]", "dairy")
    page.fill("#override-form input[name=text]", "Fresh bread at 17:00")
    page.fill("#override-form input[name=seconds]", "120")
    page.click("#push-override")
    expect(page.locator(".flash-success")).to_contain_text("for zone dairy")
    with Session(engine) as session:
        override = session.scalars(select(Override)).one()
    assert (override.kind, override.created_by) == ("manual", MANAGER[0])
    expect(page.locator(f"#override-{override.id}")).to_contain_text("manual")

    # The trigger log shows an accepted and a refused trigger posted by a sensor.
    import requests

    sensor = {"Authorization": f"Bearer {signage.sensor_token}"}
    trigger = {
        "type": "zone", "sensor": SENSOR[0], "zone": "dairy",  # the account is the sensor
        "at": datetime.now(UTC).isoformat(), "event": "pickup", "gtin": "5901234123457",
    }  # fmt: skip
    accepted = requests.post(f"{live_server}/api/v1/triggers", json=trigger, headers=sensor)
    assert accepted.status_code == 202
    refused = requests.post(
        f"{live_server}/api/v1/triggers",
        data=json.dumps({**trigger, "phone": "+40 721 234 567"}),
        headers={**sensor, "Content-Type": "application/json"},
    )
    assert refused.status_code == 422
    page.click("nav >> text=Triggers")
    rows = page.locator("#triggers-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(f"#trigger-{accepted.json()['id']}")).to_contain_text("pending")
    expect(page.locator(f"#trigger-{refused.json()['trigger_id']}")).to_contain_text("privacy")
    expect(page.locator("#counts-last_hour [data-outcome=rejected] .count")).to_have_text("1")
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-signage-triggers.png"), full_page=True)
    # The refused playlist edit answers 422 on purpose; anything else (a CSP violation, a
    # failed script) is a bug.
    assert [error for error in page.console_errors if "status of 422" not in error] == []
