"""One label whose content cannot be built is marked with its reason; every other goes on."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from esl_controller.esl.refresh import refresh_labels
from esl_controller.labels.render_pool import RenderPool
from esl_controller.models import Incident, Label, OutboxMessage, Product


@pytest.fixture(scope="module")
def pool():
    with RenderPool(workers=1) as render_pool:
        yield render_pool


def _set_product(engine, label_id: str, **values) -> None:
    with Session(engine) as s:
        product_id = s.get(Label, label_id).product_id
        s.execute(update(Product).where(Product.id == product_id).values(**values))
        s.commit()


@pytest.mark.parametrize("net_quantity", [0.0, float("inf"), -3.0])
def test_a_product_whose_unit_price_cannot_be_computed_costs_only_its_label(
    engine, seed_store, pool, net_quantity: float
) -> None:
    # Rows written before the ERP boundary was bounded (or by hand) can hold such values.
    ids = seed_store(labels=5)
    _set_product(engine, ids[2], net_quantity=net_quantity)

    report = refresh_labels(engine, pool, label_ids=ids)

    assert report.queued == 4
    assert dict(report.errors) == {"content_error": 1}
    with Session(engine) as s:
        broken = s.get(Label, ids[2])
        queued = set(s.scalars(select(OutboxMessage.label_id)))
        incidents = list(s.scalars(select(Incident)))
    assert queued == set(ids) - {ids[2]}
    assert "cannot build its content" in broken.last_error
    assert [(i.kind, i.subject) for i in incidents] == [("content_error", ids[2])]


def test_refresh_all_goes_on_while_the_bad_product_exists(engine, seed_store, pool) -> None:
    ids = seed_store(labels=3)
    _set_product(engine, ids[0], net_quantity=float("inf"))
    first = refresh_labels(engine, pool)
    _set_product(engine, ids[1], price_minor=999)
    second = refresh_labels(engine, pool)
    assert (first.queued, second.queued) == (2, 1)
    assert second.errors["content_error"] == 1
