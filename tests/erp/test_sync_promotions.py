"""Promotions as a snapshot per full sync, and an explicit cancel in the incremental feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.erp.apply import promotion_end
from esl_controller.erp.sync import run_sync
from esl_controller.models import Product, Promotion
from tests.support.erp import FakeFeed, product_raw, promotion_raw
from tests.support.gtins import make_gtin


@pytest.fixture(autouse=True)
def _store(store):
    return store


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def running(promo_id: str, n: int, **changes) -> dict:
    """A promotion in force now (the clock is real: sync stamps with utcnow)."""
    now = utcnow()
    return promotion_raw(
        promo_id, n, starts_at=iso(now - timedelta(days=1)), ends_at=iso(now + timedelta(days=5)),
        **changes,
    )  # fmt: skip


def announced(promo_id: str, n: int) -> dict:
    now = utcnow()
    return promotion_raw(
        promo_id, n, starts_at=iso(now + timedelta(days=2)), ends_at=iso(now + timedelta(days=9))
    )


def promotions(engine) -> dict[str, Promotion]:
    with Session(engine) as s:
        return {p.external_id: p for p in s.execute(select(Promotion)).scalars()}


def product_id(engine, n: int) -> int:
    with Session(engine) as s:
        return s.execute(select(Product.id).where(Product.gtin == make_gtin(n))).scalar_one()


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


PRODUCTS = [product_raw(n) for n in range(1, 6)]


def test_a_full_sync_ends_the_promotions_the_erp_no_longer_lists(engine, settings) -> None:
    kept = running("PR-2", 2)
    listed = [running("PR-1", 1), kept, announced("PR-3", 3)]
    run_sync(engine, FakeFeed(PRODUCTS, listed), settings, full=True)
    before = utcnow()
    outcome = run_sync(engine, FakeFeed(PRODUCTS, [kept]), settings, full=True)

    assert outcome.status == "succeeded"
    stored = promotions(engine)
    assert before <= aware(stored["PR-1"].ends_at) <= utcnow()  # ended now
    assert aware(stored["PR-3"].ends_at) == aware(stored["PR-3"].starts_at)  # never shows
    assert aware(stored["PR-2"].ends_at) > utcnow() + timedelta(days=4)
    # their labels re-render; the unchanged promotion's product does not
    assert outcome.changed_product_ids == {product_id(engine, 1), product_id(engine, 3)}

    again = run_sync(engine, FakeFeed(PRODUCTS, [kept]), settings, full=True)
    assert again.changed_product_ids == set() and again.changed == 0


def test_a_refused_promotion_record_does_not_end_its_promotion(engine, settings) -> None:
    run_sync(engine, FakeFeed(PRODUCTS, [running("PR-1", 1)]), settings, full=True)
    broken = running("PR-1", 1, price="9.999")
    outcome = run_sync(engine, FakeFeed(PRODUCTS, [broken]), settings, full=True)
    assert outcome.rejected == 1
    assert aware(promotions(engine)["PR-1"].ends_at) > utcnow() + timedelta(days=4)


def test_the_incremental_feed_cancels_a_promotion(engine, settings) -> None:
    run_sync(engine, FakeFeed(PRODUCTS, [running("PR-1", 1), running("PR-2", 2)]), settings)
    cancel = {"id": "PR-1", "status": "cancelled", "modified_at": iso(utcnow())}
    feed = FakeFeed([], [cancel])

    outcome = run_sync(engine, feed, settings)

    assert feed.calls[0]["since"] is not None  # an incremental run
    stored = promotions(engine)
    assert aware(stored["PR-1"].ends_at) <= utcnow()
    assert aware(stored["PR-2"].ends_at) > utcnow()  # not listed, but incremental: kept
    assert outcome.changed_product_ids == {product_id(engine, 1)}
    assert (outcome.changed, outcome.rejected) == (1, 0)
    # cancelling again, or cancelling one nobody knows, changes nothing and refuses nothing
    unknown = {"id": "PR-404", "status": "cancelled"}
    again = run_sync(engine, FakeFeed([], [cancel, unknown]), settings, full=False)
    assert (again.changed, again.unchanged, again.rejected) == (0, 2, 0)


def test_a_feed_without_a_promotions_stream_ends_none(engine, settings) -> None:
    class NoPromotions(FakeFeed):
        def pages(self, stream, **kwargs):
            if stream == "promotions":
                return iter(())
            return super().pages(stream, **kwargs)

    run_sync(engine, FakeFeed(PRODUCTS, [running("PR-1", 1)]), settings, full=True)
    run_sync(engine, NoPromotions(PRODUCTS), settings, full=True)
    assert aware(promotions(engine)["PR-1"].ends_at) > utcnow() + timedelta(days=4)


def test_promotion_end_rules() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    day = timedelta(days=1)
    assert promotion_end(now - day, now + day, now) == now  # running: ends now
    assert promotion_end(now + day, now + 2 * day, now) == now + day  # announced: never shows
    assert promotion_end(now - 2 * day, now - day, now) == now - day  # over: unchanged
