"""The catalogue over /api/v1: search, one product, manual prices and promotions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller import audit
from esl_controller.clock import utcnow
from esl_controller.models import PriceHistory, Product
from tests.web.conftest import bearer

DALIA = "5901234123457"


@pytest.fixture
def api(client, seed):
    headers = bearer(seed.manager_token)

    def call(method: str, path: str, body: object | None = None):
        return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)

    return call


def test_products_are_searched_and_paged(api):
    answer = api("GET", "/products?q=dalia").get_json()
    assert [row["gtin"] for row in answer["items"]] == [DALIA]
    assert answer["items"][0]["labels"] == 2 and answer["items"][0]["stock_level"] == "in_stock"
    paged = api("GET", "/products?limit=1&offset=1").get_json()
    assert paged["total"] == 3 and len(paged["items"]) == 1
    assert api("GET", "/products?limit=0").status_code == 400


def test_one_product_in_any_gtin_form_with_its_labels(api):
    answer = api("GET", f"/products/0{DALIA}")  # the 14-digit form names the same product
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["gtin"] == DALIA and body["labels"] == 2
    assert {label["id"] for label in body["product_labels"]} == {"L-ACKED", "L-FAILED"}
    assert body["prior"] is None and body["history"][0]["source"] == "erp"
    assert api("GET", "/products/4006381333932").status_code == 404


def test_manual_price_by_api_is_audited_and_enters_history(api, engine):
    answer = api(
        "POST", f"/products/{DALIA}/manual-price", {"price_minor": 2299, "reason": "ERP down"}
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["price_minor"] == 2299 and body["labels_total"] == 2
    with Session(engine) as s:
        product = s.scalars(select(Product).where(Product.gtin == DALIA)).one()
        sources = [
            p.source
            for p in s.scalars(select(PriceHistory).where(PriceHistory.product_id == product.id))
        ]
        (entry,) = audit.recent(s, action_prefix="price.")
    assert product.price_minor == 2299 and sources == ["erp", "manual"]
    assert entry.actor == "bob"
    assert api("GET", f"/products/{DALIA}").get_json()["manual_price"] is True


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"price_minor": 0, "reason": "x"}, "price", "more than zero"),
        ({"price_minor": -10, "reason": "x"}, "price", "negative"),
        ({"price_minor": 10**10, "reason": "x"}, "price", "too many digits"),
        ({"price_minor": 100, "reason": "  "}, "reason", "Say why"),
    ],
)
def test_bad_manual_prices_are_refused_with_the_field_and_change_nothing(
    api, engine, body, field, says
):
    answer = api("POST", f"/products/{DALIA}/manual-price", body)
    assert answer.status_code == 400
    assert says in answer.get_json()["errors"][field]
    with Session(engine) as s:
        assert s.scalars(select(Product).where(Product.gtin == DALIA)).one().price_minor == 2499
        assert audit.recent(s) == []


def test_manual_promotion_by_api_shows_its_prior_price(api):
    today = utcnow().date()
    body = {
        "price_minor": 1999,
        "first_day": today.isoformat(),
        "last_day": (today + timedelta(days=3)).isoformat(),
        "reason": "head office by phone",
    }
    assert api("POST", f"/products/{DALIA}/manual-promotion", body).status_code == 200
    prior = api("GET", f"/products/{DALIA}").get_json()["prior"]
    assert prior["lowest_minor"] == 2499 and prior["below_lowest"] is True
    above = {**body, "price_minor": 2600}
    refused = api("POST", f"/products/{DALIA}/manual-promotion", above)
    assert (
        refused.status_code == 400
        and "below the regular price" in refused.get_json()["errors"]["price"]
    )
    backwards = {**body, "last_day": (today - timedelta(days=1)).isoformat()}
    assert (
        "before the first day"
        in api("POST", f"/products/{DALIA}/manual-promotion", backwards).get_json()["errors"][
            "ends"
        ]
    )


def test_the_openapi_document_lists_the_catalogue_routes(api):
    paths = api("GET", "/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/products"] and "get" in paths["/api/v1/products/{gtin}"]
    assert "post" in paths["/api/v1/products/{gtin}/manual-price"]
    assert "post" in paths["/api/v1/products/{gtin}/manual-promotion"]
