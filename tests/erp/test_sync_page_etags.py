"""Per-page ETags against the ERP simulator over real HTTP: a 304 skips only its own page, so
a change on page 3 arrives even when pages 1 and 2 are unchanged; a cancelled promotion
reaches the shelf through the incremental feed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.sync import run_sync
from esl_controller.models import FeedPageState, Product, Promotion
from esl_controller.sims.erp import ErpSimulator

TEN_YEARS = 10 * 365 * 24 * 3600.0


@pytest.fixture
def erp(settings) -> Iterator[ErpSimulator]:
    with ErpSimulator(products=30, token="sim-token", store_id=settings.store_id) as sim:
        yield sim


@pytest.fixture
def erp_settings(settings, erp):
    # A wide overlap makes every incremental read list the whole catalogue: three pages.
    return settings.with_overrides(
        erp_feed="json",
        erp_url=erp.url,
        erp_token="sim-token",
        erp_page_size=10,
        erp_overlap_s=TEN_YEARS,
    )


def product_statuses(erp: ErpSimulator, since: int) -> list[int]:
    return [r.status for r in list(erp.requests)[since:] if r.path == "/products"]


def test_a_change_on_page_three_arrives_when_pages_one_and_two_are_unchanged(
    engine, store, erp, erp_settings
) -> None:
    feed = feed_from_settings(erp_settings)
    assert run_sync(engine, feed, erp_settings, full=True).status == "succeeded"
    assert run_sync(engine, feed, erp_settings).status == "succeeded"  # learns page ETags
    with Session(engine) as s:
        assert len(s.execute(select(FeedPageState)).scalars().all()) >= 3

    gtin = sorted(erp.gtins())[25]  # keyset paging by GTIN: page 3 of 10 per page
    erp.set_price(gtin, "1.23")
    seen = len(erp.requests)
    outcome = run_sync(engine, feed, erp_settings)

    assert outcome.status == "succeeded"
    assert product_statuses(erp, seen) == [304, 304, 200]
    with Session(engine) as s:
        product = s.execute(select(Product).where(Product.gtin == gtin)).scalar_one()
    assert product.price_minor == 123
    assert outcome.changed_product_ids == {product.id}


def test_a_promotion_cancelled_in_the_erp_ends_on_the_shelf(engine, store, erp, erp_settings):
    feed = feed_from_settings(erp_settings)
    run_sync(engine, feed, erp_settings, full=True)
    with Session(engine) as s:
        running = [
            p
            for p in s.execute(select(Promotion)).scalars()
            if p.starts_at.replace(tzinfo=UTC) <= utcnow() < p.ends_at.replace(tzinfo=UTC)
        ]
    assert running, "the demo catalogue has promotions in force"
    target = running[0]
    erp.cancel_promotion(target.external_id)

    outcome = run_sync(engine, feed, erp_settings)

    with Session(engine) as s:
        ended = s.get(Promotion, target.id)
    assert ended.ends_at.replace(tzinfo=UTC) <= utcnow()
    assert target.product_id in outcome.changed_product_ids
