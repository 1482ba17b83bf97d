"""The shelf page: a staff member on the shop floor links a label to a product by phone.

Scan (or type) the label's code, then the product's EAN-13, and confirm. The page is a
plain form that works without script; web/static/shelf.js adds the camera wherever the
browser may open one, decoding with the browser's barcode detector or, lacking it, the
vendored ZXing decoder. A label that shows another product is moved only after
the person confirms.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user

from esl_controller.esl import label_links
from esl_controller.models import Product
from esl_controller.web.auth import login_required
from esl_controller.web.database import get_session
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.store_scope import store_settings

bp = Blueprint("shelf", __name__, url_prefix="/shelf")
MAX_CODE_LENGTH = 64


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("")
@login_required
def page() -> str:
    label_id = request.args.get("label", "").strip()[:MAX_CODE_LENGTH]
    return render_template("shelf.html", label_id=label_id, gtin="", error=None, confirm=None)


@bp.post("")
@login_required
def link() -> Any:
    label_id = request.form.get("label", "").strip()[:MAX_CODE_LENGTH]
    gtin = request.form.get("gtin", "").strip()[:MAX_CODE_LENGTH]
    relink = request.form.get("relink") == "1"
    template = request.form.get("template", "").strip()[:MAX_CODE_LENGTH] or None
    back_to_label = request.form.get("back") == "label"
    if not label_id or not gtin:
        return _again(
            label_id, gtin, _("Scan or type both the label's code and the product's barcode.")
        )
    session = get_session()
    try:
        label = label_links.link_label(
            session,
            store_settings(),
            label_id,
            gtin,
            template,
            actor=current_user.username,
            relink=relink,
        )
    except LookupError:
        session.rollback()
        return _again(
            "",
            gtin,
            _(
                "Label %(label)s is not known here: no base station has reported it yet. "
                "Check the code, or wait until the label has been heard."
            )
            % {"label": label_id},
            status=404,
        )
    except label_links.AlreadyLinked as exc:
        session.rollback()
        return _again(label_id, gtin, None, confirm=str(exc), status=409)
    except label_links.TemplateRefused as exc:
        session.rollback()
        return _again(label_id, gtin, f"{exc}.", status=422)
    except label_links.LinkError as exc:
        session.rollback()
        return _again(label_id, "", f"{exc}.", status=422)
    product = session.get(Product, label.product_id)
    assert product is not None  # just linked, in this transaction
    flash(
        _("Label %(label)s now shows %(product)s (%(gtin)s); it changes at its next update.")
        % {"label": label.id, "product": product.name, "gtin": product.gtin},
        "success",
    )
    if back_to_label:
        return redirect(url_for("dashboard.label", label_id=label.id))
    return redirect(url_for("shelf.page"))


@bp.post("/<label_id>/unlink")
@login_required
def unlink(label_id: str) -> Any:
    try:
        label_links.unlink_label(
            get_session(), store_settings(), label_id, actor=current_user.username
        )
    except LookupError as exc:
        flash(str(exc.args[0]), "error")
        return redirect(url_for("dashboard.labels"))
    flash(
        _("Label %(label)s unlinked: it no longer shows a product.") % {"label": label_id},
        "success",
    )
    return redirect(url_for("dashboard.label", label_id=label_id))


def _again(
    label_id: str, gtin: str, error: str | None, confirm: str | None = None, status: int = 422
) -> tuple[str, int]:
    return (
        render_template("shelf.html", label_id=label_id, gtin=gtin, error=error, confirm=confirm),
        status,
    )
