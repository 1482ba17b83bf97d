# ruff: noqa: F811 -- pytest fixtures imported from other test modules are requested by name
"""Every dashboard page in the store's language: each page a person sees (the same list the
accessibility test walks: the URL map's pages plus a label, a product, a playlist, a campaign,
a failed sync run, the buyer portal, the login, 403, 404 and 500 pages) renders in Romanian
with none of the dashboard's English words left in its visible text, and in English for an
English browser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from esl_controller.web import i18n
from tests.support.dashboard_pages import staff_pages, with_crash_page
from tests.support.sync_runs import add_failed_run
from tests.web.ads_seed import BUYER, Ads, ads_fixture  # noqa: F401 (fixture)
from tests.web.conftest import ADMIN, Seed, browser_log_in, csrf_token_from, log_in
from tests.web.signage_support import Signage, settings, signage  # noqa: F401 (fixtures)

DALIA_GTIN = "5901234123457"


class VisibleText(HTMLParser):
    """The words a person sees or hears on a page: the text, and the placeholder, title,
    aria-label, alt and button value attributes. Not scripts and styles, nor what a
    textarea holds (a user's document, such as a playlist's YAML)."""

    SPOKEN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
    SKIPPED = ("script", "style", "textarea")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipped_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skipped_depth += 1
        values = dict(attrs)
        self.parts += [values[name] or "" for name in self.SPOKEN_ATTRIBUTES if name in values]
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self._skipped_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipped_depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture
def app(app: Flask) -> Flask:
    return with_crash_page(app)


@pytest.fixture
def failed_sync_run(engine: Engine, seed: Seed) -> int:
    return add_failed_run(engine, fetched=3)


# Words of the dashboard's own English (navigation, headings, buttons, column heads, states)
# that a Romanian page must not show. The seed's data (product names, campaigns, messages of
# the core) is not the dashboard's words, so the list leaves out words data can hold.
# fmt: off
ENGLISH_WORDS = (
    "Overview", "Labels", "Label", "Base station", "Base stations", "Products", "Product",
    "Promotions", "Promotion", "Campaigns", "Campaign", "Playlists", "Playlist", "Triggers",
    "Override", "Revenue", "Incidents", "Audit log", "Users", "Account", "Log out", "Menu",
    "Skip to content", "Search", "Filter", "Clear", "Previous", "Next", "Newer", "Older",
    "Status", "State", "Name", "Kind", "Price", "Stock", "Priority", "Duration", "Started",
    "Finished", "Last seen", "Last error", "Signal", "Battery", "Template", "Plays",
    "Impressions", "Spend", "When", "Who", "What", "Show", "Save", "Add", "Create", "Delete",
    "Remove", "Upload", "Cancel", "Scan", "Password", "Back to", "Page not found",
    "Something went wrong", "never", "none", "any", "all", "yet", "Mon", "Sun", "pending",
    "failed", "acked", "active", "online", "offline", "archived", "has a token",
)
# fmt: on
ENGLISH_WORD = re.compile(r"\b(" + "|".join(map(re.escape, ENGLISH_WORDS)) + r")\b")
ROMANIAN_WORDS = re.compile(r"\b(Etichete|Deconectare|Căutare|Stare|Nume|Adaugă|Încă|niciodată)\b")


def _client(app: Flask, accept_language: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    return client


def _pages(app: Flask, seed: Seed, ads: Ads, failed_sync_run: int) -> list[str]:
    return [
        *staff_pages(app),
        f"/labels/{seed.label_ids['acked']}",
        f"/products/{DALIA_GTIN}",
        "/signage/playlists/news",
        f"/signage/campaigns/{ads.campaign_id}",
        f"/sync/{failed_sync_run}",
        "/no-such-page",
        "/test-crash",
    ]


def _buyer_pages(ads: Ads) -> list[str]:
    campaign = f"/portal/campaigns/{ads.campaign_id}"
    return ["/portal/", campaign, f"{campaign}/verify", "/labels"]  # /labels: the 403 page


def _read(client: FlaskClient, path: str, language: str) -> str:
    response = client.get(path)
    assert response.status_code in (200, 403, 404, 500), path
    html = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in html, path
    return visible_text(html)


def _english_left(client: FlaskClient, paths: list[str]) -> dict[str, list[str]]:
    found = {path: ENGLISH_WORD.findall(_read(client, path, "ro")) for path in paths}
    return {path: sorted(set(words)) for path, words in found.items() if words}


def test_every_dashboard_page_speaks_romanian(
    app: Flask, seed: Seed, signage: Signage, ads: Ads, failed_sync_run: int
) -> None:
    staff = _client(app, "ro-RO,ro;q=0.9")
    log_in(staff, *ADMIN)
    paths = _pages(app, seed, ads, failed_sync_run)
    assert {"/", "/labels", "/base-stations", "/sync", "/signage/players", "/revenue"} <= set(paths)
    left = _english_left(staff, paths)
    buyer = _client(app, "ro-RO,ro;q=0.9")
    log_in(buyer, *BUYER)
    left |= _english_left(buyer, _buyer_pages(ads))
    left |= _english_left(_client(app, "ro"), ["/login"])
    assert not left, left


def test_english_is_still_the_dashboard_of_an_english_browser(
    app: Flask, seed: Seed, signage: Signage, ads: Ads, failed_sync_run: int
) -> None:
    staff = _client(app, "en-GB,en;q=0.9")
    log_in(staff, *ADMIN)
    for path in _pages(app, seed, ads, failed_sync_run):
        text = _read(staff, path, "en")
        assert "Overview" in text and "Log out" in text, path
        assert not ROMANIAN_WORDS.findall(text), (path, ROMANIAN_WORDS.findall(text))


def test_counts_take_the_romanian_plural_forms(app: Flask) -> None:
    """One, a few and twenty or more: "1 utilizator", "4 utilizatori", "20 de utilizatori"."""
    for count, expected in ((1, "1 utilizator"), (4, "4 utilizatori"), (20, "20 de utilizatori")):
        with app.test_request_context(headers={"Accept-Language": "ro-RO"}):
            words = i18n.ngettext_("%(num)s user", "%(num)s users", count) % {"num": count}
        assert words == expected
    with app.test_request_context(headers={"Accept-Language": "en-GB"}):
        assert i18n.ngettext_("%(num)s user", "%(num)s users", 20) % {"num": 20} == "20 users"


def test_a_stored_value_shows_in_the_words_of_its_kind(app: Flask) -> None:
    """The same value agrees with what it describes: an active campaign, an active user."""
    with app.test_request_context(headers={"Accept-Language": "ro-RO"}):
        assert i18n.format_term("active", "campaign status") == "activă"
        assert i18n.format_term("active", "product status") == "activ"
        assert i18n.format_term("acked", "label state") == "confirmată"
        assert i18n.format_term("brand_new_state", "label state") == "brand_new_state"
    with app.test_request_context(headers={"Accept-Language": "en-GB"}):
        assert i18n.format_term("no_match", "trigger outcome") == "no_match"


def test_a_message_from_a_view_comes_in_the_page_language(app: Flask, seed: Seed) -> None:
    client = _client(app, "ro-RO")
    refused = client.post(
        "/login",
        data={"username": "bob", "password": "wrong", "csrf_token": csrf_token_from(client)},
    )
    assert refused.status_code == 401
    assert "Nume de utilizator sau parolă greșită." in refused.get_data(as_text=True)
    log_in(client, *ADMIN)
    token = csrf_token_from(client, "/sync")
    requested = client.post("/sync", data={"csrf_token": token})
    page = client.get(requested.headers["Location"]).get_data(as_text=True)
    assert "a fost cerută; workerul o pornește în curând." in page


@pytest.mark.browser
def test_chromium_shows_a_romanian_manager_no_english_word(
    browser, live_server: str, app: Flask, seed: Seed, signage: Signage, ads: Ads,
    failed_sync_run: int,
) -> None:  # fmt: skip
    """What the browser renders, scripts included: the words sync.js writes come from the page."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server, locale="ro-RO")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        browser_log_in(page, ADMIN)
        left = {}
        for path in _pages(app, seed, ads, failed_sync_run):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            words = ENGLISH_WORD.findall(page.inner_text("body"))
            if words:
                left[path] = sorted(set(words))
        assert not left, left
        page.goto("/sync")
        page.click("#sync-now")
        expect(page.locator(".flash-success")).to_contain_text("a fost cerută")
        expect(page.locator("#refreshed")).to_contain_text("Actualizat ultima dată la")
    finally:
        context.close()
