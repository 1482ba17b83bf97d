from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller.catalogue.gtin import gtin_key
from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.erp import apply
from esl_controller.erp.records import parse_product
from esl_controller.models import PriceHistory, Product
from tests.support.erp import product_raw
from tests.support.gtins import make_gtin


def apply_raw(engine, store_id, raws, now):
    with session_scope(engine) as s:
        catalogue = apply.Catalogue(store_id)
        records = [parse_product(raw) for raw in raws]
        return apply.apply_products(s, catalogue, records, now=now, source="erp:test")


def stored(engine, n: int) -> Product:
    with Session(engine) as s:
        return s.execute(select(Product).where(Product.gtin == make_gtin(n))).scalar_one()


def test_an_unknown_delisted_product_is_not_created(engine, store):
    changes = apply_raw(engine, store, [product_raw(1, status="delisted")], utcnow())
    assert (changes.changed, changes.unchanged, changes.changed_ids) == (0, 1, set())
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Product)).scalar_one() == 0


def test_a_delisted_product_keeps_its_first_delisting_time(engine, store):
    start = utcnow()
    apply_raw(engine, store, [product_raw(1)], start)
    apply_raw(engine, store, [product_raw(1, status="delisted")], start + timedelta(hours=1))
    later = start + timedelta(hours=2)
    changes = apply_raw(engine, store, [product_raw(1, status="delisted", stock=0)], later)

    product = stored(engine, 1)
    assert changes.changed == 1
    assert product.delisted_at == start + timedelta(hours=1)
    assert product.updated_at == later and product.stock == 0


def test_only_the_ensured_gtins_are_loaded_for_an_incremental_page(engine, store):
    apply_raw(engine, store, [product_raw(n) for n in range(5)], utcnow())
    with Session(engine) as s:
        catalogue = apply.Catalogue(store)
        catalogue.ensure(s, [gtin_key(make_gtin(2)), gtin_key(make_gtin(99))])
    assert set(catalogue.by_gtin) == {gtin_key(make_gtin(2))}


def test_a_currency_change_is_a_price_change(engine, store):
    now = utcnow()
    apply_raw(engine, store, [product_raw(1)], now)
    changes = apply_raw(engine, store, [product_raw(1, currency="EUR")], now)
    with Session(engine) as s:
        history = s.execute(select(func.count()).select_from(PriceHistory)).scalar_one()
    assert changes.changed == 1 and history == 2
