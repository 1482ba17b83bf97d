"""Linking a label on the shelf to the product it shows, and the template it uses.

A link only writes the label row and marks it for a fresh render; the worker renders and
sends it within its next refresh (seconds), so the CLI, the API and the dashboard can all
link without talking to a station.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.esl.states import LabelState
from esl_controller.labels.render_pool import LabelRenderer, shared_renderer
from esl_controller.labels.templates import TemplateError
from esl_controller.models import Label, Product


class LinkError(ValueError):
    """A link that cannot be made; the message is meant for the person on the shelf."""


def link_label(
    session: Session,
    settings: Settings,
    label_id: str,
    gtin: str,
    template: str | None = None,
    renderer: LabelRenderer | None = None,
) -> Label:
    label = session.get(Label, label_id)
    if label is None or label.store_id != settings.store_id:
        raise LookupError(f"unknown label {label_id!r}")
    try:
        gtin = validate_gtin(gtin)
    except InvalidGTIN as exc:
        raise LinkError(f"{gtin!r} is not a valid product barcode: {exc}") from None
    product = session.scalars(
        select(Product).where(Product.store_id == settings.store_id, Product.gtin == gtin)
    ).first()
    if product is None:
        raise LinkError(f"no product with barcode {gtin} in this store")
    chosen = template or label.template or "price"
    renderer = renderer or shared_renderer(settings.templates_dir)
    _check_template(renderer, chosen, label.model)
    label.product_id = product.id
    label.template = chosen
    label.render_fingerprint = None  # render it afresh at the worker's next refresh
    label.last_error = None
    if label.state == LabelState.UNBOUND:
        label.state = LabelState.PENDING
    label.updated_at = utcnow()
    session.add(label)
    session.commit()
    return label


def unlink_label(session: Session, settings: Settings, label_id: str) -> Label:
    label = session.get(Label, label_id)
    if label is None or label.store_id != settings.store_id:
        raise LookupError(f"unknown label {label_id!r}")
    label.product_id = None
    label.render_fingerprint = None
    label.state = LabelState.UNBOUND
    label.updated_at = utcnow()
    session.add(label)
    session.commit()
    return label


def _check_template(renderer: LabelRenderer, template: str, model: str) -> None:
    if model not in renderer.models:
        raise LinkError(f"the label's hardware model {model!r} is not known here")
    chosen = renderer.templates.get(template)
    if chosen is None:
        known = ", ".join(sorted(renderer.templates))
        raise LinkError(f"no template {template!r} (known: {known})")
    try:
        chosen.layout_for(renderer.models[model])
    except (TemplateError, KeyError) as exc:
        raise LinkError(f"template {template!r} has no layout for a {model} label: {exc}") from None
