"""The buyer portal: a buyer lands on their own campaigns, sees delivery and breakdowns,
downloads reports, verifies the chain, and reaches nothing of other advertisers or of
store operations."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads import checkpoints
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.models import Incident
from tests.web.ads_seed import BUYER, Ads, ads_fixture  # noqa: F401
from tests.web.conftest import csrf_token_from, log_in

# What a buyer may reach: the portal, their reports and proof, their own account, logging
# in and out, and the public bits (static files, health, media for screens).
BUYER_ENDPOINTS = {
    "portal.campaigns",
    "portal.campaign",
    "portal.verify",
    "reports_api.get_report",
    "reports_api.list_report_campaigns",
    "reports_api.verify_impressions",
    "reports_api.get_public_key",
    "reports_api.export_impression_records",
    "people.account",
    "people.change_own_password",
    "people.log_out_everywhere",
    "api.change_password",
    "api.log_out_everywhere",
    "auth.login",
    "auth.logout",
    "static",
    "healthz",
    "api.healthz",
    "media.media",
}


@pytest.fixture
def buyer_client(client: FlaskClient, ads: Ads) -> FlaskClient:
    response = log_in(client, *BUYER)
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal/"
    return client


def test_a_buyer_lands_on_their_campaigns_never_a_403(buyer_client: FlaskClient):
    page = buyer_client.get("/portal/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Milk spring" in text and "Espresso" not in text
    assert "40.0% of 10 plays" in text  # 4 plays of a 10-play goal
    home = buyer_client.get("/")
    assert home.status_code == 302 and home.headers["Location"] == "/portal/"
    again = buyer_client.get("/login")
    assert again.headers["Location"] == "/portal/"


def test_the_buyers_nav_shows_only_the_portal(buyer_client: FlaskClient):
    text = buyer_client.get("/portal/").get_data(as_text=True)
    nav = text[text.index("<nav>") : text.index("</nav>")]
    assert 'href="/portal/"' in nav and 'href="/account"' in nav
    for staff_page in ("/labels", "/base-stations", "/signage", "/revenue", "/users", "/audit"):
        assert f'href="{staff_page}' not in nav


def test_the_campaign_page_shows_delivery_by_day_screen_and_hour(
    buyer_client: FlaskClient, ads: Ads
):
    response = buyer_client.get(f"/portal/campaigns/{ads.campaign_id}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'data-field="plays">4<' in text
    assert 'data-field="delivery">40.0%<' in text
    for section in ("by-day", "by-player", "by-hour"):
        assert f'id="{section}"' in text
    assert "Screen s1" in text and "Screen s2" in text
    for fmt in ("csv", "pdf", "json"):
        assert f"format={fmt}" in text


@pytest.mark.parametrize(
    ("fmt", "content_type", "start"),
    [
        ("csv", "text/csv", b"#"),
        ("pdf", "application/pdf", b"%PDF"),
        ("json", "application/json", b"{"),
    ],
)
def test_the_buyer_downloads_their_report(
    buyer_client: FlaskClient, ads: Ads, fmt: str, content_type: str, start: bytes
):
    response = buyer_client.get(f"/api/v1/reports?campaign={ads.campaign_id}&format={fmt}")
    assert response.status_code == 200
    assert response.content_type.startswith(content_type)
    assert response.data.startswith(start)


def test_another_advertisers_campaign_is_not_found_and_logged(
    buyer_client: FlaskClient, ads: Ads, engine: Engine
):
    for path in (
        f"/portal/campaigns/{ads.other_campaign_id}",
        f"/portal/campaigns/{ads.other_campaign_id}/verify",
        "/portal/campaigns/99999",
    ):
        response = buyer_client.get(path)
        assert response.status_code == 404, path
        assert "Espresso" not in response.get_data(as_text=True)
    download = buyer_client.get(f"/api/v1/reports?campaign={ads.other_campaign_id}&format=csv")
    assert download.status_code == 403
    with Session(engine) as session:
        kinds = session.scalars(select(Incident.kind)).all()
    assert kinds.count("buyer_forbidden") >= 3


def test_the_verify_page_shows_the_chain_head_and_the_signed_checkpoint(
    buyer_client: FlaskClient, ads: Ads, engine: Engine, settings: Settings
):
    before = buyer_client.get(f"/portal/campaigns/{ads.campaign_id}/verify").get_data(as_text=True)
    assert "Intact" in before and "No checkpoint has been signed yet" in before
    checkpoint = checkpoints.take_checkpoint(engine, settings, utcnow())
    assert checkpoint is not None
    text = buyer_client.get(f"/portal/campaigns/{ads.campaign_id}/verify").get_data(as_text=True)
    assert f'data-field="head_seq">{checkpoint.head_seq}<' in text
    assert checkpoint.head_hash in text
    assert checkpoint.signature in text
    assert "valid for key" in text


def _placeholder_url(rule, other_campaign_id: int) -> str:
    """The rule's path with every variable filled: another advertiser's campaign id for
    numbers, a made-up word for the rest."""

    def fill(match: re.Match) -> str:
        converter = rule._converters[match.group(1)]
        return str(other_campaign_id) if "Int" in type(converter).__name__ else "x"

    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", fill, rule.rule)


@pytest.mark.parametrize("credential", ["session", "token"])
def test_every_other_route_is_refused_to_a_buyer(
    app: Flask, buyer_client: FlaskClient, ads: Ads, credential: str
):
    token = csrf_token_from(buyer_client, "/account")
    if credential == "session":
        client, headers = buyer_client, {"X-CSRFToken": token}
    else:
        client, headers = app.test_client(), {"Authorization": f"Bearer {ads.buyer_token}"}
    reached = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in BUYER_ENDPOINTS:
            continue
        if credential == "token" and not rule.rule.startswith("/api/"):
            continue  # tokens are for the API; pages go by the session
        url = _placeholder_url(rule, ads.other_campaign_id)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token}, headers=headers)
            if rule.endpoint == "dashboard.overview":  # a buyer's home is the portal
                assert response.headers["Location"] == "/portal/"
            elif response.status_code not in (403, 404):
                reached.append((method, url, response.status_code))
    assert reached == []
    assert buyer_client.get("/portal/").status_code == 200  # still logged in


def test_a_refused_page_is_styled_with_a_way_back(buyer_client: FlaskClient):
    response = buyer_client.get("/labels")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "Not for your account" in text
    assert 'id="way-back"' in text and 'href="/portal/"' in text
    assert 'rel="stylesheet"' in text
    api = buyer_client.get("/api/v1/labels")
    assert api.status_code == 403 and "error" in api.get_json()


def test_staff_may_open_the_portal_for_any_campaign(manager_client: FlaskClient, ads: Ads):
    text = manager_client.get("/portal/").get_data(as_text=True)
    assert "Milk spring" in text and "Espresso" in text
    assert manager_client.get(f"/portal/campaigns/{ads.other_campaign_id}").status_code == 200
