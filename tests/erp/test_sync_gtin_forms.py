"""The 12-, 13- and 14-digit forms of one GTIN are one product, across runs and feeds."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.db import session_scope
from esl_controller.erp.sync import run_sync
from esl_controller.models import Product, Promotion
from tests.support.erp import FakeFeed, product_raw, promotion_raw

UPC = "036000291452"  # a GTIN-12; its EAN-13 is 0036000291452


@pytest.fixture(autouse=True)
def _store(store):
    return store


def stored(engine) -> list[Product]:
    with Session(engine) as s:
        return list(s.execute(select(Product)).scalars())


def test_each_form_in_turn_updates_the_one_product(engine, settings) -> None:
    for form, price in ((UPC, "1.00"), ("0" + UPC, "2.00"), ("00" + UPC, "3.00")):
        outcome = run_sync(engine, FakeFeed([product_raw(1, gtin=form, price=price)]), settings)
        assert outcome.status == "succeeded"
    (product,) = stored(engine)
    assert (product.gtin, product.price_minor) == ("0" + UPC, 300)  # printed as EAN-13


def test_a_promotion_finds_its_product_in_another_form(engine, settings) -> None:
    products = [product_raw(1, gtin=UPC)]
    promotion = promotion_raw("PR-1", 1, gtin="00" + UPC)
    outcome = run_sync(engine, FakeFeed(products, [promotion]), settings)
    assert outcome.rejected == 0
    with Session(engine) as s:
        (promo,) = s.execute(select(Promotion)).scalars()
    assert promo.product_id == stored(engine)[0].id


def test_a_row_stored_in_its_short_form_is_still_matched(engine, settings) -> None:
    # An older release kept the ERP's digits as they came.
    with session_scope(engine) as s:
        s.add(Product(store_id=settings.store_id, gtin=UPC, name="Cola", price_minor=100))
    incremental = FakeFeed([product_raw(1, gtin="00" + UPC, price="1.50")])
    run_sync(engine, incremental, settings, full=False)
    full = FakeFeed([product_raw(1, gtin="0" + UPC, price="1.60")], supports_incremental=False)
    outcome = run_sync(engine, full, settings)
    (product,) = stored(engine)
    assert (product.gtin, product.price_minor, product.status) == (UPC, 160, "active")
    assert outcome.delisted == 0  # listed under another spelling is listed
