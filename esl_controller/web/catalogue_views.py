"""The catalogue pages: products with search, one product (price history, prior price,
labels, manual price and promotion forms), and promotions as a list and a month calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import NotFound

from esl_controller.catalogue.manual_prices import (
    ManualPriceRefused,
    check_reason,
    parse_amount,
)
from esl_controller.catalogue.prior_price import WINDOW_DAYS
from esl_controller.clock import utcnow
from esl_controller.web import catalogue_queries
from esl_controller.web.auth import login_required
from esl_controller.web.catalogue_actions import set_manual_price, set_manual_promotion
from esl_controller.web.catalogue_queries import aware
from esl_controller.web.database import get_session
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.i18n import ngettext_
from esl_controller.web.price_chart import step_chart
from esl_controller.web.revenue_views import format_money
from esl_controller.web.store_scope import current_store_id, store_settings

PRODUCTS_PER_PAGE = 50
MAX_QUERY_LENGTH = 100

bp = Blueprint("catalogue", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(store_time, "store_time")


def store_time(moment: datetime | None, timezone: str) -> str:
    """A stored (UTC) moment as the store's clock shows it; the page names the zone."""
    if moment is None:
        return "never"
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return aware(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _offset() -> int:
    text = request.args.get("offset", "0")
    return min(int(text), 10_000_000) if text.isdigit() else 0


@bp.get("/products")
@login_required
def products() -> str:
    q = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    page = catalogue_queries.search_products(
        get_session(), current_store_id(), q, PRODUCTS_PER_PAGE, _offset(), utcnow()
    )
    return render_template("products.html", page=page, q=q)


@bp.get("/products/<gtin>")
@login_required
def product(gtin: str) -> Any:
    return _product_page(gtin)


def _product_page(
    gtin: str,
    refused_form: str = "",
    typed: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
) -> Any:
    """The product's page; after a refusal, `refused_form` ("price" or "promotion") shows
    what was typed and what is wrong, with status 400."""
    now = utcnow()
    detail = catalogue_queries.product_detail(get_session(), current_store_id(), gtin, now)
    if detail is None:
        raise NotFound(f"There is no product with GTIN {gtin!r} in this store.")
    currency = detail["currency"]
    chart = step_chart(
        detail["window"],
        now - timedelta(days=WINDOW_DAYS),
        now,
        lambda minor: format_money(minor, currency),
    )
    html = render_template(
        "product.html",
        product=detail,
        chart=chart,
        typed=typed or {},
        problems=problems or {},
        form=refused_form,
    )
    return html, 400 if refused_form else 200


@bp.post("/products/<gtin>/manual-price")
@login_required
def manual_price(gtin: str) -> Any:
    typed = {key: request.form.get(key, "") for key in ("price", "reason")}
    session = get_session()
    product = catalogue_queries.find_product(session, current_store_id(), gtin)
    if product is None:
        raise NotFound(f"There is no product with GTIN {gtin!r} in this store.")
    problems: dict[str, str] = {}
    try:
        price_minor = parse_amount(typed["price"], product.currency)
    except ValueError as exc:
        price_minor = None
        problems["price"] = str(exc)
    try:
        if price_minor is None:
            try:
                check_reason(typed["reason"])
            except ValueError as exc:
                problems["reason"] = str(exc)
            raise ManualPriceRefused(problems)
        outcome = set_manual_price(
            session,
            current_app.extensions["esl"].engine,
            store_settings(),
            gtin,
            price_minor,
            typed["reason"],
            current_user.username,
        )
    except ManualPriceRefused as refused:
        problems = {**refused.problems, **problems}
        session.rollback()
        flash(_("The price was not changed: see the form below."), "error")
        return _product_page(gtin, "price", typed, problems)
    flash(
        _("Manual price %(price)s set; %(labels)s")
        % {
            "price": format_money(outcome.product.price_minor, outcome.product.currency),
            "labels": _labels_text(outcome),
        },
        "success",
    )
    return redirect(url_for("catalogue.product", gtin=outcome.product.gtin))


@bp.post("/products/<gtin>/manual-promotion")
@login_required
def manual_promotion(gtin: str) -> Any:
    typed = {key: request.form.get(key, "") for key in ("price", "starts", "ends", "reason")}
    session = get_session()
    product = catalogue_queries.find_product(session, current_store_id(), gtin)
    if product is None:
        raise NotFound(f"There is no product with GTIN {gtin!r} in this store.")
    problems: dict[str, str] = {}
    price_minor: int | None = None  # a field that does not parse is refused as missing
    try:
        price_minor = parse_amount(typed["price"], product.currency)
    except ValueError as exc:
        problems["price"] = str(exc)
    first_day = _typed_date(typed["starts"], "starts", "first", problems)
    last_day = _typed_date(typed["ends"], "ends", "last", problems)
    try:
        outcome = set_manual_promotion(
            session,
            current_app.extensions["esl"].engine,
            store_settings(),
            gtin,
            price_minor,
            first_day,
            last_day,
            typed["reason"],
            current_user.username,
        )
    except ManualPriceRefused as refused:
        session.rollback()
        flash(_("The promotion was not added: see the form below."), "error")
        return _product_page(gtin, "promotion", typed, {**refused.problems, **problems})
    flash(_("Manual promotion added; %(labels)s") % {"labels": _labels_text(outcome)}, "success")
    return redirect(url_for("catalogue.product", gtin=outcome.product.gtin))


def _typed_date(text: str, field: str, which: str, problems: dict[str, str]) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        problems[field] = f"The {which} day is not a date like 2026-12-24."
        return None


def _labels_text(outcome: Any) -> str:
    if not outcome.labels_total:
        return _("the product has no labels to update.")
    if outcome.refresh_error:
        return ngettext_(
            "its %(num)s label could not be queued now (%(reason)s); "
            "re-push it from its label page.",
            "its %(num)s labels could not be queued now (%(reason)s); "
            "re-push them from their label pages.",
            outcome.labels_total,
        ) % {"num": outcome.labels_total, "reason": outcome.refresh_error}
    return ngettext_(
        "%(queued)s of its %(num)s label queued for an update.",
        "%(queued)s of its %(num)s labels queued for an update.",
        outcome.labels_total,
    ) % {"queued": outcome.labels_queued, "num": outcome.labels_total}


@bp.get("/promotions")
@login_required
def promotions() -> str:
    today = utcnow().date()
    try:
        month = catalogue_queries.Month.parse(request.args.get("month"), today)
    except ValueError as exc:
        flash(_("Ignored the month: %(reason)s") % {"reason": exc}, "error")
        month = catalogue_queries.Month.parse(None, today)
    view = catalogue_queries.promotions_in_month(get_session(), current_store_id(), month)
    return render_template("promotions.html", view=view)
