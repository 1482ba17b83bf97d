from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller import lease
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.erp.feeds.json_feed import JsonFeed
from esl_controller.erp.sync import feed_state_key, resume_interrupted, run_sync
from esl_controller.erp.sync_lock import sync_lock_key
from esl_controller.models import (
    DeadLetter,
    FeedState,
    Incident,
    PriceHistory,
    Product,
    Promotion,
    Store,
    SyncRun,
)
from tests.support.erp import SERVER_TIME, FakeFeed, product_raw, promotion_raw
from tests.support.gtins import make_gtin

STORE = Settings().store_id  # the store of the `settings` fixture
SYNC_LOCK_KEY = sync_lock_key(STORE)


@pytest.fixture(autouse=True)
def _store(request):
    if "engine" in request.fixturenames:
        request.getfixturevalue("store")


class WorkerKilled(BaseException):
    """Stands in for the process dying mid-run: not an Exception, so nothing records it."""


def products_by_gtin(engine) -> dict[str, Product]:
    with Session(engine) as s:
        return {p.gtin: p for p in s.execute(select(Product)).scalars()}


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def dead_letters(engine) -> list[DeadLetter]:
    with Session(engine) as s:
        return list(s.execute(select(DeadLetter).order_by(DeadLetter.id)).scalars())


def get_run(engine, run_id: int) -> SyncRun:
    with Session(engine) as s:
        return s.get(SyncRun, run_id)


def test_a_full_sync_reads_every_page_and_creates_products_with_history(engine, settings):
    feed = FakeFeed([product_raw(n) for n in range(25)], page_size=3)
    seen_pages: list[tuple[str, int]] = []

    outcome = run_sync(
        engine, feed, settings, progress=lambda r: seen_pages.append((r.phase, r.pages_done))
    )

    assert outcome.status == "succeeded"
    assert (outcome.fetched, outcome.changed, outcome.rejected) == (25, 25, 0)
    products = products_by_gtin(engine)
    assert set(products) == {make_gtin(n) for n in range(25)}
    assert outcome.changed_product_ids == {p.id for p in products.values()}
    first = products[make_gtin(1)]
    assert (first.price_minor, first.currency, first.unit, first.net_quantity) == (
        1399,
        "RON",
        "g",
        400.0,
    )
    assert first.listed_at is not None and first.status == "active"
    assert count(engine, PriceHistory) == 25
    # 9 product pages, then the (empty) promotion page; progress after each
    assert [n for _, n in seen_pages] == list(range(1, 11))
    run = get_run(engine, outcome.run_id)
    assert (run.status, run.full, run.pages_done, run.phase) == ("succeeded", True, 10, None)
    assert run.finished_at >= run.started_at


def test_price_history_source_names_the_feed(engine, settings):
    run_sync(engine, FakeFeed([product_raw(1)]), settings)
    with Session(engine) as s:
        history = s.execute(select(PriceHistory)).scalars().one()
    assert (history.price_minor, history.source) == (1399, "erp:fake")


def test_a_second_identical_sync_changes_nothing(engine, settings):
    records = [product_raw(n) for n in range(10)] + [product_raw(20, status="delisted")]
    promotions = [promotion_raw("PR-1", 1)]
    run_sync(engine, FakeFeed(records, promotions), settings)
    before = {g: p.updated_at for g, p in products_by_gtin(engine).items()}
    history_before = count(engine, PriceHistory)

    again = run_sync(engine, FakeFeed(records, promotions), settings, full=True)

    assert again.status == "succeeded"
    assert (again.changed, again.unchanged, again.delisted) == (0, 12, 0)
    assert again.changed_product_ids == set()
    assert count(engine, PriceHistory) == history_before
    assert {g: p.updated_at for g, p in products_by_gtin(engine).items()} == before


def test_a_price_change_writes_history_and_bumps_only_that_product(engine, settings):
    records = [product_raw(n) for n in range(6)]
    run_sync(engine, FakeFeed(records), settings)
    before = products_by_gtin(engine)
    records[2] = product_raw(2, price="1.50")
    records[4] = product_raw(4, stock=0)  # label-visible, but not a price

    outcome = run_sync(engine, FakeFeed(records), settings, full=True)

    after = products_by_gtin(engine)
    changed = {make_gtin(2), make_gtin(4)}
    assert outcome.changed == 2
    assert outcome.changed_product_ids == {after[g].id for g in changed}
    assert after[make_gtin(2)].price_minor == 150 and after[make_gtin(4)].stock == 0
    for gtin, product in after.items():
        assert (product.updated_at > before[gtin].updated_at) == (gtin in changed)
    with Session(engine) as s:
        prices = (
            s.execute(
                select(PriceHistory.price_minor)
                .where(PriceHistory.product_id == after[make_gtin(2)].id)
                .order_by(PriceHistory.id)
            )
            .scalars()
            .all()
        )
    assert prices == [1499, 150]
    assert count(engine, PriceHistory) == 7  # 6 first prices + 1 change; the stock is no price


def test_bad_rows_are_dead_lettered_and_the_good_ones_applied(engine, settings):
    bad_check_digit = make_gtin(7)[:-1] + str((int(make_gtin(7)[-1]) + 1) % 10)
    records = [
        product_raw(1),
        product_raw(2, price="12.999"),
        product_raw(3, gtin=bad_check_digit),
        product_raw(4, name="  "),
        product_raw(5),
    ]

    outcome = run_sync(engine, FakeFeed(records, page_size=5), settings)

    assert (outcome.fetched, outcome.changed, outcome.rejected) == (5, 2, 3)
    assert set(products_by_gtin(engine)) == {make_gtin(1), make_gtin(5)}
    letters = {d.record_key: d for d in dead_letters(engine)}
    assert set(letters) == {make_gtin(2), bad_check_digit, make_gtin(4)}
    too_many = letters[make_gtin(2)]
    assert (too_many.kind, too_many.field) == ("product", "price")
    assert "3 decimals" in too_many.reason and "RON allows 2" in too_many.reason
    assert '"price": "12.999"' in too_many.raw
    assert letters[bad_check_digit].field == "gtin"
    assert "check digit" in letters[bad_check_digit].reason
    assert letters[make_gtin(4)].field == "name"
    assert all(d.run_id == outcome.run_id for d in letters.values())


def test_a_record_without_a_key_is_dead_lettered_by_row_number(engine, settings):
    records = [product_raw(1), product_raw(2), {"name": "no gtin", "price": "1.00"}]
    run_sync(engine, FakeFeed(records, page_size=2), settings)
    (letter,) = dead_letters(engine)
    assert letter.record_key == "row 3"
    assert len(letter.raw) <= 2048


def test_a_huge_raw_record_is_truncated_in_its_dead_letter(engine, settings):
    run_sync(engine, FakeFeed([product_raw(1, name="x" * 5000)]), settings)
    (letter,) = dead_letters(engine)
    assert letter.field == "name" and len(letter.raw) == 2048


def test_a_duplicate_gtin_applies_the_first_and_dead_letters_the_later(engine, settings):
    records = [
        product_raw(1, price="5.00"),
        product_raw(2),
        product_raw(3),
        product_raw(1, price="6.00"),  # page 2
        product_raw(4),
        product_raw(4, price="7.00"),  # same page as its first
    ]

    outcome = run_sync(engine, FakeFeed(records, page_size=3), settings)

    assert (outcome.changed, outcome.rejected) == (4, 2)
    products = products_by_gtin(engine)
    assert products[make_gtin(1)].price_minor == 500
    assert products[make_gtin(4)].price_minor == 1699
    reasons = {(d.record_key, d.reason) for d in dead_letters(engine)}
    assert reasons == {
        (make_gtin(1), "duplicate gtin in this feed (first seen on page 1)"),
        (make_gtin(4), "duplicate gtin in this feed (first seen on page 2)"),
    }


def test_promotions_upsert_by_external_id(engine, settings):
    products = [product_raw(n) for n in range(3)]
    run_sync(engine, FakeFeed(products, [promotion_raw("PR-1", 1)]), settings)
    product_id = products_by_gtin(engine)[make_gtin(1)].id

    same = run_sync(engine, FakeFeed(products, [promotion_raw("PR-1", 1)]), settings, full=True)
    cheaper = run_sync(
        engine, FakeFeed(products, [promotion_raw("PR-1", 1, price="8.49")]), settings, full=True
    )

    assert same.changed == 0
    assert cheaper.changed == 1 and cheaper.changed_product_ids == {product_id}
    with Session(engine) as s:
        (promotion,) = s.execute(select(Promotion)).scalars().all()
    assert (promotion.external_id, promotion.source) == ("PR-1", "erp:fake")
    assert (promotion.product_id, promotion.price_minor) == (product_id, 849)


def test_bad_promotions_are_dead_lettered(engine, settings):
    promotions = [
        promotion_raw("PR-1", 1, ends_at="2026-11-20T00:00:00Z"),
        promotion_raw("PR-2", 99),  # no such product
        promotion_raw("PR-3", 1, currency="EUR"),
        promotion_raw("PR-4", 2),
    ]

    outcome = run_sync(engine, FakeFeed([product_raw(1), product_raw(2)], promotions), settings)

    assert (outcome.rejected, outcome.changed) == (3, 3)
    letters = {d.record_key: d for d in dead_letters(engine)}
    assert {k: (d.kind, d.field) for k, d in letters.items()} == {
        "PR-1": ("promotion", "ends_at"),
        "PR-2": ("promotion", "gtin"),
        "PR-3": ("promotion", "currency"),
    }
    assert "must be after starts_at" in letters["PR-1"].reason
    assert "unknown product" in letters["PR-2"].reason
    assert count(engine, Promotion) == 1


def test_a_feed_with_zero_products_is_refused_with_an_alert_and_incident(engine, settings):
    run_sync(engine, FakeFeed([product_raw(n) for n in range(10)]), settings)

    outcome = run_sync(engine, FakeFeed([]), settings, full=True)

    assert outcome.status == "succeeded" and outcome.delisted == 0
    assert outcome.alert == (
        "refused to delist 10 of 10 products (100 %): the feed returned no products; "
        "safety ratio 20 %"
    )
    assert {p.status for p in products_by_gtin(engine).values()} == {"active"}
    assert get_run(engine, outcome.run_id).alert == outcome.alert
    with Session(engine) as s:
        incident = s.execute(select(Incident)).scalars().one()
    assert incident.kind == "delist_refused" and "10 of 10" in incident.message


def test_a_30_percent_delisting_is_refused_but_price_changes_still_apply(engine, settings):
    records = [product_raw(n) for n in range(10)]
    run_sync(engine, FakeFeed(records), settings)
    truncated = [product_raw(0, price="1.00"), *records[1:7]]

    outcome = run_sync(engine, FakeFeed(truncated), settings, full=True)

    assert outcome.delisted == 0 and outcome.changed == 1
    assert "refused to delist 3 of 10 products (30 %): the feed looks truncated" in outcome.alert
    products = products_by_gtin(engine)
    assert products[make_gtin(0)].price_minor == 100
    assert all(p.status == "active" for p in products.values())


def test_a_5_percent_delisting_is_applied(engine, settings):
    records = [product_raw(n) for n in range(20)]
    run_sync(engine, FakeFeed(records), settings)

    outcome = run_sync(engine, FakeFeed(records[:19]), settings, full=True)

    gone = products_by_gtin(engine)[make_gtin(19)]
    assert outcome.alert is None and outcome.delisted == 1
    assert outcome.changed_product_ids == {gone.id}
    assert gone.status == "delisted" and gone.delisted_at is not None


def test_an_invalid_record_does_not_delist_its_product(engine, settings):
    records = [product_raw(n) for n in range(10)]
    run_sync(engine, FakeFeed(records), settings)
    records[3] = product_raw(3, price="oops")

    outcome = run_sync(engine, FakeFeed(records), settings, full=True)

    assert outcome.rejected == 1 and outcome.delisted == 0 and outcome.alert is None
    assert products_by_gtin(engine)[make_gtin(3)].status == "active"


def test_incremental_delisting_and_relisting(engine, settings):
    run_sync(engine, FakeFeed([product_raw(n) for n in range(3)]), settings)

    delisted = run_sync(engine, FakeFeed([product_raw(1, status="delisted")]), settings)
    product = products_by_gtin(engine)[make_gtin(1)]
    assert get_run(engine, delisted.run_id).full is False
    assert delisted.changed_product_ids == {product.id}
    assert (product.status, product.delisted_at is not None) == ("delisted", True)

    relisted = run_sync(engine, FakeFeed([product_raw(1)]), settings)
    product = products_by_gtin(engine)[make_gtin(1)]
    assert relisted.changed == 1
    assert (product.status, product.delisted_at) == ("active", None)
    assert count(engine, PriceHistory) == 3  # status flips are no price changes


def test_incremental_asks_since_the_watermark_minus_the_overlap(engine, settings):
    first = FakeFeed([product_raw(1)])
    run_sync(engine, first, settings)
    assert first.calls[0]["since"] is None
    with Session(engine) as s:
        state = s.get(FeedState, feed_state_key(STORE, "fake", "products"))
    assert (state.watermark, state.etag) == (SERVER_TIME, first.etag)

    second = FakeFeed([product_raw(1, stock=3)])
    run_sync(engine, second, settings)

    expected_since = SERVER_TIME - timedelta(seconds=settings.erp_overlap_s)
    assert second.calls[0] == {
        "stream": "products",
        "since": expected_since,
        "cursor": None,
        "etag": first.etag,
    }


def test_a_not_modified_feed_does_nothing(engine, settings):
    first = FakeFeed([product_raw(1)])
    run_sync(engine, first, settings)
    stale = FakeFeed([product_raw(1, price="0.10")])
    stale.etag = first.etag  # the server says: nothing changed since that ETag

    outcome = run_sync(engine, stale, settings)

    assert outcome.status == "succeeded" and outcome.fetched == 0 and outcome.changed == 0
    assert products_by_gtin(engine)[make_gtin(1)].price_minor == 1399


def test_a_feed_without_incremental_support_always_syncs_full(engine, settings):
    feed = FakeFeed([product_raw(1)], supports_incremental=False)
    run_sync(engine, feed, settings)
    run_sync(engine, feed, settings)
    assert [c["since"] for c in feed.calls] == [None] * 4


def test_a_crash_mid_run_resumes_from_the_last_committed_page(engine, settings):
    records = [product_raw(n) for n in range(12)]
    promotions = [promotion_raw("PR-1", 5)]
    dying = FakeFeed(records, promotions, page_size=3, crash_after=2, crash=WorkerKilled())
    with pytest.raises(WorkerKilled):
        run_sync(engine, dying, settings)
    with Session(engine) as s:
        run = s.execute(select(SyncRun)).scalars().one()
    assert (run.status, run.phase, run.resume_cursor, run.pages_done) == (
        "running",
        "products",
        "6",
        2,
    )
    assert len(products_by_gtin(engine)) == 6

    healthy = FakeFeed(records, promotions, page_size=3)
    outcome = resume_interrupted(engine, healthy, settings)

    assert outcome.run_id == run.id and outcome.status == "succeeded"
    assert healthy.calls[0]["cursor"] == "6"
    products = products_by_gtin(engine)
    assert set(products) == {make_gtin(n) for n in range(12)}
    assert count(engine, PriceHistory) == 12  # one first price each, none doubled
    assert count(engine, Promotion) == 1
    assert (outcome.fetched, outcome.changed) == (13, 13)
    # the products of the pages before the crash are reported changed too
    assert outcome.changed_product_ids == {p.id for p in products.values()}
    assert resume_interrupted(engine, healthy, settings) is None


def test_a_feed_error_fails_the_run_and_keeps_committed_pages(engine, settings):
    feed = FakeFeed(
        [product_raw(n) for n in range(9)], crash_after=1, crash=ConnectionError("ERP went away")
    )

    outcome = run_sync(engine, feed, settings)

    assert outcome.status == "failed" and outcome.error == "ConnectionError: ERP went away"
    run = get_run(engine, outcome.run_id)
    assert (run.status, run.error, run.finished_at is not None) == ("failed", outcome.error, True)
    assert len(products_by_gtin(engine)) == 3
    with Session(engine) as s:
        assert (
            s.get(FeedState, feed_state_key(STORE, "fake", "products")) is None
        )  # no watermark from a failed run


def test_a_concurrent_sync_is_skipped_and_says_why(engine, settings):
    with session_scope(engine) as s:
        requested = SyncRun(store_id=STORE, feed="fake", trigger="manual")
        s.add(requested)
    inner: list = []

    class ReentrantFeed(FakeFeed):
        def pages(self, stream, **kwargs):
            if not inner:
                inner.append(run_sync(engine, FakeFeed([]), settings, run_id=requested.id))
            yield from super().pages(stream, **kwargs)

    outer = run_sync(engine, ReentrantFeed([product_raw(1)]), settings)

    assert outer.status == "succeeded"
    (skipped,) = inner
    assert skipped.status == "skipped" and "another sync is running" in skipped.error
    assert get_run(engine, requested.id).status == "skipped"


def test_a_lock_left_by_a_crashed_sync_expires(engine, settings):
    long_ago = SERVER_TIME - timedelta(days=1)
    lease.acquire(engine, SYNC_LOCK_KEY, "dead:1", 60, now=long_ago)
    assert run_sync(engine, FakeFeed([product_raw(1)]), settings).status == "succeeded"
    lease.acquire(engine, SYNC_LOCK_KEY, "alive:1", 60)
    assert run_sync(engine, FakeFeed([product_raw(1)]), settings).status == "skipped"


def test_a_requested_run_is_taken_over(engine, settings):
    with session_scope(engine) as s:
        requested = SyncRun(store_id=STORE, feed="fake", trigger="manual")
        s.add(requested)
    outcome = run_sync(engine, FakeFeed([product_raw(1)]), settings, run_id=requested.id)
    run = get_run(engine, requested.id)
    assert outcome.run_id == requested.id
    assert (run.status, run.trigger, run.fetched) == ("succeeded", "manual", 1)


def test_a_finished_run_cannot_be_taken_over(engine, settings):
    done = run_sync(engine, FakeFeed([product_raw(1)]), settings)
    with pytest.raises(ValueError, match="is succeeded"):
        run_sync(engine, FakeFeed([product_raw(1)]), settings, run_id=done.run_id)


# --- the real JSON feed over `responses` ---------------------------------------------------

ERP = "http://erp.test/api"


def json_feed() -> JsonFeed:
    return JsonFeed(ERP, requests.Session(), page_size=2)


def add_pages(stream: str, pages: list[list[dict]]) -> None:
    for index, items in enumerate(pages):
        cursor = None if index == 0 else f"c{index}"
        next_cursor = f"c{index + 1}" if index + 1 < len(pages) else None
        params = {"page_size": "2", **({"cursor": cursor} if cursor else {})}
        responses.get(
            f"{ERP}/{stream}",
            json={
                "items": items,
                "next_cursor": next_cursor,
                "server_time": "2026-11-23T10:00:00Z",
            },
            headers={"ETag": f'"{stream}-1"'} if index == 0 else {},
            match=[responses.matchers.query_param_matcher(params)],
        )


@responses.activate
def test_json_feed_sync_across_many_pages(engine, settings):
    records = [product_raw(n) for n in range(9)]
    records[4] = product_raw(4, price="3.333")
    add_pages("products", [records[i : i + 2] for i in range(0, 9, 2)])
    add_pages("promotions", [[promotion_raw("PR-1", 2)]])

    outcome = run_sync(engine, json_feed(), settings)

    assert outcome.status == "succeeded"
    assert (outcome.fetched, outcome.changed, outcome.rejected) == (10, 9, 1)
    assert len(products_by_gtin(engine)) == 8
    assert [d.record_key for d in dead_letters(engine)] == [make_gtin(4)]
    with Session(engine) as s:
        state = s.get(FeedState, feed_state_key(STORE, "json", "products"))
    assert state.etag == '"products-1"' and state.watermark == SERVER_TIME


@responses.activate
def test_json_feed_401_fails_the_run_with_the_message(engine, settings):
    responses.get(f"{ERP}/products", status=401, json={"error": "bad token"})

    outcome = run_sync(engine, json_feed(), settings)

    assert outcome.status == "failed"
    assert "401" in outcome.error
    assert get_run(engine, outcome.run_id).error == outcome.error
    assert len(responses.calls) == 1  # never retried


@pytest.mark.postgres
def test_a_small_full_sync_on_postgresql(pg_engine, settings):
    with session_scope(pg_engine) as s:
        s.add(Store(id=settings.store_id, name="PG store", currency="RON"))
    records = [product_raw(n) for n in range(7)] + [product_raw(2, price="1.00")]
    promotions = [promotion_raw("PR-1", 3)]

    first = run_sync(pg_engine, FakeFeed(records, promotions), settings)
    records[5] = product_raw(5, price="2.50")
    second = run_sync(pg_engine, FakeFeed(records, promotions), settings, full=True)

    assert (first.status, first.changed, first.rejected) == ("succeeded", 8, 1)
    assert (second.changed, second.unchanged) == (1, 7)
    products = products_by_gtin(pg_engine)
    assert len(products) == 7 and products[make_gtin(5)].price_minor == 250
    assert second.changed_product_ids == {products[make_gtin(5)].id}
    assert count(pg_engine, PriceHistory) == 8
