"""Template "auto": price normally, promo while a real reduction runs (on every bundled
panel), not-for-sale when delisted; "promo" shows no band without a reduction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.labels.auto_template import resolve_template
from esl_controller.labels.catalogue_slice import CatalogueSlice
from esl_controller.labels.render_pool import LabelRenderer
from esl_controller.models import Label, Product, Promotion
from tests.labels.conftest import promo_info

RENDERER = LabelRenderer()


@pytest.fixture(params=["2.9-bwr"])
def model(request) -> str:
    return request.param


@pytest.fixture
def auto_label(seed_store, engine, model):
    (label_id,) = seed_store(labels=1, stations=1, model=model)
    with Session(engine) as s:
        label = s.get(Label, label_id)
        label.template = "auto"
        s.add(label)
        s.commit()
    return label_id


def _template(engine, label_id: str) -> str:
    """The template the label is drawn with, as the renderer chooses it."""
    with Session(engine) as s:
        label = s.get(Label, label_id)
        job = CatalogueSlice.load(s, [label], utcnow()).job_for(label)
    panel = RENDERER.models[job.model]
    RENDERER.render(job)  # it draws, whatever it chose
    return resolve_template(job.template, job.content, lambda name: RENDERER.fits(name, panel))


def _promote(engine, label_id: str, price_minor: int) -> None:
    now = utcnow()
    with Session(engine) as s:
        product_id = s.get(Label, label_id).product_id
        s.add(
            Promotion(
                product_id=product_id,
                price_minor=price_minor,
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=3),
            )
        )
        s.commit()


def test_auto_shows_the_price_layout_without_a_promotion(engine, auto_label):
    assert _template(engine, auto_label) == "price"


def test_auto_shows_the_promo_layout_while_a_reduction_runs(engine, auto_label):
    _promote(engine, auto_label, price_minor=999)
    assert _template(engine, auto_label) == "promo"


def test_a_promotion_that_does_not_lower_the_price_keeps_the_price_layout(engine, auto_label):
    _promote(engine, auto_label, price_minor=99_999)
    assert _template(engine, auto_label) == "price"


def test_a_delisted_product_shows_not_for_sale(engine, auto_label):
    with Session(engine) as s:
        product = s.get(Product, s.get(Label, auto_label).product_id)
        product.status = "delisted"
        s.add(product)
        s.commit()
    assert _template(engine, auto_label) == "not_for_sale"


@pytest.mark.parametrize("model", sorted(RENDERER.models), indirect=True)
def test_every_panel_shows_the_promo_layout_while_a_reduction_runs(engine, auto_label, model):
    _promote(engine, auto_label, price_minor=999)
    assert _template(engine, auto_label) == "promo"


def test_a_template_set_without_a_promo_layout_for_the_panel_shows_the_price_layout(
    make_content,
):
    """A store's own templates may lack a panel; the price layout then shows the promo price."""
    content = make_content(promo=promo_info())
    assert resolve_template("auto", content, fits=lambda name: name != "promo") == "price"
    assert resolve_template("auto", content, fits=lambda name: True) == "promo"


def test_a_label_linked_with_promo_shows_no_promo_band_without_a_reduction(make_content):
    assert resolve_template("promo", make_content(), fits=lambda name: True) == "price"
    with_reduction = make_content(promo=promo_info())
    assert resolve_template("promo", with_reduction, fits=lambda name: True) == "promo"
    assert resolve_template("stock", make_content(), fits=lambda name: True) == "stock"


def test_a_promo_label_whose_promotion_is_no_reduction_shows_the_price_layout(engine, auto_label):
    with Session(engine) as s:
        label = s.get(Label, auto_label)
        label.template = "promo"
        s.add(label)
        s.commit()
    assert _template(engine, auto_label) == "price"
    _promote(engine, auto_label, price_minor=99_999)
    assert _template(engine, auto_label) == "price"
    _promote(engine, auto_label, price_minor=999)
    assert _template(engine, auto_label) == "promo"
