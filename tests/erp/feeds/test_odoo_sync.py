"""A store synced from the Odoo stand-in through the real sync runner and a real database."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.sync import run_sync
from esl_controller.models import DeadLetter, Product, Promotion, SyncRun
from tests.support.odoo import days_from_now


def catalogue(engine) -> dict[str, Product]:
    with Session(engine) as s:
        return {p.gtin: p for p in s.execute(select(Product)).scalars()}


def test_a_full_then_incremental_sync_from_odoo(engine, store, settings, odoo_shop) -> None:
    odoo, shop = odoo_shop.odoo, odoo_shop
    odoo.write("product.template", shop.templates["apples"], uom_id=shop.boxes)
    odoo.write("product.template", shop.templates["cola"], taxes_id=[shop.vat])
    odoo.item(
        shop.pricelist,
        applied_on="2_product_category",
        categ_id=shop.food,
        compute_price="percentage",
        percent_price=10.0,
    )
    sale = odoo.item(
        shop.pricelist,
        applied_on="0_product_variant",
        product_id=shop.variants["cola"],
        fixed_price=3.99,
        date_start=days_from_now(-1),
        date_end=days_from_now(6),
    )
    erp_settings = settings.with_overrides(
        erp_feed="odoo",
        erp_url=odoo.url,
        erp_token=odoo.api_key,
        erp_database=odoo.database,
        erp_page_size=2,
        odoo_pricelist=shop.pricelist,
        odoo_company=shop.company,
        odoo_warehouse=shop.warehouse,
    )
    feed = feed_from_settings(erp_settings)

    first = run_sync(engine, feed, erp_settings)
    assert first.status == "succeeded", first.error
    products = catalogue(engine)
    assert sorted(products) == ["5940000000011", "5940000000028", "5940000000035", "5940000000042"]
    assert products["5940000000011"].price_minor == 900  # 10.00 - 10 %, VAT included
    assert products["5940000000011"].stock == 12
    assert products["5940000000028"].price_minor == 595  # 5.00 + 19 % VAT
    assert products["5940000000042"].price_minor == 585  # priced, without a unit price
    assert products["5940000000042"].net_quantity is None
    with Session(engine) as s:
        letters = s.execute(select(DeadLetter).where(DeadLetter.run_id == first.run_id)).scalars()
        reasons = {(d.record_key, d.field): d.reason for d in letters}
        promotion = s.execute(select(Promotion)).scalar_one()
    assert "weight, volume, length or unit count" in reasons[("5940000000042", "unit")]
    assert promotion.price_minor == 475  # 3.99 + 19 % VAT, rounded half-up

    odoo.move(shop.variants["cheese"], 12, source=shop.stock)  # sold out: its quant goes
    odoo.unlink("product.pricelist.item", sale)
    second = run_sync(engine, feed, erp_settings)
    assert second.status == "succeeded", second.error
    with Session(engine) as s:
        assert s.get(SyncRun, second.run_id).full is False
        ended = s.execute(select(Promotion)).scalar_one()
    assert catalogue(engine)["5940000000011"].stock == 0
    assert ended.ends_at.replace(tzinfo=None) <= utcnow().replace(tzinfo=None)

    third = run_sync(engine, feed, erp_settings)
    assert third.status == "succeeded" and third.changed == 0


def test_a_refused_access_right_fails_the_run_with_odoo_s_message(
    engine, store, settings, odoo_shop
) -> None:
    odoo = odoo_shop.odoo
    odoo.forbidden.add("account.tax")
    erp_settings = settings.with_overrides(
        erp_feed="odoo",
        erp_url=odoo.url,
        erp_token=odoo.api_key,
        erp_database=odoo.database,
        odoo_company=odoo_shop.company,
    )
    outcome = run_sync(engine, feed_from_settings(erp_settings), erp_settings)
    assert outcome.status == "failed"
    assert "403 (odoo.exceptions.AccessError: You are not allowed to access 'account.tax'" in (
        outcome.error or ""
    )
    assert len(odoo.calls_to("account.tax", "read")) == 1
