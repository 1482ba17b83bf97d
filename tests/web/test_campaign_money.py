"""Campaign CPMs over the API in each currency's minor unit, and the billed terms (currency,
advertiser) frozen once a campaign has impressions."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from esl_controller.models import Campaign
from tests.web.ads_seed import FLIGHT_END, FLIGHT_START, Ads, ads_fixture  # noqa: F401
from tests.web.conftest import Seed, bearer


def body(advertiser_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "advertiser_id": advertiser_id,
        "name": "Milk spring",
        "starts_at": FLIGHT_START.isoformat(),
        "ends_at": FLIGHT_END.isoformat(),
        "cpm": "12.50",
        "currency": "RON",
        **changes,
    }


@pytest.mark.parametrize(
    ("cpm", "code", "stored", "shown"),
    [
        ("500", "JPY", 500, "500"),
        ("1.234", "KWD", 1234, "1.234"),
        ("4.5", "EUR", 450, "4.50"),
        ("0.1234", "CLF", 1234, "0.1234"),
    ],
)
def test_cpm_is_stored_in_the_currencys_minor_units(
    client: FlaskClient, ads: Ads, seed: Seed, engine, cpm, code, stored, shown
):
    response = client.post(
        "/api/v1/campaigns",
        json=body(ads.advertiser_id, name=f"In {code}", cpm=cpm, currency=code),
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["cpm"] == shown
    with Session(engine) as session:
        assert session.get(Campaign, response.get_json()["id"]).cpm_minor == stored


def test_a_cpm_finer_than_the_minor_unit_is_refused(client: FlaskClient, ads: Ads, seed: Seed):
    response = client.post(
        "/api/v1/campaigns",
        json=body(ads.advertiser_id, cpm="4.50", currency="JPY"),
        headers=bearer(seed.manager_token),
    )
    assert response.status_code == 400
    assert response.get_json()["errors"]["cpm"] == ["JPY amounts have at most 0 decimals, got 4.50"]


def test_currency_and_advertiser_are_frozen_once_billed(
    client: FlaskClient, ads: Ads, seed: Seed, engine
):
    path, headers = f"/api/v1/campaigns/{ads.campaign_id}", bearer(seed.manager_token)
    currency = client.put(path, json=body(ads.advertiser_id, currency="EUR"), headers=headers)
    assert currency.status_code == 409
    assert "has billed impressions: its currency cannot change" in currency.get_json()["error"]
    with Session(engine) as session:
        other_advertiser = session.get(Campaign, ads.other_campaign_id).advertiser_id
    moved = client.put(path, json=body(other_advertiser), headers=headers)
    assert moved.status_code == 409
    assert "its advertiser_id cannot change" in moved.get_json()["error"]
    renamed = client.put(path, json=body(ads.advertiser_id, name="Milk spring 2"), headers=headers)
    assert renamed.status_code == 200, renamed.get_json()
    report = client.get(f"/api/v1/reports?campaign={ads.campaign_id}", headers=headers)
    assert report.status_code == 200
    assert report.get_json()["campaign"]["currency"] == "RON"
    with Session(engine) as session:
        assert session.get(Campaign, ads.campaign_id).advertiser_id == ads.advertiser_id


def test_a_campaign_without_impressions_may_still_change_currency(
    client: FlaskClient, ads: Ads, seed: Seed
):
    headers = bearer(seed.manager_token)
    created = client.post("/api/v1/campaigns", json=body(ads.advertiser_id), headers=headers)
    path = f"/api/v1/campaigns/{created.get_json()['id']}"
    changed = client.put(path, json=body(ads.advertiser_id, currency="EUR"), headers=headers)
    assert changed.status_code == 200
    assert changed.get_json()["currency"] == "EUR"
