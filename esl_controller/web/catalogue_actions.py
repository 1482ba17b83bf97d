"""A manager's manual price or promotion, for when the ERP is down.

Each is one transaction: the catalogue row, a `PriceHistory` row (source "manual", so the
30-day prior-price rule sees the price like any other) or a manual `Promotion`, and the
audit entry with before and after. Then the product's labels are brought up to date through
the shelf refresher (`esl.shelf_refresher`), the one path every label refresh takes, at
manager priority.

What the ERP does afterwards: it wins the next time it sends the product. An incremental
sync sends a product when it changed in the ERP; a full sync sends every product, and a
price that differs from the manual one is applied (and recorded in the history) like any
ERP change. Manual promotions have no ERP id, so no sync ends or alters them; they run to
their last day. The manual entries stay in the history and the audit trail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import audit
from esl_controller.catalogue.manual_prices import check_manual_price, check_manual_promotion
from esl_controller.catalogue.promotions import active_promotion
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.esl.outbox import Priority
from esl_controller.esl.refresh import RefreshReport
from esl_controller.esl.shelf_refresher import ShelfRefresher, labels_of_products
from esl_controller.labels.render_pool import RenderPool
from esl_controller.models import PriceHistory, Product, Promotion
from esl_controller.web.catalogue_queries import (
    MANUAL_SOURCE,
    PromotionPeriod,
    find_product,
    period_of,
    store_of,
    store_zone,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManualOutcome:
    product: Product
    labels_queued: int
    labels_total: int
    refresh_error: str | None = None  # set when the labels could not be queued now


def _product(session: Session, settings: Settings, gtin: str) -> Product:
    product = find_product(session, settings.store_id, gtin)
    if product is None or product.id is None:
        raise LookupError(f"There is no product with GTIN {gtin} in this store.")
    return product


def set_manual_price(
    session: Session,
    engine: Engine,
    settings: Settings,
    gtin: str,
    price_minor: int,
    reason: str,
    actor: str,
) -> ManualOutcome:
    """Set the product's regular price now; ManualPriceRefused (nothing written) when the
    price or the reason cannot be accepted, LookupError for an unknown product."""
    product = _product(session, settings, gtin)
    price_minor, reason = check_manual_price(price_minor, product.currency, reason)
    now = utcnow()
    before = product.price_minor
    product.price_minor = price_minor
    product.updated_at = now
    session.add(product)
    session.add(
        PriceHistory(
            product_id=product.id, price_minor=price_minor, effective_at=now, source=MANUAL_SOURCE
        )
    )
    audit.record(
        session,
        actor=actor,
        action="price.manual",
        target=f"product:{product.gtin}",
        store_id=product.store_id,
        detail={
            "before": before,
            "after": price_minor,
            "currency": product.currency,
            "reason": reason,
        },
        at=now,
    )
    session.commit()
    return _refreshed(engine, settings, product)


def set_manual_promotion(
    session: Session,
    engine: Engine,
    settings: Settings,
    gtin: str,
    price_minor: int | None,
    first_day: date | None,
    last_day: date | None,
    reason: str,
    actor: str,
) -> ManualOutcome:
    """Add a promotion over whole store-local days; ManualPriceRefused (nothing written)
    naming each field that cannot be accepted, LookupError for an unknown product."""
    product = _product(session, settings, gtin)
    zone = store_zone(store_of(session, settings.store_id))
    now = utcnow()
    terms, reason = check_manual_promotion(
        price_minor,
        product.price_minor,
        product.currency,
        first_day,
        last_day,
        now.astimezone(zone).date(),
        reason,
    )
    day_start = datetime.combine(terms.first_day, time(), zone).astimezone(UTC)
    starts_at = max(day_start, now)  # today's promotion starts now: the shelf never had it
    ends_at = datetime.combine(terms.last_day + timedelta(days=1), time(), zone).astimezone(UTC)
    running = active_promotion(
        [
            period_of(row)
            for row in session.scalars(select(Promotion).where(Promotion.product_id == product.id))
        ],
        now,
    )
    session.add(
        Promotion(
            product_id=product.id,
            price_minor=terms.price_minor,
            starts_at=starts_at,
            ends_at=ends_at,
            source=MANUAL_SOURCE,
        )
    )
    product.updated_at = now
    session.add(product)
    audit.record(
        session,
        actor=actor,
        action="promotion.manual",
        target=f"product:{product.gtin}",
        store_id=product.store_id,
        detail={
            "before": _promotion_detail(running),
            "after": {
                "price_minor": terms.price_minor,
                "first_day": terms.first_day.isoformat(),
                "last_day": terms.last_day.isoformat(),
            },
            "regular_minor": product.price_minor,
            "currency": product.currency,
            "reason": reason,
        },
        at=now,
    )
    session.commit()
    return _refreshed(engine, settings, product)


def _promotion_detail(promotion: PromotionPeriod | None) -> dict[str, object] | None:
    if promotion is None:
        return None
    return {
        "price_minor": promotion.price_minor,
        "starts_at": promotion.starts_at.isoformat(),
        "ends_at": promotion.ends_at.isoformat(),
        "source": promotion.source,
    }


def _refreshed(engine: Engine, settings: Settings, product: Product) -> ManualOutcome:
    assert product.id is not None
    label_ids = labels_of_products(engine, [product.id], settings.store_id)
    report = RefreshReport()
    if not label_ids:
        return ManualOutcome(product, 0, 0)
    try:
        # One product has a handful of labels: rendered here, in-process, like a re-push.
        with RenderPool.in_process(settings.templates_dir) as pool:
            shelf = ShelfRefresher.for_store(engine, pool, settings)
            report = shelf.refresh(partial(shelf.products, [product.id], priority=Priority.MANAGER))
    except Exception as exc:  # the price is committed; the labels can be re-pushed
        log.exception("manual price of %s: labels not queued", product.gtin)
        return ManualOutcome(product, 0, len(label_ids), f"{type(exc).__name__}: {exc}")
    return ManualOutcome(product, report.queued, len(label_ids))
