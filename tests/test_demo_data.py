from __future__ import annotations

import re
from collections import Counter
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from esl_controller.catalogue.gtin import validate_gtin
from esl_controller.catalogue.promotions import active_promotion
from esl_controller.catalogue.units import unit_price
from esl_controller.demo_data import DemoCatalogue, demo_catalogue
from esl_controller.labels.content import build_label_content
from esl_controller.models import PriceHistory, Product, Promotion

NOW = datetime(2025, 3, 14, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalogue() -> DemoCatalogue:
    return demo_catalogue("store-1", now=NOW)


def _fingerprint(cat: DemoCatalogue) -> tuple:
    products = [p.model_dump() for p in cat.products]
    history = {i: [astuple(p) for p in points] for i, points in cat.history.items()}
    promos = [(i, p.model_dump()) for i, p in cat.promotions]
    return products, history, promos


def test_romanian_store(catalogue: DemoCatalogue) -> None:
    store = catalogue.store
    assert (store.id, store.locale, store.currency) == ("store-1", "ro_RO", "RON")
    assert len(catalogue.products) == 300
    assert {p.currency for p in catalogue.products} == {"RON"}
    assert {p.store_id for p in catalogue.products} == {"store-1"}
    assert all(p.id is None for p in catalogue.products)


def test_deterministic_for_a_seed() -> None:
    first = demo_catalogue("s", n_products=120, seed=3, now=NOW)
    again = demo_catalogue("s", n_products=120, seed=3, now=NOW)
    other = demo_catalogue("s", n_products=120, seed=4, now=NOW)
    assert _fingerprint(first) == _fingerprint(again)
    assert _fingerprint(first) != _fingerprint(other)


def test_every_gtin_is_a_valid_unique_gtin13(catalogue: DemoCatalogue) -> None:
    gtins = [p.gtin for p in catalogue.products]
    assert len(set(gtins)) == len(gtins)
    for gtin in gtins:
        assert validate_gtin(gtin) == gtin
        assert len(gtin) == 13
    prefixes = Counter(gtin[:3] for gtin in gtins)
    assert prefixes.most_common(1)[0][0] == "594"  # mostly Romanian goods
    assert {"400", "590", "599", "460", "520"} <= set(prefixes)


def test_names_cover_the_scripts_labels_must_draw(catalogue: DemoCatalogue) -> None:
    text = " ".join(p.name + " " + p.brand for p in catalogue.products)
    for letter in "șțăîâßüłżő":
        assert letter in text, letter
    assert re.search("[а-яё]", text), "no Cyrillic"
    assert re.search("[α-ω]", text), "no Greek"
    assert max(len(p.name) for p in catalogue.products) > 100


def test_sizes_cover_every_unit_price_base(catalogue: DemoCatalogue) -> None:
    units = {p.unit for p in catalogue.products}
    assert {"g", "kg", "ml", "l", "m", "piece"} <= units
    pers = {
        unit_price(p.price_minor, p.currency, p.net_quantity, p.unit).per
        for p in catalogue.products
        if unit_price(p.price_minor, p.currency, p.net_quantity, p.unit) is not None
    }
    assert pers == {"kg", "l", "m", "piece"}


def test_products_are_distinct_offers() -> None:
    big = demo_catalogue("s", n_products=1500, now=NOW)
    offers = [(p.name, p.net_quantity, p.unit) for p in big.products]
    assert len(set(offers)) == len(offers)
    assert len({p.gtin for p in big.products}) == 1500


def test_stock_levels(catalogue: DemoCatalogue) -> None:
    products = catalogue.products
    out = [p for p in products if p.stock == 0]
    low = [p for p in products if p.stock is not None and 0 < p.stock <= p.low_stock_threshold]
    assert len(out) >= 5 and len(low) >= 5
    assert any(p.stock is None for p in products)
    restocks = [p.restock_date for p in out if p.restock_date is not None]
    assert restocks and all(day > NOW.date() for day in restocks)
    assert all(p.restock_date is None for p in products if p.stock != 0)


def test_price_history(catalogue: DemoCatalogue) -> None:
    reaches_60_days = 0
    under_30_days = 0
    for index, product in enumerate(catalogue.products):
        points = catalogue.history[index]
        moments = [p.effective_at for p in points]
        assert moments == sorted(moments) and len(set(moments)) == len(moments)
        assert moments[-1] < NOW
        assert points[-1].price_minor == product.price_minor  # history ends at today's price
        age = NOW - moments[0]
        reaches_60_days += age >= timedelta(days=60)
        under_30_days += age < timedelta(days=30)
    assert reaches_60_days >= 0.9 * len(catalogue.products)
    assert under_30_days >= 3


def test_about_ten_percent_on_active_promotion(catalogue: DemoCatalogue) -> None:
    promoted = {index for index, _ in catalogue.promotions}
    active = {i: active_promotion(catalogue.promotions_of(i), NOW) for i in promoted}
    # Every promoted product has one running now (demo labels use the promo template for them).
    assert None not in active.values()
    assert 0.06 * 300 <= len(active) <= 0.15 * 300
    for index, promo in active.items():
        assert promo.price_minor < catalogue.products[index].price_minor
    assert all(promo.product_id is None for _, promo in catalogue.promotions)
    ended = [p for _, p in catalogue.promotions if p.ends_at <= NOW]
    assert ended, "some products had an earlier promotion inside the 30-day window"


def test_every_product_builds_label_content_with_both_prior_price_paths(
    catalogue: DemoCatalogue,
) -> None:
    with_prior, without_prior = 0, 0
    for index, product in enumerate(catalogue.products):
        content = build_label_content(
            product,
            catalogue.store,
            catalogue.history[index],
            catalogue.promotions_of(index),
            NOW,
        )
        if content.promo is not None:
            with_prior += content.promo.prior_lowest is not None
            without_prior += content.promo.prior_note is not None
    assert with_prior >= 10
    assert without_prior >= 2  # the "not enough history" label shows in the demo


def test_rows_reference_inserted_ids(session: Session) -> None:
    cat = demo_catalogue("demo", n_products=40, seed=11, now=NOW)
    session.add(cat.store)
    session.flush()  # no ORM relationships, so the store must exist before its products
    session.add_all(cat.products)
    session.flush()
    ids = [p.id for p in cat.products]
    session.add_all(cat.history_rows(ids))
    session.add_all(cat.promotion_rows(ids))
    session.commit()
    stored = session.exec(select(PriceHistory)).all()
    assert len(stored) == sum(len(points) for points in cat.history.values())
    by_id = {p.id: p for p in session.exec(select(Product)).all()}
    for index, points in cat.history.items():
        product_history = [h for h in stored if h.product_id == ids[index]]
        assert [h.price_minor for h in product_history] == [p.price_minor for p in points]
        assert by_id[ids[index]].gtin == cat.products[index].gtin
    promotions = session.exec(select(Promotion)).all()
    assert len(promotions) == len(cat.promotions)
    # Rows read back (aware UTC from the database) give the same labels as the plain data.
    for index, product_id in enumerate(ids):
        from_rows = build_label_content(
            by_id[product_id],
            cat.store,
            [h for h in stored if h.product_id == product_id],
            [p for p in promotions if p.product_id == product_id],
            NOW,
        )
        from_data = build_label_content(
            cat.products[index], cat.store, cat.history[index], cat.promotions_of(index), NOW
        )
        assert from_rows == from_data


def test_rows_need_one_id_per_product() -> None:
    cat = demo_catalogue("demo", n_products=5, now=NOW)
    with pytest.raises(ValueError, match="expected 5 product ids"):
        cat.history_rows([1, 2, 3])


def test_sizes_edge_cases() -> None:
    assert demo_catalogue("s", n_products=0, now=NOW).products == []
    with pytest.raises(ValueError, match="must not be negative"):
        demo_catalogue("s", n_products=-1, now=NOW)


def test_now_must_be_aware_utc() -> None:
    with pytest.raises(ValueError, match="now must be an aware UTC datetime"):
        demo_catalogue("s", n_products=3, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="now must be an aware UTC datetime"):
        demo_catalogue("s", n_products=3, now=NOW.astimezone(ZoneInfo("Europe/Bucharest")))


def test_catalogue_times_are_aware(catalogue: DemoCatalogue) -> None:
    moments = [p.effective_at for points in catalogue.history.values() for p in points]
    moments += [p.starts_at for _, p in catalogue.promotions]
    assert all(moment.utcoffset() == timedelta(0) for moment in moments)
