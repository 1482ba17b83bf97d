"""The catalogue pages: products, one product, manual prices and promotions, the calendar."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from esl_controller import audit
from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import Label, OutboxMessage, PriceHistory, Product, Promotion, Store
from esl_controller.web.catalogue_queries import Month, promotions_in_month, search_products
from tests.web.conftest import csrf_token_from

DALIA = "5901234123457"  # seeded at 24.99 RON, labels L-ACKED and L-FAILED


def _product(engine, gtin: str = DALIA) -> Product:
    with Session(engine) as s:
        return s.scalars(select(Product).where(Product.gtin == gtin)).one()


def _add_promotion(engine, gtin: str, price_minor: int, days_ago: int, days_left: int) -> None:
    now = utcnow()
    with session_scope(engine) as s:
        product = s.scalars(select(Product).where(Product.gtin == gtin)).one()
        s.add(
            Promotion(
                product_id=product.id,
                price_minor=price_minor,
                starts_at=now - timedelta(days=days_ago),
                ends_at=now + timedelta(days=days_left),
                external_id=f"P-{gtin}-{price_minor}",
            )
        )


def test_search_finds_products_by_name_brand_and_gtin_digits(engine, settings, seed):
    with Session(engine) as s:
        by_name = search_products(s, settings.store_id, "dalia", 50, 0, utcnow())
        by_brand = search_products(s, settings.store_id, "TEEKANNE", 50, 0, utcnow())
        by_gtin = search_products(s, settings.store_id, "978020", 50, 0, utcnow())
        everything = search_products(s, settings.store_id, None, 2, 0, utcnow())
    assert [row["gtin"] for row in by_name.items] == [DALIA]
    assert [row["name"] for row in by_brand.items] == ["Grüner Tee"]
    assert [row["gtin"] for row in by_gtin.items] == ["9780201379624"]
    assert everything.total == 3 and len(everything.items) == 2 and everything.has_next
    dalia = by_name.items[0]
    assert (dalia["labels"], dalia["price_minor"], dalia["manual_price"]) == (2, 2499, False)


def test_a_percent_sign_is_searched_as_text_not_as_a_wildcard(engine, settings, seed):
    with Session(engine) as s:
        assert [
            r["name"] for r in search_products(s, settings.store_id, "3,2%", 50, 0, utcnow()).items
        ] == ["Молоко 3,2%"]
        assert search_products(s, settings.store_id, "%", 50, 0, utcnow()).total == 1


def test_products_page_lists_price_stock_promotion_and_labels(manager_client, engine):
    _add_promotion(engine, DALIA, 1999, days_ago=1, days_left=5)
    html = manager_client.get("/products?q=Dalia").get_data(as_text=True)
    assert "Cașcaval Dalia" in html and "19.99 RON" in html and "24.99 RON" in html
    assert (
        manager_client.get("/products?q=nothing-like-this")
        .get_data(as_text=True)
        .count("No products match")
        == 1
    )


def test_product_page_explains_the_prior_price_on_the_label(manager_client, engine):
    _add_promotion(engine, DALIA, 1999, days_ago=1, days_left=5)
    html = manager_client.get(f"/products/{DALIA}").get_data(as_text=True)
    assert 'id="prior-lowest">24.99 RON' in html
    assert "lowest price in the 30 days before" in html
    assert "the regular price in force when the window opened" in html
    assert (
        'id="price-chart"' in html
        and "L-ACKED" in html
        and "/api/v1/labels/L-ACKED/preview.png" in html
    )
    assert 'id="prior-flag"' not in html


def test_a_promotion_not_below_the_30_day_low_is_flagged(manager_client, engine):
    # An earlier promotion at 18.99 inside the window: 19.99 now is no reduction on the low.
    _add_promotion(engine, DALIA, 1899, days_ago=20, days_left=-15)
    _add_promotion(engine, DALIA, 1999, days_ago=1, days_left=5)
    html = manager_client.get(f"/products/{DALIA}").get_data(as_text=True)
    assert 'id="prior-flag"' in html and "an earlier promotion" in html
    calendar = manager_client.get("/promotions").get_data(as_text=True)
    assert "not below the 30-day low" in calendar


def test_an_unknown_product_is_a_404(manager_client):
    assert manager_client.get("/products/4006381333932").status_code == 404
    assert manager_client.get("/products/not-a-gtin").status_code == 404


def test_manual_price_is_audited_recorded_in_history_shown_and_re_renders_labels(
    manager_client, engine
):
    token = csrf_token_from(manager_client, f"/products/{DALIA}")
    answer = manager_client.post(
        f"/products/{DALIA}/manual-price",
        data={"csrf_token": token, "price": "21,49", "reason": "ERP down"},
    )
    assert answer.status_code == 302
    product = _product(engine)
    assert product.price_minor == 2149
    with Session(engine) as s:
        newest = s.scalars(
            select(PriceHistory)
            .where(PriceHistory.product_id == product.id)
            .order_by(PriceHistory.effective_at.desc())
        ).first()
        entries = audit.recent(s, action_prefix="price.")
        labels = {
            label.id for label in s.scalars(select(Label).where(Label.product_id == product.id))
        }
        queued = {
            row.label_id
            for row in s.scalars(select(OutboxMessage).where(OutboxMessage.priority == 100))
        }
    assert (newest.price_minor, newest.source) == (2149, "manual")
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("bob", "price.manual", f"product:{DALIA}")
    ]
    assert audit.detail_of(entries[0]) == {
        "before": 2499,
        "after": 2149,
        "currency": "RON",
        "reason": "ERP down",
    }
    assert labels and labels <= queued
    page = manager_client.get(f"/products/{DALIA}").get_data(as_text=True)
    assert 'id="manual-badge"' in page and "labels queued for an update" in page


def test_bad_manual_prices_say_why_keep_what_was_typed_and_change_nothing(manager_client, engine):
    token = csrf_token_from(manager_client, f"/products/{DALIA}")
    for typed, says in [
        ("0", "more than zero"),
        ("-5", "cannot be negative"),
        ("123456789012", "too many digits"),
        ("abc", "as a number"),
    ]:
        answer = manager_client.post(
            f"/products/{DALIA}/manual-price",
            data={"csrf_token": token, "price": typed, "reason": "ERP down"},
        )
        html = answer.get_data(as_text=True)
        assert answer.status_code == 400 and says in html, typed
        assert f'value="{typed}"' in html and 'value="ERP down"' in html
    assert _product(engine).price_minor == 2499
    with Session(engine) as s:
        assert audit.recent(s, action_prefix="price.") == []


def test_manual_promotion_runs_on_the_label_and_refuses_bad_terms(manager_client, engine):
    token = csrf_token_from(manager_client, f"/products/{DALIA}")
    today = utcnow().date()
    bad = manager_client.post(
        f"/products/{DALIA}/manual-promotion",
        data={
            "csrf_token": token,
            "price": "30.00",
            "starts": (today + timedelta(days=5)).isoformat(),
            "ends": today.isoformat(),
            "reason": "weekend",
        },
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "below the regular price" in html and "before the first day" in html
    assert 'value="30.00"' in html
    good = manager_client.post(
        f"/products/{DALIA}/manual-promotion",
        data={
            "csrf_token": token,
            "price": "19.99",
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=6)).isoformat(),
            "reason": "ERP down, head office offer",
        },
    )
    assert good.status_code == 302
    with Session(engine) as s:
        promos = list(s.scalars(select(Promotion)))
        entry = audit.recent(s, action_prefix="promotion.")[0]
    assert [(p.price_minor, p.source, p.external_id) for p in promos] == [(1999, "manual", None)]
    detail = audit.detail_of(entry)
    assert detail["before"] is None and detail["after"]["price_minor"] == 1999
    calendar = manager_client.get("/promotions").get_data(as_text=True)
    assert "Cașcaval Dalia" in calendar and "L-ACKED" in calendar and "L-FAILED" in calendar


def test_the_calendar_moves_by_month_and_ignores_a_bad_month(manager_client):
    html = manager_client.get("/promotions?month=2026-13").get_data(as_text=True)
    assert "Ignored the month" in html
    assert "Promotions, 2027-02" in manager_client.get("/promotions?month=2027-02").get_data(
        as_text=True
    )


def test_months_shift_across_years():
    assert str(Month(2026, 12).shifted(1)) == "2027-01"
    assert str(Month(2027, 1).shifted(-1)) == "2026-12"


def test_the_erp_wins_on_its_next_record_and_the_manual_price_stays_in_history(
    manager_client, engine, settings
):
    from esl_controller.erp import apply
    from esl_controller.erp.records import parse_product
    from esl_controller.web.catalogue_actions import set_manual_price
    from tests.support.erp import product_raw

    with Session(engine) as s:
        set_manual_price(s, engine, settings, DALIA, 2149, "ERP down", "bob")
    record = product_raw(
        1, gtin=DALIA, name="Cașcaval Dalia", net_quantity="400", price="24.99", stock=40
    )
    with session_scope(engine) as s:
        apply.apply_products(
            s,
            apply.Catalogue(settings.store_id),
            [parse_product(record)],
            now=utcnow() + timedelta(seconds=1),
            source="erp:json",
        )
    product = _product(engine)
    with Session(engine) as s:
        sources = [
            (p.price_minor, p.source)
            for p in s.scalars(
                select(PriceHistory)
                .where(PriceHistory.product_id == product.id)
                .order_by(PriceHistory.effective_at)
            )
        ]
    assert product.price_minor == 2499
    assert sources == [(2499, "erp"), (2149, "manual"), (2499, "erp:json")]
    page = manager_client.get(f"/products/{DALIA}").get_data(as_text=True)
    assert 'id="manual-badge"' not in page and "from the ERP" in page


def test_the_catalogue_queries_give_the_same_answers_on_postgresql(pg_engine):
    now = utcnow()
    with session_scope(pg_engine) as s:
        s.add(Store(id="pg-store", name="PG", timezone="Europe/Bucharest", currency="RON"))
        s.flush()
        product = Product(
            store_id="pg-store", gtin=DALIA, name="Cașcaval 100%", price_minor=2499, currency="RON"
        )
        s.add(product)
        s.flush()
        for days_ago, price, source in ((90, 2599, "erp"), (60, 2499, "erp"), (10, 2299, "manual")):
            moment = now - timedelta(days=days_ago)
            s.add(
                PriceHistory(
                    product_id=product.id, price_minor=price, effective_at=moment, source=source
                )
            )
        s.add(
            Promotion(
                product_id=product.id,
                price_minor=2399,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=3),
            )
        )
    with Session(pg_engine) as s:
        page = search_products(s, "pg-store", "100%", 50, 0, now)
        month = promotions_in_month(s, "pg-store", Month(now.year, now.month))
    assert [(r["manual_price"], r["promotion_price_minor"]) for r in page.items] == [(True, 2399)]
    (promo,) = month["promotions"]
    # 22.99 (manual, 10 days ago) is the 30-day low: 23.99 is not below it.
    assert (promo["prior_lowest_minor"], promo["not_below_low"]) == (2299, True)


def test_a_price_stays_set_when_its_labels_cannot_be_queued_and_the_page_says_so(
    manager_client, engine, monkeypatch
):
    from esl_controller.web import catalogue_actions

    def broken(*_args, **_kwargs):
        raise OSError("templates directory unreadable")

    monkeypatch.setattr(catalogue_actions.ShelfRefresher, "refresh", broken)
    token = csrf_token_from(manager_client, f"/products/{DALIA}")
    answer = manager_client.post(
        f"/products/{DALIA}/manual-price",
        data={"csrf_token": token, "price": "20", "reason": "ERP down"},
        follow_redirects=True,
    )
    assert "could not be queued now" in answer.get_data(as_text=True)
    assert _product(engine).price_minor == 2000


def test_times_on_the_product_page_are_the_stores_clock():
    from datetime import UTC, datetime

    from esl_controller.web.catalogue_views import store_time

    moment = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert store_time(moment, "Europe/Bucharest") == "2026-12-02 08:00"
    assert store_time(moment.replace(tzinfo=None), "Europe/Bucharest") == "2026-12-02 08:00"
    assert store_time(moment, "Not/A_Zone") == "2026-12-02 06:00"
