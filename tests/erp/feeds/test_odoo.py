from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from responses import matchers

from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.feeds.base import FeedError
from esl_controller.erp.feeds.odoo import OdooFeed, odoo_price
from esl_controller.erp.records import RecordError, parse_product, parse_promotion

from .conftest import ERP_URL, TOKEN

PRODUCTS = f"{ERP_URL}/json/2/product.product/search_read"
READ = f"{ERP_URL}/json/2/product.product/read"
ITEMS = f"{ERP_URL}/json/2/product.pricelist.item/search_read"


def odoo_product(odoo_id: int, **changes: object) -> dict:
    row = {
        "id": odoo_id, "barcode": "5940000000011", "display_name": "Brânză telemea",
        "list_price": 12.99, "currency_id": [1, "RON"], "write_date": "2026-11-23 10:00:00",
        "active": True, "sale_ok": True, "qty_available": 12.0, "uom_id": [1, "Units"],
        "weight": 0.4,
    }  # fmt: skip
    row.update(changes)
    return row


@pytest.fixture
def odoo(erp_settings, erp) -> OdooFeed:
    settings = erp_settings.with_overrides(erp_feed="odoo", erp_database="shop")
    feed = feed_from_settings(settings)
    assert isinstance(feed, OdooFeed)
    return feed


def test_the_request_has_odoo_json2_shape(odoo, erp) -> None:
    erp.post(PRODUCTS, json=[odoo_product(1)])
    pages = list(odoo.pages("products"))
    request = erp.calls[0].request
    assert request.url == PRODUCTS
    assert request.headers["Authorization"] == f"bearer {TOKEN}"
    assert request.headers["X-Odoo-Database"] == "shop"
    body = json.loads(request.body)
    assert body["domain"] == [["barcode", "!=", False], ["sale_ok", "=", True]]
    assert {"barcode", "display_name", "list_price", "write_date", "active"} <= set(body["fields"])
    assert (body["limit"], body["offset"], body["order"]) == (2, 0, "id")
    assert "context" not in body  # a full snapshot: Odoo's default, active products only
    assert len(pages) == 1


def test_products_map_to_the_generic_record(odoo, erp) -> None:
    erp.post(PRODUCTS, json=[odoo_product(1)])
    record = next(iter(odoo.pages("products"))).records[0]
    parsed = parse_product(record)
    assert record["price"] == "12.99"
    assert parsed.price_minor == 1299
    assert (parsed.gtin, parsed.name, parsed.currency) == ("5940000000011", "Brânză telemea", "RON")
    assert parsed.modified_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert (parsed.net_quantity, parsed.unit, parsed.stock) == (0.4, "kg", 12)
    assert parsed.status == "active"


def test_an_archived_or_unsellable_product_is_delisted(odoo, erp) -> None:
    erp.post(PRODUCTS, json=[odoo_product(1, active=False), odoo_product(2, sale_ok=False)])
    records = next(iter(odoo.pages("products"))).records
    assert [parse_product(record).status for record in records] == ["delisted", "delisted"]


def test_a_product_sold_by_weight_is_priced_per_unit_of_measure(odoo, erp) -> None:
    erp.post(PRODUCTS, json=[odoo_product(1, uom_id=[3, "kg"], list_price=24.5)])
    parsed = parse_product(next(iter(odoo.pages("products"))).records[0])
    assert (parsed.price_minor, parsed.net_quantity, parsed.unit) == (2450, 1.0, "kg")


def test_a_price_with_too_many_decimals_is_refused_not_rounded(odoo, erp) -> None:
    erp.post(PRODUCTS, json=[odoo_product(1, list_price=12.999)])
    record = next(iter(odoo.pages("products"))).records[0]
    with pytest.raises(RecordError, match=r"price: 12\.999 has 3 decimals; RON allows 2"):
        parse_product(record)


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.99, "12.99"), (5.0, "5.00"), (7, "7.00"), (0.1 + 0.2, "0.30000000000000004")],
)
def test_odoo_prices_keep_their_exact_decimals(value: float, text: str) -> None:
    assert odoo_price(value, "RON") == text


def test_incremental_asks_for_changes_including_archived(odoo, erp) -> None:
    erp.post(PRODUCTS, json=[])
    since = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    list(odoo.pages("products", since=since))
    body = json.loads(erp.calls[0].request.body)
    assert ["write_date", ">", "2026-11-23 09:00:00"] in body["domain"]
    assert body["context"] == {"active_test": False}


def test_paging_by_offset_and_resume(odoo, erp) -> None:
    erp.post(PRODUCTS, json=[odoo_product(1), odoo_product(2)],
             match=[matchers.json_params_matcher({"offset": 0}, strict_match=False)])  # fmt: skip
    erp.post(PRODUCTS, json=[odoo_product(3), odoo_product(4)],
             match=[matchers.json_params_matcher({"offset": 2}, strict_match=False)])  # fmt: skip
    erp.post(PRODUCTS, json=[odoo_product(5)],
             match=[matchers.json_params_matcher({"offset": 4}, strict_match=False)])  # fmt: skip
    pages = list(odoo.pages("products"))
    assert [(page.cursor, page.next_cursor) for page in pages] == [
        (None, "2"), ("2", "4"), ("4", None)
    ]  # fmt: skip
    assert [record["_odoo_id"] for page in pages for record in page.records] == [1, 2, 3, 4, 5]
    resumed = list(odoo.pages("products", cursor="4"))
    assert [page.cursor for page in resumed] == ["4"]


def test_pricelist_items_become_promotions(odoo, erp) -> None:
    erp.post(
        ITEMS,
        json=[
            {"id": 7, "fixed_price": 9.99, "currency_id": [1, "RON"], "product_id": [11, "Telemea"],
             "product_tmpl_id": [5, "Telemea"], "date_start": "2026-11-24 00:00:00",
             "date_end": "2026-11-30 22:00:00", "write_date": "2026-11-23 10:00:00"},
        ],
    )  # fmt: skip
    erp.post(READ, json=[{"id": 11, "barcode": "5940000000011"}])
    records = next(iter(odoo.pages("promotions"))).records
    parsed = parse_promotion(records[0])
    assert parsed.external_id == "odoo-pricelist-item-7"
    assert (parsed.gtin, parsed.price_minor) == ("5940000000011", 999)
    assert parsed.starts_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert parsed.ends_at == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    item_body = json.loads(erp.calls[0].request.body)
    assert ["compute_price", "=", "fixed"] in item_body["domain"]
    assert {"fixed_price", "date_start", "date_end", "product_id"} <= set(item_body["fields"])
    assert json.loads(erp.calls[1].request.body)["ids"] == [11]


def test_a_template_rule_gives_one_promotion_per_variant(odoo, erp) -> None:
    erp.post(
        ITEMS,
        json=[{"id": 8, "fixed_price": 3.5, "product_id": False, "product_tmpl_id": [5, "Suc"],
               "date_start": "2026-11-24 00:00:00", "date_end": "2026-11-25 00:00:00"}],
    )  # fmt: skip
    erp.post(
        PRODUCTS,
        json=[{"id": 21, "barcode": "5940000000028", "product_tmpl_id": [5, "Suc"]},
              {"id": 22, "barcode": "5940000000035", "product_tmpl_id": [5, "Suc"]}],
    )  # fmt: skip
    records = next(iter(odoo.pages("promotions"))).records
    assert [(r["id"], r["gtin"], r["price"]) for r in records] == [
        ("odoo-pricelist-item-8-variant-21", "5940000000028", "3.50"),
        ("odoo-pricelist-item-8-variant-22", "5940000000035", "3.50"),
    ]


def test_an_odoo_error_is_reported_with_its_message(odoo, erp) -> None:
    erp.post(PRODUCTS, status=422, json={"message": "Invalid field 'qty_available'"})
    with pytest.raises(FeedError, match=r"Odoo product\.product\.search_read.*Invalid field"):
        list(odoo.pages("products"))


def test_an_invalid_api_key_fails_at_once(odoo, erp) -> None:
    erp.post(PRODUCTS, status=401, json={"message": "Invalid apikey"})
    with pytest.raises(FeedError, match=r"refused the credentials \(401\)"):
        list(odoo.pages("products"))
    assert len(erp.calls) == 1
