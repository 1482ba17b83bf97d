"""Linking labels to products: defaults, re-link confirmation, refusals and the audit trail."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from esl_controller import audit
from esl_controller.esl import label_links
from esl_controller.models import Label
from tests.support.label_links import GTINS, seed_unlinked_store


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
        (GTINS[0], "poster", "no template 'poster'"),
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


def test_auto_links_a_panel_the_promo_template_does_not_fit(session, settings, labels):
    label = session.get(Label, labels[4])
    label.model = "1.54-bwr"  # no promo layout for 152x152: auto falls back to price
    session.add(label)
    session.commit()
    assert (
        label_links.link_label(session, settings, labels[4], GTINS[0], actor="bob").template
        == "auto"
    )
    with pytest.raises(label_links.LinkError, match=r"template 'promo' does not fit a 1\.54-bwr"):
        label_links.link_label(session, settings, labels[4], GTINS[0], "promo", actor="bob")
