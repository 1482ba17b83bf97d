"""The shelf refresher: every way a label becomes dirty, through one lock and one path."""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import update
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.esl.shelf_refresher import DirtyLabels, ShelfRefresher
from esl_controller.labels.render_pool import RenderPool
from esl_controller.models import Label, Product, Promotion


@pytest.fixture(scope="module")
def pool():
    with RenderPool(workers=1) as render_pool:
        yield render_pool


@pytest.fixture
def shelf(engine, pool, settings):
    return ShelfRefresher(engine, pool, "not_for_sale", store_id=settings.store_id)


def product_of(engine, label_id: str) -> int:
    with Session(engine) as s:
        return s.get(Label, label_id).product_id


def test_the_catalogue_scan_moves_its_watermark_only_past_what_it_rendered(
    engine, seed_store, shelf
):
    ids = seed_store(labels=4, stations=1)
    assert shelf.refresh(shelf.catalogue_changes).queued == 4  # never rendered
    assert shelf.refresh(shelf.catalogue_changes).considered == 0  # watermark moved
    with Session(engine) as s:
        s.execute(
            update(Product)
            .where(Product.id == product_of(engine, ids[2]))
            .values(price_minor=777, updated_at=utcnow() + timedelta(seconds=1))
        )
        s.commit()
    again = shelf.refresh(shelf.catalogue_changes)
    assert (again.considered, again.queued) == (1, 1)


def test_products_selects_the_labels_of_exactly_those_products(engine, seed_store, shelf):
    ids = seed_store(labels=5, stations=1)
    shelf.refresh(partial(shelf.everything))
    with Session(engine) as s:
        s.execute(
            update(Product).where(Product.id == product_of(engine, ids[0])).values(price_minor=1)
        )
        s.commit()
    report = shelf.refresh(partial(shelf.products, {product_of(engine, ids[0])}))
    assert (report.considered, report.rendered, report.queued) == (1, 1, 1)


def test_everything_rerenders_but_sends_only_what_differs_unless_resend(seed_store, shelf):
    seed_store(labels=3, stations=1)
    shelf.refresh(shelf.everything)
    rerendered = shelf.refresh(partial(shelf.everything, rerender=True))
    assert (rerendered.rendered, rerendered.queued) == (3, 0)
    resent = shelf.refresh(partial(shelf.everything, rerender=True, resend=True))
    assert resent.queued == 3


def test_a_promotion_flip_is_seen_once(engine, seed_store, shelf):
    ids = seed_store(labels=2, stations=1)
    shelf.refresh(shelf.everything)
    shelf.refresh(shelf.promotion_flips)  # first check: starts the clock, nothing to flip
    started = utcnow()
    with Session(engine) as s:
        s.add(
            Promotion(
                product_id=product_of(engine, ids[1]),
                price_minor=99,
                starts_at=started,
                ends_at=started + timedelta(days=2),
            )
        )
        s.commit()
    later = started + timedelta(seconds=1)
    assert shelf.refresh(partial(shelf.promotion_flips, later)).queued == 1
    assert shelf.refresh(partial(shelf.promotion_flips, later)).considered == 0


def test_selection_waits_while_a_sync_holds_the_shelf(seed_store, shelf):
    seed_store(labels=2, stations=1)
    selected = threading.Event()

    def select_nothing() -> DirtyLabels:
        selected.set()
        return DirtyLabels("test", [])

    with shelf.held():
        scan = threading.Thread(target=shelf.refresh, args=(select_nothing,))
        scan.start()
        assert not selected.wait(0.3)  # the scan cannot select while the sync works
    scan.join(10)
    assert selected.is_set()


def reprice(engine, product_id: int, price_minor: int, stamped_at) -> None:
    """A writer's price change, stamped `stamped_at` (its transaction's start)."""
    with Session(engine) as s:
        s.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(price_minor=price_minor, updated_at=stamped_at)
        )
        s.commit()


def test_a_change_committed_after_a_scan_but_stamped_before_it_is_still_seen(
    engine, seed_store, shelf
):
    ids = seed_store(labels=3, stations=1)
    shelf.refresh(shelf.catalogue_changes)
    # A writer stamped its row a minute ago and committed only after that scan ran.
    reprice(engine, product_of(engine, ids[1]), 555, utcnow() - timedelta(minutes=1))
    late = shelf.refresh(shelf.catalogue_changes)
    assert (late.considered, late.queued) == (1, 1)
    assert shelf.refresh(shelf.catalogue_changes).considered == 0  # handled once


def test_the_scan_overlap_is_its_bound(engine, seed_store, settings, pool):
    ids = seed_store(labels=2, stations=1)
    shelf = ShelfRefresher(
        engine,
        pool,
        settings.delisted_template,
        store_id=settings.store_id,
        scan_overlap=timedelta(seconds=30),
    )
    shelf.refresh(shelf.catalogue_changes)
    reprice(engine, product_of(engine, ids[0]), 556, utcnow() - timedelta(minutes=2))
    # Older than the window: only a writer that hands its ids over reaches the shelf.
    assert shelf.refresh(shelf.catalogue_changes).considered == 0
