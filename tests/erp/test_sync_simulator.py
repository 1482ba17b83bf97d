"""The sync against the project's ERP simulator over real HTTP (the generic JSON feed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.sync import run_sync
from esl_controller.models import DeadLetter, PriceHistory, Product
from esl_controller.sims.erp import ErpSimulator


@pytest.fixture
def erp(settings) -> Iterator[ErpSimulator]:
    with ErpSimulator(products=120, token="sim-token", store_id=settings.store_id) as sim:
        yield sim


@pytest.fixture
def erp_settings(settings, erp):
    return settings.with_overrides(
        erp_feed="json", erp_url=erp.url, erp_token="sim-token", erp_page_size=25
    )


def scalar(engine, query):
    with Session(engine) as s:
        return s.execute(query).scalar_one()


def test_sync_with_the_simulator_through_its_faults(engine, store, erp, erp_settings):
    feed = feed_from_settings(erp_settings)
    first = run_sync(engine, feed, erp_settings)
    assert first.status == "succeeded" and first.rejected == 0
    products = scalar(engine, select(func.count()).select_from(Product))
    assert products == len(erp.gtins()) and first.fetched > 100

    changed_gtins = set(erp.change_prices(5))
    erp.bad_rows(4)
    duplicated = erp.duplicate_gtin()
    second = run_sync(engine, feed, erp_settings, full=True)
    assert second.status == "succeeded"
    assert second.changed == 5 and second.rejected == 5
    with Session(engine) as s:
        ids = set(s.execute(select(Product.id).where(Product.gtin.in_(changed_gtins))).scalars())
        fields = sorted(
            s.execute(select(DeadLetter.field).where(DeadLetter.run_id == second.run_id)).scalars()
        )
        duplicate = s.execute(
            select(DeadLetter).where(
                DeadLetter.run_id == second.run_id,
                DeadLetter.record_key == duplicated,
                DeadLetter.field == "gtin",
            )
        ).scalar_one()
    assert second.changed_product_ids == ids
    assert fields == ["currency", "ends_at", "gtin", "gtin", "price"]
    assert "duplicate gtin in this feed" in duplicate.reason
    history = scalar(engine, select(func.count()).select_from(PriceHistory))

    steady = run_sync(engine, feed, erp_settings)
    assert (steady.status, steady.changed) == ("succeeded", 0)
    assert scalar(engine, select(func.count()).select_from(PriceHistory)) == history

    erp.empty_catalogue()
    empty = run_sync(engine, feed, erp_settings, full=True)
    assert empty.delisted == 0 and "the feed returned no products" in empty.alert
    active = scalar(engine, select(func.count()).where(Product.status == "active"))
    assert active == products


def test_a_wrong_token_fails_the_run_with_a_clear_message(engine, store, erp, erp_settings):
    feed = feed_from_settings(erp_settings.with_overrides(erp_token="wrong"))
    outcome = run_sync(engine, feed, erp_settings)
    assert outcome.status == "failed" and "401" in outcome.error
    assert len(erp.requests) == 1  # a 401 is not retried
