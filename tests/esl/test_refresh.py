"""Refresh: catalogue rows -> render -> outbox, re-rendering only what changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from esl_controller.esl.refresh import refresh_labels
from esl_controller.labels.render_pool import RenderPool
from esl_controller.models import Incident, Label, OutboxMessage, Product


@pytest.fixture(scope="module")
def pool():
    with RenderPool(workers=1) as render_pool:
        yield render_pool


def outbox_rows(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage))


def product_of(engine, label_id: str) -> int:
    with Session(engine) as s:
        return s.get(Label, label_id).product_id


def test_first_refresh_renders_and_queues_every_bound_label(engine, seed_store, pool):
    seed_store(labels=5)
    report = refresh_labels(engine, pool)
    assert (report.rendered, report.queued, report.unchanged) == (5, 5, 0)
    assert outbox_rows(engine) == 5


def test_unchanged_inputs_are_not_rendered_again(engine, seed_store, pool):
    seed_store(labels=5)
    refresh_labels(engine, pool)
    again = refresh_labels(engine, pool)
    assert (again.rendered, again.queued, again.unchanged) == (0, 0, 5)
    assert outbox_rows(engine) == 5


def test_a_price_change_re_renders_exactly_that_label(engine, seed_store, pool):
    ids = seed_store(labels=5)
    refresh_labels(engine, pool)
    with Session(engine) as s:
        s.execute(
            update(Product).where(Product.id == product_of(engine, ids[3])).values(price_minor=4242)
        )
        s.commit()
    report = refresh_labels(engine, pool)
    assert (report.rendered, report.queued, report.unchanged) == (1, 1, 4)


def test_force_renders_everything_but_sends_only_what_differs(engine, seed_store, pool):
    seed_store(labels=3)
    refresh_labels(engine, pool)
    report = refresh_labels(engine, pool, force=True)
    assert (report.rendered, report.queued, report.unchanged) == (3, 0, 3)
    assert outbox_rows(engine) == 3  # the radio is not spent on images already shown


def test_resend_requeues_identical_images_for_a_manager(engine, seed_store, pool):
    seed_store(labels=3)
    refresh_labels(engine, pool)
    report = refresh_labels(engine, pool, force=True, resend=True)
    assert (report.rendered, report.queued) == (3, 3)


def test_a_delisted_product_shows_not_for_sale_instead_of_a_price(engine, seed_store, pool):
    ids = seed_store(labels=2)
    refresh_labels(engine, pool)
    with Session(engine) as s:
        before = s.get(Label, ids[0]).content_hash
        s.execute(
            update(Product)
            .where(Product.id == product_of(engine, ids[0]))
            .values(status="delisted")
        )
        s.commit()
    report = refresh_labels(engine, pool)
    assert report.queued == 1
    with Session(engine) as s:
        assert s.get(Label, ids[0]).content_hash != before
    from esl_controller.clock import utcnow
    from esl_controller.labels.catalogue_slice import CatalogueSlice

    with Session(engine) as s:
        label = s.get(Label, ids[0])
        job = CatalogueSlice.load(s, [label], utcnow()).job_for(label)
    assert job.template == "not_for_sale"


def test_bad_labels_become_incidents_and_the_rest_still_render(engine, seed_store, pool):
    ids = seed_store(labels=4)
    with Session(engine) as s:
        s.execute(
            update(Product)
            .where(Product.id == product_of(engine, ids[0]))
            .values(gtin="5940000000010")
        )  # wrong check digit
        # a template taken out of the templates folder after the label was linked with it
        s.execute(update(Label).where(Label.id == ids[1]).values(template="retired"))
        s.execute(update(Label).where(Label.id == ids[2]).values(product_id=None))
        s.commit()
    report = refresh_labels(engine, pool, label_ids=ids)
    assert report.queued == 1
    assert dict(report.errors) == {"invalid_gtin": 1, "template_error": 1, "unbound_label": 1}
    with Session(engine) as s:
        kinds = sorted(s.scalars(select(Incident.kind)))
        gtin_label = s.get(Label, ids[0])
        layout_label = s.get(Label, ids[1])
    assert kinds == ["invalid_gtin", "template_error", "unbound_label"]
    assert "check digit" in gtin_label.last_error
    assert "unknown template 'retired'" in layout_label.last_error
