"""One odd record among good ones: the good ones all apply, the odd one is dead-lettered with
its reason (or applied in part, where the docs say so), and the run and every re-run succeed.
Each kind below used to fail the whole run on the SQLite file, on PostgreSQL, or both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.db import session_scope
from esl_controller.erp.sync import run_sync
from esl_controller.models import DeadLetter, Product, Promotion, Store, SyncRun
from tests.support.erp import FakeFeed, product_raw, promotion_raw
from tests.support.gtins import make_gtin

GOOD = range(1, 7)  # products 1..6; the odd record sits among them


@dataclass(frozen=True)
class Odd:
    """An odd record: replaces product 4 (or is added as a promotion), and what must follow."""

    product: dict[str, Any] | None = None
    extra_product: dict[str, Any] | None = None  # added to the page instead of replacing 4
    promotions: list[dict[str, Any]] = field(default_factory=list)
    dead_field: str = ""  # the field its dead letter names
    applied: dict[str, Any] | None = None  # product 4's stored values when it applies in part


KINDS = {
    "price minor units past 2^63": Odd(
        product_raw(4, price="92233720368547758.08"), dead_field="price"
    ),
    "stock past 2^63 (the price still applies)": Odd(
        product_raw(4, stock=2**63, price="4.44"),
        dead_field="stock",
        applied={"price_minor": 444, "stock": None},
    ),
    "negative stock (the price still applies)": Odd(
        product_raw(4, stock=-7, price="4.45"), applied={"price_minor": 445, "stock": 0}
    ),
    "modified_at in year 1 with an offset": Odd(
        product_raw(4, modified_at="0001-01-01T00:30:00+01:00"), dead_field="modified_at"
    ),
    "modified_at in year 9999 with an offset": Odd(
        product_raw(4, modified_at="9999-12-31T23:30:00-01:00"), dead_field="modified_at"
    ),
    "a lone surrogate in the name": Odd(product_raw(4, name="Lapte \ud800"), dead_field="name"),
    "a NUL in the brand": Odd(product_raw(4, brand="Lid\x00l"), dead_field="brand"),
    "net_quantity 1e-400": Odd(product_raw(4, net_quantity="1e-400"), dead_field="net_quantity"),
    "net_quantity 1e400": Odd(product_raw(4, net_quantity=1e400), dead_field="net_quantity"),
    "a price integer too long to print": Odd(product_raw(4, price=10**5000), dead_field="price"),
    "the GTIN-14 form of a GTIN-13 on the same page": Odd(
        extra_product=product_raw(2, gtin="0" + make_gtin(2), price="9.99"), dead_field="gtin"
    ),
    "two promotions with the same id on one page": Odd(
        promotions=[promotion_raw("PR-1", 1), promotion_raw("PR-1", 2, price="8.88")],
        dead_field="id",
    ),
    "a promotion starting in year 1 with an offset": Odd(
        promotions=[promotion_raw("PR-9", 3, starts_at="0001-01-01T00:00:00+02:00")],
        dead_field="starts_at",
    ),
    "a lone surrogate in a promotion id": Odd(
        promotions=[promotion_raw("PR-\udfff", 3)], dead_field="id"
    ),
}


def price_minor(n: int) -> int:
    return (12 + n % 50) * 100 + 99  # as product_raw writes it


def feed_with(odd: Odd) -> FakeFeed:
    products = [product_raw(n) for n in GOOD]
    if odd.product is not None:
        products[3] = odd.product
    if odd.extra_product is not None:
        products.insert(2, odd.extra_product)
    promotions = [promotion_raw("PR-GOOD", 5), *odd.promotions]
    return FakeFeed(products, promotions, page_size=3)


def sync_twice(engine, settings, odd: Odd) -> list[SyncRun]:
    runs = []
    for _ in range(2):
        outcome = run_sync(engine, feed_with(odd), settings, full=True)
        with Session(engine) as s:
            runs.append(s.get(SyncRun, outcome.run_id))
    return runs


def check(engine, odd: Odd, runs: list[SyncRun]) -> None:
    assert [run.status for run in runs] == ["succeeded", "succeeded"], [r.error for r in runs]
    with Session(engine) as s:
        products = {p.gtin: p for p in s.execute(select(Product)).scalars()}
        promotions = {p.external_id for p in s.execute(select(Promotion)).scalars()}
        dead = list(s.execute(select(DeadLetter).where(DeadLetter.run_id == runs[0].id)).scalars())
    untouched = [n for n in GOOD if odd.product is None or n != 4]
    expected = {make_gtin(n) for n in untouched}
    if odd.applied is not None:
        expected.add(make_gtin(4))
    assert set(products) == expected
    assert {products[make_gtin(n)].price_minor for n in untouched} == {
        price_minor(n) for n in untouched
    }
    assert "PR-GOOD" in promotions
    if odd.applied is not None:
        stored = products[make_gtin(4)]
        assert {key: getattr(stored, key) for key in odd.applied} == odd.applied
    if odd.dead_field:
        assert [d.field for d in dead] == [odd.dead_field]
        assert dead[0].reason
    else:
        assert dead == []


@pytest.mark.parametrize("kind", KINDS)
def test_one_odd_record_costs_only_itself(engine, settings, store, kind: str) -> None:
    odd = KINDS[kind]
    check(engine, odd, sync_twice(engine, settings, odd))


def test_every_odd_kind_at_once_on_postgresql(pg_engine, settings) -> None:
    # PostgreSQL refuses NUL and lone surrogates in text outright, so it proves the escaping.
    with session_scope(pg_engine) as s:
        s.add(Store(id=settings.store_id, name="Test store", locale="ro_RO", currency="RON"))
    products = [product_raw(n) for n in range(1, 40)]
    promotions = [promotion_raw("PR-GOOD", 5)]
    for n, odd in enumerate(KINDS.values()):
        if odd.product is not None and odd.dead_field not in ("", "gtin"):
            products.append({**odd.product, "gtin": make_gtin(100 + n)})
        promotions.extend(odd.promotions)
    outcome = run_sync(pg_engine, FakeFeed(products, promotions, page_size=7), settings)
    assert outcome.status == "succeeded", outcome.error
    with Session(pg_engine) as s:
        gtins = set(s.execute(select(Product.gtin)).scalars())
        fields = sorted(s.execute(select(DeadLetter.field)).scalars())
    assert {make_gtin(n) for n in range(1, 40)} <= gtins
    assert "name" in fields and "brand" in fields and "id" in fields
