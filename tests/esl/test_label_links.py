"""Linking labels to products: defaults, re-link confirmation, refusals and the audit trail."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import Session

from esl_controller import audit
from esl_controller.esl import label_links
from esl_controller.labels.render_pool import shared_renderer
from esl_controller.models import Label
from tests.support.label_links import GTINS, seed_unlinked_store
from tests.support.label_templates import FITS_2_9, POSTER_ONLY, own_templates_dir


@pytest.fixture
def labels(engine, settings):
    return seed_unlinked_store(engine, settings)


def test_a_new_link_is_auto_and_recorded_in_the_audit_trail(session, settings, labels):
    label = label_links.link_label(session, settings, labels[0], GTINS[0], actor="bob")
    assert label.template == "auto" and label.state == "pending"
    (entry,) = audit.recent(session, action_prefix="label.")
    assert (entry.actor, entry.action, entry.target) == ("bob", "label.link", "label:NEW-0")
    assert audit.detail_of(entry)["gtin"] == GTINS[0]


def test_a_label_showing_another_product_needs_a_confirmed_relink(session, settings, labels):
    label_links.link_label(session, settings, labels[0], GTINS[0], "price", actor="bob")
    with pytest.raises(label_links.AlreadyLinked, match="already shows Product 0"):
        label_links.link_label(session, settings, labels[0], GTINS[1], actor="bob")
    session.rollback()
    assert session.get(Label, labels[0]).product_id is not None
    moved = label_links.link_label(session, settings, labels[0], GTINS[1], actor="bob", relink=True)
    assert moved.template == "price"  # a re-link keeps the label's template
    entries = audit.recent(session, action_prefix="label.link")
    assert audit.detail_of(entries[0])["previous_gtin"] == GTINS[0]
    # linking again to the product it shows is no re-link
    label_links.link_label(session, settings, labels[0], GTINS[1], actor="bob")


@pytest.mark.parametrize(
    ("gtin", "template", "says"),
    [
        ("5901234123458", None, "check digit"),
        ("5940000000998", None, "no product with barcode"),
        (GTINS[0], "poster", "'poster' is not a label template here; choose one of: auto, "),
    ],
)
def test_a_refused_link_changes_nothing_and_is_not_audited(
    engine, settings, labels, gtin, template, says
):
    with Session(engine) as s:
        with pytest.raises(label_links.LinkError, match=says):
            label_links.link_label(s, settings, labels[0], gtin, template, actor="bob")
        s.rollback()
    with Session(engine) as s:
        assert s.get(Label, labels[0]).product_id is None
        assert audit.recent(s) == []


def test_an_unknown_label_is_a_lookup_error(session, settings, labels):
    with pytest.raises(LookupError, match="unknown label"):
        label_links.link_label(session, settings, "NOPE", GTINS[0], actor="bob")


def test_unlink_is_recorded_with_what_the_label_showed(session, settings, labels):
    label_links.link_label(session, settings, labels[1], GTINS[2], actor="bob")
    label = label_links.unlink_label(session, settings, labels[1], actor="alice")
    assert label.state == "unbound" and label.product_id is None
    entry = audit.recent(session, action_prefix="label.unlink")[0]
    assert entry.actor == "alice" and audit.detail_of(entry)["previous_gtin"] == GTINS[2]


@pytest.mark.parametrize("model", ["1.54-bwr", "2.13h-bw", "7.5-bwy"])
def test_every_bundled_template_links_on_every_panel(session, settings, labels, model):
    label = session.get(Label, labels[4])
    label.model = model
    session.add(label)
    session.commit()
    for template in ("auto", "price", "promo", "stock", "not_for_sale"):
        linked = label_links.link_label(
            session, settings, labels[4], GTINS[0], template, actor="bob"
        )
        assert linked.template == template


@pytest.fixture
def own_settings(settings, tmp_path):
    return replace(settings, templates_dir=own_templates_dir(tmp_path))


def test_a_template_without_a_layout_for_the_panel_is_refused_in_plain_words(
    engine, own_settings, labels
):
    with Session(engine) as s:
        with pytest.raises(label_links.TemplateRefused) as refused:
            label_links.link_label(s, own_settings, labels[0], GTINS[0], POSTER_ONLY, actor="bob")
        s.rollback()
    assert str(refused.value) == (
        f"the {POSTER_ONLY} layout does not fit a 2.9-inch label (296x128 pixels); "
        f"choose one that does: {FITS_2_9}"
    )
    with Session(engine) as s:
        assert s.get(Label, labels[0]).product_id is None
        assert audit.recent(s) == []


def test_the_template_that_fits_only_a_big_panel_links_there(engine, own_settings, labels):
    with Session(engine, expire_on_commit=False) as s:
        label = s.get(Label, labels[0])
        label.model = "7.5-bwr"
        s.add(label)
        s.commit()
        linked = label_links.link_label(
            s, own_settings, labels[0], GTINS[0], POSTER_ONLY, actor="bob"
        )
    assert linked.template == POSTER_ONLY


def test_the_templates_that_fit_a_panel_are_offered_auto_first(own_settings):
    renderer = shared_renderer(own_settings.templates_dir)
    assert label_links.templates_that_fit(renderer, "2.9-bwr") == FITS_2_9.split(", ")
    assert label_links.templates_that_fit(renderer, "7.5-bw") == [
        "auto", "not_for_sale", "price", "promo", POSTER_ONLY, "stock"
    ]  # fmt: skip
    assert label_links.templates_that_fit(renderer, "no-such-panel") == []
