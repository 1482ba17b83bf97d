"""Chain campaigns over the API: targeting names only stores and zone kinds that exist, the
report and the verification take a store, and a buyer of one advertiser asking for another's
chain campaign gets a 403 that leaks nothing of it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from tests.support.chain_stores import BUYER, ChainWorld, add_buyer, play_everywhere, seed_chain
from tests.support.head_office_stores import add_store_user
from tests.web.conftest import Seed, bearer, log_in

PLAYS = {"buc-centre": 4, "buc-north": 2, "london": 3}


def _chain(engine: Engine, settings: Settings) -> tuple[ChainWorld, str]:
    world = seed_chain(engine)
    play_everywhere(
        engine, settings, world, world.dairy_campaign_id, PLAYS, start=utcnow() - timedelta(hours=2)
    )
    play_everywhere(
        engine, settings, world, world.other_campaign_id, PLAYS, start=utcnow() - timedelta(hours=1)
    )
    return world, add_buyer(engine, world)


def _campaign_body(advertiser_id: int, targeting: dict) -> dict:
    return {
        "advertiser_id": advertiser_id,
        "name": "Cheese chain-wide",
        "starts_at": "2026-11-01T08:00:00+02:00",
        "ends_at": "2026-11-08T22:00:00+02:00",
        "cpm": "4.50",
        "currency": "RON",
        "targeting": targeting,
    }


def test_targeting_refuses_stores_and_zone_kinds_that_do_not_exist(
    client: FlaskClient, seed: Seed, engine: Engine, settings: Settings
):
    world, _ = _chain(engine, settings)
    manager = bearer(seed.manager_token)
    cases = {
        "stores": ({"stores": ["paris"]}, "there is no store 'paris'"),
        "zone_kinds": ({"zone_kinds": ["bakery"]}, "no zone of kind 'bakery' in any store"),
    }
    for field, (targeting, words) in cases.items():
        body = _campaign_body(world.advertiser_id, targeting)
        response = client.post("/api/v1/campaigns", json=body, headers=manager)
        assert response.status_code == 422, response.get_json()
        assert words in " ".join(response.get_json()["errors"][field])
    # A kind that exists, but not in the stores chosen.
    body = _campaign_body(world.advertiser_id, {"stores": ["store-1"], "zone_kinds": ["dairy"]})
    response = client.post("/api/v1/campaigns", json=body, headers=manager)
    assert response.status_code == 422
    assert "in the campaign's stores" in " ".join(response.get_json()["errors"]["zone_kinds"])
    good = _campaign_body(world.advertiser_id, {"stores": ["london"], "zone_kinds": ["dairy"]})
    created = client.post("/api/v1/campaigns", json=good, headers=manager)
    assert created.status_code == 201, created.get_json()


def test_the_report_and_the_proof_of_a_chain_campaign_per_store(
    client: FlaskClient, seed: Seed, engine: Engine, settings: Settings
):
    world, token = _chain(engine, settings)
    base = f"/api/v1/reports?campaign={world.dairy_campaign_id}&from=2026-01-01&to=2027-12-31"
    whole = client.get(f"{base}&group_by=store", headers=bearer(token)).get_json()
    assert [(g["key"], g["plays"]) for g in whole["groups"]] == sorted(PLAYS.items())
    spends = []
    for store in PLAYS:
        one = client.get(f"{base}&store={store}", headers=bearer(token)).get_json()
        assert one["store"] == store and {s["store"] for s in one["screens"]} == {store}
        spends.append(one["total"]["spend_minor"])
    assert whole["total"]["spend_minor"] == sum(spends)
    csv = client.get(f"{base}&store=london&format=csv", headers=bearer(token))
    assert "# stores: london only" in csv.get_data(as_text=True)
    assert "store-london" in csv.headers["Content-Disposition"]
    unknown = client.get(f"{base}&store=paris", headers=bearer(token))
    assert unknown.status_code == 400
    assert "there is no store 'paris'" in json.dumps(unknown.get_json())

    verify = f"/api/v1/impressions/verify?campaign={world.dairy_campaign_id}"
    proof = client.get(verify, headers=bearer(token)).get_json()
    assert proof["ok"] and proof["store"] is None
    assert {s["store_id"]: s["records"] for s in proof["stores"]} == PLAYS
    north = client.get(f"{verify}&store=buc-north", headers=bearer(token)).get_json()
    assert north["ok"] and north["campaign_records"] == PLAYS["buc-north"]
    assert [s["store_id"] for s in north["stores"]] == ["buc-north"]


def test_a_buyer_asking_for_another_advertisers_chain_campaign_gets_403_and_nothing_else(
    client: FlaskClient, seed: Seed, engine: Engine, settings: Settings
):
    world, token = _chain(engine, settings)
    other = world.other_campaign_id
    for path in (
        f"/api/v1/reports?campaign={other}",
        f"/api/v1/reports?campaign={other}&store=london&group_by=store",
        f"/api/v1/reports?campaign={other}&store=paris",
        f"/api/v1/impressions/verify?campaign={other}&store=buc-north",
        f"/api/v1/campaigns/{other}/impression-records",
    ):
        response = client.get(path, headers=bearer(token))
        assert response.status_code == 403, path
        body = response.get_data(as_text=True)
        for secret in ("Espresso", "Coffee Co", "London Soho", "buc-north", "london", "paris"):
            assert secret not in body, (path, secret)


def test_the_portal_shows_a_chain_campaign_store_by_store(
    client: FlaskClient, seed: Seed, engine: Engine, settings: Settings
):
    world, _ = _chain(engine, settings)
    assert log_in(client, *BUYER).status_code == 302
    page = client.get(f"/portal/campaigns/{world.dairy_campaign_id}").get_data(as_text=True)
    by_store = page[page.index('id="by-store"') : page.index('id="by-player"')]
    for name in ("Bucharest Centre", "Bucharest North", "London Soho"):
        assert name in by_store
    assert "store=london" in by_store and 'data-store="london" data-format="csv"' in by_store
    proof = client.get(f"/portal/campaigns/{world.dairy_campaign_id}/verify")
    row = re.compile(r'<tr data-store="([^"]+)"><td>[^<]*</td><td class="num">(\d+)<')
    rows = row.findall(proof.get_data(as_text=True))
    assert dict(rows) == {store: str(n) for store, n in PLAYS.items()}
    other = client.get(f"/portal/campaigns/{world.other_campaign_id}")
    assert other.status_code == 404
    assert "Espresso" not in other.get_data(as_text=True)


def test_revenue_is_the_current_stores_and_the_whole_chain_is_head_offices(
    client: FlaskClient, seed: Seed, engine: Engine, settings: Settings
):
    _chain(engine, settings)
    head_office = bearer(seed.admin_token)
    north = bearer(add_store_user(engine, "bn-manager", "bn-password-1", "manager", "buc-north"))
    period = "from=2026-01-01&to=2026-12-31"

    def plays(body: dict) -> int:
        return sum(line["plays"] for line in body["totals"])

    own = client.get(f"/api/v1/revenue?{period}", headers=north).get_json()
    assert plays(own) == 2 * PLAYS["buc-north"]  # its two campaigns, its screens only
    assert {line["key"] for line in own["by_store"]} == {"buc-north"}
    assert client.get(f"/api/v1/revenue?{period}&chain=true", headers=north).status_code == 403

    switched = client.get(f"/api/v1/revenue?{period}&store=london", headers=head_office).get_json()
    assert plays(switched) == 2 * PLAYS["london"]
    chain = client.get(f"/api/v1/revenue?{period}&chain=true", headers=head_office).get_json()
    by_store = {line["key"]: line for line in chain["by_store"]}
    assert {store: line["plays"] for store, line in by_store.items()} == {
        store: 2 * count for store, count in PLAYS.items()
    }
    assert by_store["london"]["label"] == "London Soho"
    assert plays(chain) == sum(line["plays"] for line in by_store.values())

    assert log_in(client, "bn-manager", "bn-password-1").status_code == 302
    page = client.get(f"/revenue?{period}").get_data(as_text=True)
    assert 'id="revenue-by-store"' not in page and 'id="revenue-scope"' not in page
    assert client.get(f"/revenue?{period}&chain=1").status_code == 403
