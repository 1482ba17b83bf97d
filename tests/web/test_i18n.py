"""The dashboard's language (catalogues, Accept-Language, the user's pick, the store's
default) and clock (the store's time zone, named; dates and numbers per locale)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.engine import Engine

from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Label, Store
from esl_controller.web import i18n
from tests.web.conftest import MANAGER, SCREENSHOT_DIR, log_in

PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")
# What `pybabel extract` reads (docs/operations.md): gettext's own words plus the web's.
EXTRACT_KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "gettext_": None,
    "ngettext_": (1, 2),
    "term": ((1, "c"), 2),
}
LAST_SEEN = datetime(2026, 12, 2, 6, 0, 0, tzinfo=UTC)


@pytest.fixture
def bucharest(engine: Engine, settings: Settings, seed) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(Store).where(Store.id == settings.store_id).values(timezone="Europe/Bucharest")
        )
        session.execute(
            update(Label).where(Label.id == seed.label_ids["acked"]).values(last_seen=LAST_SEEN)
        )


def _client(app: Flask, accept_language: str | None) -> FlaskClient:
    client = app.test_client()
    if accept_language is not None:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    return client


def _text(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_a_romanian_browser_gets_romanian_pages(app: Flask) -> None:
    client = _client(app, "ro-RO,ro;q=0.9,en;q=0.5")
    login = _text(client, "/login")
    assert '<html lang="ro">' in login and "Autentificare" in login and "Parolă" in login
    assert log_in(client, *MANAGER).status_code == 302
    overview = _text(client, "/")
    assert ">Etichete</a>" in overview and "Deconectare" in overview
    assert "etichete actualizate" in overview
    labels = _text(client, "/labels")
    assert "Văzută ultima dată" in labels and "Etichetele 1–" in labels


def test_an_english_browser_gets_english_in_a_romanian_store(app: Flask) -> None:
    client = _client(app, "en-US,en;q=0.9")
    assert "Password" in _text(client, "/login")


def test_without_a_language_the_store_locale_decides(app: Flask) -> None:
    assert "Autentificare" in _text(_client(app, None), "/login")  # the seed store is ro_RO


def test_a_language_the_dashboard_lacks_falls_back_to_the_store_locale(app: Flask) -> None:
    assert "Autentificare" in _text(_client(app, "ja-JP"), "/login")


def test_the_users_pick_beats_the_browser_and_is_remembered(app: Flask) -> None:
    client = _client(app, "ro-RO")
    picked = _text(client, "/login?lang=en")
    assert "Password" in picked and 'lang="ro"' in picked  # the link to switch back
    assert "Password" in _text(client, "/login")
    assert "Parolă" in _text(client, "/login?lang=ro")
    assert "Parolă" in _text(client, "/login?lang=xx")  # an unknown pick changes nothing


def test_times_show_in_the_store_zone_with_the_zone_named(
    app: Flask, bucharest: None, seed
) -> None:
    english = _client(app, "en-GB")
    log_in(english, *MANAGER)
    page = _text(english, f"/labels/{seed.label_ids['acked']}")
    assert "2 Dec 2026, 08:00:00 Europe/Bucharest" in page
    assert 'datetime="2026-12-02T06:00:00+00:00"' in page
    romanian = _client(app, "ro-RO")
    log_in(romanian, *MANAGER)
    assert "2 dec. 2026, 08:00:00 Europe/Bucharest" in _text(
        romanian, f"/labels/{seed.label_ids['acked']}"
    )


def test_a_time_never_seen_says_so_in_the_page_language(app: Flask, seed) -> None:
    client = _client(app, "ro")
    log_in(client, *MANAGER)
    assert "niciodată" in _text(client, f"/labels/{seed.label_ids['unbound']}")


def test_numbers_follow_the_locale(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "ro-RO"}):
        assert i18n.format_number(1234567) == "1.234.567"
        assert i18n.format_number(2.5, 2) == "2,50"
    with app.test_request_context(headers={"Accept-Language": "en-GB"}):
        assert i18n.format_number(1234567) == "1,234,567"


def test_every_romanian_message_is_translated_and_keeps_its_placeholders() -> None:
    pot = read_po((i18n.CATALOGUE_DIR / "dashboard.pot").open("rb"))
    catalog = read_po(
        (i18n.CATALOGUE_DIR / "ro" / "LC_MESSAGES" / "dashboard.po").open("rb"), locale="ro"
    )
    plural_forms = catalog.num_plurals
    for message in pot:
        if not message.id:
            continue
        translated = catalog.get(message.id, context=message.context)
        assert translated is not None, f"{message.id!r} untranslated"
        assert not translated.fuzzy
        if isinstance(message.id, tuple):  # ngettext: every Romanian form, placeholders kept
            forms = translated.string
            assert len(forms) == plural_forms and all(forms), f"{message.id!r} lacks a form"
            for form in forms:
                assert sorted(PLACEHOLDER.findall(form)) == sorted(
                    PLACEHOLDER.findall(message.id[1])
                )
            continue
        assert translated.string, f"{message.id!r} untranslated"
        assert sorted(PLACEHOLDER.findall(translated.string)) == sorted(
            PLACEHOLDER.findall(message.id)
        ), message.id


def test_the_catalogue_template_holds_every_wrapped_word() -> None:
    """A word wrapped in a template but missing from dashboard.pot would never be translated:
    run `pybabel extract` (docs/operations.md) after wrapping words."""
    web = i18n.CATALOGUE_DIR.parent
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = {
        (context, message)
        for _file, _line, message, _comments, context in extract_from_dir(
            str(web), method_map, options, keywords=EXTRACT_KEYWORDS
        )
    }
    pot = {
        (m.context, m.id)
        for m in read_po((i18n.CATALOGUE_DIR / "dashboard.pot").open("rb"))
        if m.id
    }
    assert found and found <= pot


@pytest.mark.browser
def test_a_romanian_manager_sees_store_time_in_the_browser(
    browser, live_server: str, bucharest: None, seed
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(
        base_url=live_server, locale="ro-RO", viewport={"width": 375, "height": 800}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    try:
        page.goto("/login")
        expect(page.locator("h1")).to_have_text("Autentificare")
        page.fill("input[name=username]", MANAGER[0])
        page.fill("input[name=password]", MANAGER[1])
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        refreshed = page.locator("#refreshed")  # written by overview.js from the live counts
        expect(refreshed).to_contain_text("Actualizat ultima dată la")
        expect(refreshed).to_contain_text("Europe/Bucharest")
        page.goto(f"/labels/{seed.label_ids['acked']}")
        seen = page.locator("dd time").first
        expect(seen).to_have_text("2 dec. 2026, 08:00:00 Europe/Bucharest")
        assert seen.get_attribute("datetime") == "2026-12-02T06:00:00+00:00"
        expect(page.locator("nav")).to_contain_text("Etichete")
        page.screenshot(path=str(SCREENSHOT_DIR / "esl-label-ro.png"), full_page=True)
        assert errors == []  # the CSP let everything load
    finally:
        context.close()


def test_a_campaign_typed_as_0800_in_bucharest_is_0800_bucharest(
    manager_client: FlaskClient, engine: Engine, bucharest: None
) -> None:
    """The form reads wall-clock time in the store's zone, stores UTC, and shows it back."""
    from sqlalchemy import select
    from sqlmodel import Session

    from esl_controller.models import Advertiser, Campaign
    from tests.web.signage_support import post_form

    post_form(manager_client, "/signage/advertisers", {"name": "Lavazza"}, "/signage/campaigns")
    with Session(engine) as session:
        advertiser_id = session.scalars(select(Advertiser.id)).one()
    form = {
        "advertiser_id": str(advertiser_id),
        "name": "Coffee week",
        "starts_at": "2026-12-07T08:00",  # Bucharest winter time, UTC+2
        "ends_at": "2026-12-14T20:00",
        "cpm": "3.20",
        "currency": "RON",
    }
    saved = post_form(manager_client, "/signage/campaigns", form, "/signage/campaigns")
    assert saved.status_code == 302
    with Session(engine) as session:
        campaign = session.scalars(select(Campaign)).one()
    assert campaign.starts_at.replace(tzinfo=UTC) == datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    page = _text(manager_client, saved.headers["Location"])
    assert "7 Dec 2026, 08:00:00 Europe/Bucharest" in page
    assert "14 Dec 2026, 20:00:00 Europe/Bucharest" in page
    listing = _text(manager_client, "/signage/campaigns")
    assert "7 Dec 2026, 08:00:00 Europe/Bucharest" in listing


def test_the_label_page_confirms_an_action_in_the_page_language(app: Flask, seed) -> None:
    from tests.web.conftest import csrf_token_from

    client = _client(app, "ro-RO")
    log_in(client, *MANAGER)
    label = seed.label_ids["acked"]
    token = csrf_token_from(client, f"/labels/{label}")
    done = client.post(f"/labels/{label}/repush", data={"csrf_token": token})
    page = _text(client, done.headers["Location"])
    assert f"Retrimiterea {label} a fost pusă în coadă (outbox #" in page
