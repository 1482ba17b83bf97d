"""Linking a label on the shelf to the product it shows, and the template it uses.

A link only writes the label row and marks it for a fresh render; the worker renders and
sends it within its next refresh (seconds), so the CLI, the API, the dashboard and the
shelf page can all link without talking to a station. Every link and unlink is recorded
in the audit trail in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from esl_controller import audit
from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.esl.states import LabelState
from esl_controller.labels.auto_template import AUTO_TEMPLATE, REGULAR_TEMPLATE
from esl_controller.labels.hardware import HardwareModel
from esl_controller.labels.render_pool import LabelRenderer, shared_renderer
from esl_controller.models import Label, Product


class LinkError(ValueError):
    """A link that cannot be made; the message is meant for the person on the shelf."""


class TemplateRefused(LinkError):
    """The template does not exist, or has no layout for the label's panel; the label and
    product were fine, so a form keeps them."""


class AlreadyLinked(LinkError):
    """The label shows another product; linking it again must be confirmed."""

    def __init__(self, label_id: str, product: Product) -> None:
        super().__init__(
            f"label {label_id} already shows {product.name} ({product.gtin}); "
            "confirm to link it to the new product instead"
        )
        self.product = product


def find_label(session: Session, settings: Settings, label_id: str) -> Label:
    label = session.get(Label, label_id.strip())
    if label is None or label.store_id != settings.store_id:
        raise LookupError(f"unknown label {label_id!r}: no base station has reported it")
    return label


def find_product(session: Session, settings: Settings, gtin: str) -> Product:
    """The store's product with this barcode; LinkError with the reason if there is none."""
    typed = gtin.strip()
    try:
        gtin = validate_gtin(typed)
    except InvalidGTIN as exc:
        raise LinkError(f"{typed!r} is not a valid product barcode: {exc}") from None
    product = session.scalars(
        select(Product).where(Product.store_id == settings.store_id, Product.gtin == gtin)
    ).first()
    if product is None:
        raise LinkError(f"no product with barcode {gtin} in this store")
    return product


def link_label(
    session: Session,
    settings: Settings,
    label_id: str,
    gtin: str,
    template: str | None = None,
    renderer: LabelRenderer | None = None,
    *,
    actor: str,
    relink: bool = False,
    commit: bool = True,
) -> Label:
    """Link; a label already showing another product needs `relink`. A new link's
    template is "auto" unless one is given; a re-link keeps the label's template."""
    label = find_label(session, settings, label_id)
    product = find_product(session, settings, gtin)
    previous = session.get(Product, label.product_id) if label.product_id is not None else None
    if previous is not None and previous.id != product.id and not relink:
        raise AlreadyLinked(label.id, previous)
    chosen = (template or "").strip() or (label.template if previous else AUTO_TEMPLATE)
    renderer = renderer or shared_renderer(settings.templates_dir)
    check_template(renderer, chosen, label.model)
    label.product_id = product.id
    label.template = chosen
    label.render_fingerprint = None  # render it afresh at the worker's next refresh
    label.last_error = None
    if label.state == LabelState.UNBOUND:
        label.state = LabelState.PENDING
    label.updated_at = utcnow()
    session.add(label)
    audit.record(
        session,
        actor=actor,
        action="label.link",
        target=f"label:{label.id}",
        store_id=label.store_id,
        detail={
            "gtin": product.gtin,
            "product_id": product.id,
            "template": chosen,
            "previous_gtin": previous.gtin if previous else None,
        },
    )
    if commit:
        session.commit()
    return label


def unlink_label(session: Session, settings: Settings, label_id: str, *, actor: str) -> Label:
    label = find_label(session, settings, label_id)
    previous = session.get(Product, label.product_id) if label.product_id is not None else None
    label.product_id = None
    label.render_fingerprint = None
    label.state = LabelState.UNBOUND
    label.updated_at = utcnow()
    session.add(label)
    audit.record(
        session,
        actor=actor,
        action="label.unlink",
        target=f"label:{label.id}",
        store_id=label.store_id,
        detail={"previous_gtin": previous.gtin if previous else None},
    )
    session.commit()
    return label


def check_template(renderer: LabelRenderer, template: str, model: str) -> None:
    """LinkError, in words for the person on the shelf, unless `template` can be drawn on a
    `model` panel. "auto" needs the price layout; its promo layout is used only where it fits.
    """
    panel = renderer.models.get(model)
    if panel is None:
        raise LinkError(f"the label's hardware model {model!r} is not known here")
    name = REGULAR_TEMPLATE if template == AUTO_TEMPLATE else template
    if name not in renderer.templates:
        raise TemplateRefused(
            f"{template!r} is not a label template here; choose one of: "
            + ", ".join(sorted([*renderer.templates, AUTO_TEMPLATE]))
        )
    if renderer.fits(name, panel):
        return
    which = f"the {name} layout" + (" (which auto uses)" if name != template else "")
    fitting = templates_that_fit(renderer, model)
    choice = (
        f"choose one that does: {', '.join(fitting)}"
        if fitting
        else "no template here has a layout for it"
    )
    raise TemplateRefused(f"{which} does not fit {panel_words(panel)}; {choice}")


def templates_that_fit(renderer: LabelRenderer, model: str) -> list[str]:
    """The templates a label of `model` can be linked with: "auto" first, where it can be."""
    panel = renderer.models.get(model)
    if panel is None:
        return []
    names = [name for name in sorted(renderer.templates) if renderer.fits(name, panel)]
    return [AUTO_TEMPLATE, *names] if REGULAR_TEMPLATE in names else names


def panel_words(panel: HardwareModel) -> str:
    """ "a 1.54-inch label (152x152 pixels)": how the shelf knows a panel, by its size."""
    return f"a {panel.diagonal_in:g}-inch label ({panel.size_key} pixels)"
