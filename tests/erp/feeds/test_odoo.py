"""The Odoo feed against the Odoo stand-in (esl_controller.sims.odoo) over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.feeds.base import FeedError
from esl_controller.erp.feeds.odoo import OdooError, OdooFeed, odoo_price
from esl_controller.erp.records import parse_product, parse_promotion
from tests.support.odoo import days_from_now

LONG_AGO = "2026-01-01 00:00:00"
SINCE = datetime(2026, 6, 1, tzinfo=UTC)


def feed(settings, **changes) -> OdooFeed:
    made = feed_from_settings(settings.with_overrides(**changes) if changes else settings)
    assert isinstance(made, OdooFeed)
    return made


def products(odoo_feed: OdooFeed, **kwargs) -> dict[str, dict]:
    return {
        record["gtin"]: record
        for page in odoo_feed.pages("products", **kwargs)
        for record in page.records
    }


def promotions(odoo_feed: OdooFeed, **kwargs) -> list[dict]:
    return [r for page in odoo_feed.pages("promotions", **kwargs) for r in page.records]


def age_everything(shop) -> None:
    """Every product, and every stock move, last written long before SINCE."""
    for model in ("product.product", "product.template", "stock.move"):
        for row in shop.odoo.tables[model].values():
            row["write_date"] = LONG_AGO


def test_every_call_names_the_company_and_the_store_warehouse(odoo_settings, odoo_shop) -> None:
    list(feed(odoo_settings).pages("products"))
    bodies = odoo_shop.odoo.calls_to("product.product")
    assert bodies and all(
        body["context"]["allowed_company_ids"] == [odoo_shop.company]
        and body["context"]["warehouse_id"] == odoo_shop.warehouse
        for body in bodies
    )
    assert ["company_id", "in", [False, odoo_shop.company]] in bodies[0]["domain"]


def test_the_shelf_price_is_the_variant_lst_price(odoo_settings, odoo_shop) -> None:
    found = products(feed(odoo_settings, odoo_pricelist=0))
    # The 2 l bottle costs the template's 5.00 plus its own 4.00 extra.
    assert parse_product(found["5940000000035"]).price_minor == 900
    assert parse_product(found["5940000000028"]).price_minor == 500


def test_another_company_s_products_never_reach_labels(odoo_settings, odoo_shop) -> None:
    assert "5940000000059" not in products(feed(odoo_settings))


def test_stock_is_the_store_warehouse_s_not_the_company_s(odoo_settings, odoo_shop) -> None:
    found = products(feed(odoo_settings))
    assert parse_product(found["5940000000011"]).stock == 12  # 30 more sit in WH2
    by_location = products(
        feed(odoo_settings, odoo_warehouse=0, odoo_location=odoo_shop.other_stock)
    )
    assert parse_product(by_location["5940000000011"]).stock == 30


def test_sale_taxes_not_included_are_added_to_the_shelf_price(odoo_settings, odoo_shop) -> None:
    odoo = odoo_shop.odoo
    odoo.write(
        "product.template",
        odoo_shop.templates["cheese"],
        taxes_id=[odoo_shop.vat, odoo_shop.other_vat],
    )
    found = products(feed(odoo_settings, odoo_pricelist=0))
    assert parse_product(found["5940000000011"]).price_minor == 1190  # 10.00 + 19 %, not + 21 %
    assert parse_product(found["5940000000028"]).price_minor == 500  # 9 % already included
    untaxed = products(feed(odoo_settings, odoo_pricelist=0, odoo_prices_include_tax=False))
    assert parse_product(untaxed["5940000000011"]).price_minor == 1000


def test_only_the_configured_pricelist_sets_prices(odoo_settings, odoo_shop) -> None:
    odoo, shop = odoo_shop.odoo, odoo_shop
    odoo.item(
        shop.pricelist,
        applied_on="2_product_category",
        categ_id=shop.drinks,
        compute_price="percentage",
        percent_price=10.0,
    )
    odoo.item(
        shop.pricelist,
        applied_on="0_product_variant",
        product_id=shop.variants["cola"],
        min_quantity=3.0,
        fixed_price=3.33,
    )  # "3 for": never the shelf price
    odoo.item(shop.b2b_pricelist, fixed_price=1.0)  # another pricelist: ignored
    archived = odoo.pricelist("Old", company=shop.company, active=False)
    odoo.item(archived, fixed_price=2.0)
    odoo.item(
        shop.pricelist,
        applied_on="1_product",
        product_tmpl_id=shop.templates["cheese"],
        compute_price="formula",
        price_discount=10.0,
        price_round=0.1,
        price_surcharge=-0.01,
    )
    found = products(feed(odoo_settings))
    assert parse_product(found["5940000000028"]).price_minor == 450  # 5.00 - 10 %
    assert parse_product(found["5940000000035"]).price_minor == 810  # 9.00 - 10 %
    assert parse_product(found["5940000000011"]).price_minor == 899  # 9.00 rounded, - 0.01
    assert parse_product(found["5940000000042"]).price_minor == 650  # no rule: list price


def test_an_archived_pricelist_is_refused_by_name(odoo_settings, odoo_shop) -> None:
    odoo_shop.odoo.write("product.pricelist", odoo_shop.pricelist, active=False)
    with pytest.raises(FeedError, match=rf"pricelist {odoo_shop.pricelist} .*is archived"):
        list(feed(odoo_settings).pages("products"))


def test_dated_rules_are_promotions_and_not_the_regular_price(odoo_settings, odoo_shop) -> None:
    odoo, shop = odoo_shop.odoo, odoo_shop
    start, end = days_from_now(-1), days_from_now(6)
    item = odoo.item(
        shop.pricelist,
        applied_on="1_product",
        product_tmpl_id=shop.templates["cola"],
        compute_price="percentage",
        percent_price=20.0,
        date_start=start,
        date_end=end,
    )
    odoo.item(
        shop.pricelist,
        applied_on="0_product_variant",
        product_id=shop.variants["apples"],
        fixed_price=1.0,
        date_start=days_from_now(-9),
        date_end=days_from_now(-2),
    )  # over
    odoo.item(shop.b2b_pricelist, fixed_price=0.5, date_start=start, date_end=end)  # B2B
    the_feed = feed(odoo_settings)
    assert parse_product(products(the_feed)["5940000000028"]).price_minor == 500
    found = {parse_promotion(r).external_id: parse_promotion(r) for r in promotions(the_feed)}
    assert sorted(found) == [
        f"odoo-pricelist-item-{item}-variant-{shop.variants['cola']}",
        f"odoo-pricelist-item-{item}-variant-{shop.variants['cola-2l']}",
    ]
    assert sorted(p.price_minor for p in found.values()) == [400, 720]


def test_units_come_from_the_category_and_factor_not_the_name(odoo_settings, odoo_shop) -> None:
    odoo, shop = odoo_shop.odoo, odoo_shop
    if odoo.version >= 19:
        pieces_named_kg = odoo.relative_uom("kg", shop.units, 1.0)
    else:
        pieces_named_kg = odoo.uom("kg", odoo.uom_category("Unit copy", "unit"))
    cola = odoo.template(
        "Cola 6x", list_price=30.0, category=shop.drinks, uom=pieces_named_kg, company=shop.company
    )
    odoo.variant(cola, "5940000000066")
    saffron = odoo.template(
        "Şofran", list_price=9.0, category=shop.food, uom=shop.gram, company=shop.company
    )
    odoo.variant(saffron, "5940000000073")
    eggs = odoo.template(
        "Ouă", list_price=12.0, category=shop.food, uom=shop.dozens, company=shop.company
    )
    odoo.variant(eggs, "5940000000080")
    found = products(feed(odoo_settings, odoo_pricelist=0, odoo_prices_include_tax=False))
    assert "unit" not in found["5940000000066"]  # a piece, whatever its name says
    assert (found["5940000000042"]["net_quantity"], found["5940000000042"]["unit"]) == ("1", "kg")
    assert (found["5940000000073"]["net_quantity"], found["5940000000073"]["unit"]) == (
        "0.001",
        "kg",
    )
    assert (found["5940000000080"]["net_quantity"], found["5940000000080"]["unit"]) == (
        "12",
        "piece",
    )


def test_a_unit_of_no_known_category_keeps_the_price_and_says_why(odoo_settings, odoo_shop) -> None:
    odoo_shop.odoo.write("product.template", odoo_shop.templates["apples"], uom_id=odoo_shop.boxes)
    record = products(feed(odoo_settings, odoo_pricelist=0))["5940000000042"]
    parsed = parse_product(record)
    assert parsed.price_minor == 650 and parsed.net_quantity is None
    assert parsed.unit_refused is not None and "weight, volume, length or unit count" in str(
        parsed.unit_refused
    )


def test_a_sale_arrives_incrementally_though_the_product_did_not_change(
    odoo_settings, odoo_shop
) -> None:
    age_everything(odoo_shop)
    the_feed = feed(odoo_settings)
    etag = next(iter(the_feed.pages("products"))).etag
    assert products(the_feed, since=SINCE, etag=etag) == {}
    odoo_shop.odoo.move(odoo_shop.variants["cola"], 5, source=odoo_shop.stock)  # sold out
    odoo_shop.odoo.move(odoo_shop.variants["cheese"], 4, source=odoo_shop.other_stock)  # not ours
    found = products(the_feed, since=SINCE, etag=etag)
    assert list(found) == ["5940000000028"]
    assert parse_product(found["5940000000028"]).stock == 0  # its quant is gone, as in Odoo


def test_a_changed_or_deleted_rule_reprices_every_product(odoo_settings, odoo_shop) -> None:
    age_everything(odoo_shop)
    rule = odoo_shop.odoo.item(odoo_shop.pricelist, fixed_price=3.0)
    the_feed = feed(odoo_settings)
    etag = next(iter(the_feed.pages("products"))).etag
    odoo_shop.odoo.unlink("product.pricelist.item", rule)
    found = products(the_feed, since=SINCE, etag=etag)
    assert parse_product(found["5940000000011"]).price_minor == 1000
    assert len(found) == 4  # with the archived-too context of an incremental read


def test_a_deleted_promotion_rule_is_cancelled(odoo_settings, odoo_shop) -> None:
    item = odoo_shop.odoo.item(
        odoo_shop.pricelist,
        applied_on="0_product_variant",
        product_id=odoo_shop.variants["cola"],
        fixed_price=3.99,
        date_start=days_from_now(-1),
        date_end=days_from_now(5),
    )
    the_feed = feed(odoo_settings)
    first = list(the_feed.pages("promotions"))
    assert [r["price"] for r in first[0].records] == ["3.99"]
    odoo_shop.odoo.unlink("product.pricelist.item", item)
    again = promotions(the_feed, since=SINCE, etag=first[0].etag)
    assert [parse_promotion(r).__class__.__name__ for r in again] == ["PromotionCancel"]
    assert again[0]["id"] == first[0].records[0]["id"]


def test_paging_and_resume_by_offset(odoo_settings, odoo_shop) -> None:
    pages = list(feed(odoo_settings).pages("products"))
    assert [(p.cursor, p.next_cursor) for p in pages] == [(None, "2"), ("2", "4"), ("4", None)]
    resumed = list(feed(odoo_settings).pages("products", cursor="2"))
    assert [r["gtin"] for p in resumed for r in p.records] == [r["gtin"] for r in pages[1].records]


def test_a_price_with_too_many_decimals_cannot_come_from_the_rules(
    odoo_settings, odoo_shop
) -> None:
    odoo_shop.odoo.write("product.template", odoo_shop.templates["cheese"], list_price=12.999)
    record = products(feed(odoo_settings))["5940000000011"]
    assert parse_product(record).price_minor == 1300  # Odoo rounds a computed price half-up


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.99, "12.99"), (5.0, "5.00"), (7, "7.00"), (0.1 + 0.2, "0.30000000000000004")],
)
def test_odoo_prices_keep_their_exact_decimals(value: float, text: str) -> None:
    assert odoo_price(value, "RON") == text


def test_a_missing_access_right_shows_odoo_s_message_once(odoo_settings, odoo_shop) -> None:
    odoo_shop.odoo.forbidden.add("product.pricelist.item")
    with pytest.raises(OdooError) as caught:
        list(feed(odoo_settings).pages("products"))
    assert caught.value.status == 403 and caught.value.name == "odoo.exceptions.AccessError"
    assert "not allowed to access 'product.pricelist.item'" in str(caught.value)
    assert "ESL_ERP_TOKEN" not in str(caught.value)
    assert len(odoo_shop.odoo.calls_to("product.pricelist.item")) == 1


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (500, "builtins.ValueError"),
        (422, "odoo.exceptions.ValidationError"),
        (422, "odoo.exceptions.UserError"),
        (404, "werkzeug.exceptions.NotFound"),
        (400, "werkzeug.exceptions.BadRequest"),
    ],
)
def test_errors_that_will_not_change_are_not_retried(
    odoo_settings, odoo_shop, status, name
) -> None:
    odoo_shop.odoo.fail(
        status, name, "the same answer every time", model="product.product", times=6
    )
    with pytest.raises(OdooError, match=rf"answered {status} \({name}: the same answer"):
        list(feed(odoo_settings, erp_retry_after_max_s=0).pages("products"))
    assert len(odoo_shop.odoo.calls_to("product.product")) == 1


def test_overload_is_retried_until_odoo_answers(odoo_settings, odoo_shop) -> None:
    from esl_controller.erp.feeds.http import make_session
    from esl_controller.erp.feeds.odoo.client import RETRY_STATUSES

    session = make_session(
        odoo_settings,
        backoff_factor=0,
        backoff_jitter=0,
        auth_scheme="bearer",
        retry_statuses=RETRY_STATUSES,
    )
    odoo_shop.odoo.fail(
        503, "werkzeug.exceptions.ServiceUnavailable", "busy", model="product.product", times=2
    )
    found = products(feed_from_settings(odoo_settings, session))
    assert "5940000000011" in found
    assert len(odoo_shop.odoo.calls_to("product.product")) == 2 + 3  # refused twice, 3 pages


def test_a_wrong_api_key_says_so_with_odoo_s_words(odoo_settings, odoo_shop) -> None:
    with pytest.raises(
        OdooError, match=r"401 \(odoo.exceptions.AccessDenied: Access Denied\); check"
    ):
        list(feed(odoo_settings, erp_token="wrong").pages("products"))


def test_a_timeout_is_retried(odoo_settings, odoo_shop) -> None:
    from esl_controller.erp.feeds.http import make_session
    from esl_controller.erp.feeds.odoo.client import RETRY_STATUSES

    settings = odoo_settings.with_overrides(erp_timeout_s=0.3)
    session = make_session(
        settings,
        backoff_factor=0,
        backoff_jitter=0,
        auth_scheme="bearer",
        retry_statuses=RETRY_STATUSES,
    )
    odoo_shop.odoo.stall(1.0, model="product.product")
    found = products(feed_from_settings(settings, session))
    assert "5940000000011" in found
    assert len(odoo_shop.odoo.calls_to("product.product")) == 1 + 3  # the late one, 3 pages


def test_the_currency_is_the_pricelist_s_or_else_the_product_s(odoo_settings, odoo_shop) -> None:
    odoo = odoo_shop.odoo
    euro = odoo.currency("EUR")
    odoo.write("res.company", odoo_shop.company, currency_id=euro)
    assert {r["currency"] for r in products(feed(odoo_settings, odoo_pricelist=0)).values()} == {
        "EUR"
    }
    odoo.write("product.pricelist", odoo_shop.pricelist, currency_id=euro)
    assert {r["currency"] for r in products(feed(odoo_settings)).values()} == {"EUR"}
