"""What the catalogue pages and API read: products with their price, stock, promotion and
labels; one product's 30-day history and prior price; promotions by month.

Every list is bounded (a page of products, a month of promotions) and every lookup goes
through an index: products by (store, name) or GTIN, labels, promotions and price history by
product. Per-row facts (label count, the promotion running, whether the price was typed by
a manager) are read for the page's products only, never for the whole catalogue.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from esl_controller.catalogue.gtin import InvalidGTIN, gtin_forms, gtin_key
from esl_controller.catalogue.prior_price import (
    WINDOW_DAYS,
    prior_lowest_price,
    reduction_prior_price,
    reduction_start,
)
from esl_controller.catalogue.promotions import active_promotion
from esl_controller.catalogue.stock import stock_level
from esl_controller.catalogue.units import unit_price
from esl_controller.labels.content import build_label_content
from esl_controller.models import Label, PriceHistory, Product, Promotion, Store
from esl_controller.web.queries import Page, _escape_like

MANUAL_SOURCE = "manual"
MAX_PAGE = 100
MAX_LABELS_SHOWN = 200
MAX_PROMOTIONS_PER_MONTH = 500


def aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def store_of(session: Session, store_id: str) -> Store:
    return session.get(Store, store_id) or Store(id=store_id, name=store_id)


def store_zone(store: Store) -> ZoneInfo:
    try:
        return ZoneInfo(store.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def find_product(session: Session, store_id: str, gtin: str) -> Product | None:
    """The store's product with this GTIN in any of its 8/12/13/14-digit forms."""
    try:
        forms = gtin_forms(gtin_key(gtin))
    except (InvalidGTIN, ValueError):
        return None
    return session.scalars(
        select(Product)
        .where(Product.store_id == store_id, Product.gtin.in_(forms))
        .order_by(Product.id)
        .limit(1)
    ).first()


# --- the products list ------------------------------------------------------------------


def search_products(
    session: Session, store_id: str, q: str | None, limit: int, offset: int, now: datetime
) -> Page:
    """A page of the store's products by name; `q` matches name, brand or the GTIN."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Product).where(Product.store_id == store_id)
    text = (q or "").strip()
    if text:
        pattern = f"%{_escape_like(text)}%"
        matches = [
            Product.name.ilike(pattern, escape="\\"),
            Product.brand.ilike(pattern, escape="\\"),
        ]
        if text.isdigit():
            matches.append(Product.gtin.like(f"{_escape_like(text)}%", escape="\\"))
        query = query.where(or_(*matches))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Product.name, Product.id).limit(limit).offset(offset))
    products = list(rows)
    facts = _page_facts(session, [p.id for p in products if p.id is not None], now)
    items = [product_row(product, facts, now) for product in products]
    return Page(items=items, total=total, limit=limit, offset=offset)


@dataclass
class _Facts:
    label_counts: dict[int, int]
    promotions: dict[int, list[Any]]
    latest_source: dict[int, str]


def _page_facts(session: Session, ids: Sequence[int], now: datetime) -> _Facts:
    if not ids:
        return _Facts({}, {}, {})
    counts = dict(
        session.execute(
            select(Label.product_id, func.count())
            .where(Label.product_id.in_(ids))
            .group_by(Label.product_id)
        ).all()
    )
    promotions: dict[int, list[Any]] = defaultdict(list)
    for promo in session.scalars(
        select(Promotion).where(
            Promotion.product_id.in_(ids), Promotion.starts_at <= now, Promotion.ends_at > now
        )
    ):
        promotions[promo.product_id].append(period_of(promo))
    return _Facts(counts, promotions, latest_price_sources(session, ids))


def latest_price_sources(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Who set each product's current price: the source of its newest history row.

    One index probe per product (price_history by product and time), never a scan."""
    newest = (
        select(PriceHistory.source)
        .where(PriceHistory.product_id == Product.id)
        .order_by(PriceHistory.effective_at.desc(), PriceHistory.id.desc())
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )
    rows = session.execute(select(Product.id, newest).where(Product.id.in_(ids)))
    return {product_id: source for product_id, source in rows if source is not None}


def product_row(product: Product, facts: _Facts, now: datetime) -> dict[str, Any]:
    promo = active_promotion(facts.promotions.get(product.id or 0, []), now)
    if promo is not None and promo.price_minor >= product.price_minor:
        promo = None  # no reduction: the label shows the regular price
    return {
        "gtin": product.gtin,
        "name": product.name,
        "brand": product.brand,
        "price_minor": product.price_minor,
        "currency": product.currency,
        "stock": product.stock,
        "stock_level": stock_level(product.stock, product.low_stock_threshold),
        "status": product.status,
        "promotion_price_minor": promo.price_minor if promo else None,
        "promotion_ends_at": aware(promo.ends_at).isoformat() if promo else None,
        "labels": facts.label_counts.get(product.id or 0, 0),
        "manual_price": facts.latest_source.get(product.id or 0) == MANUAL_SOURCE,
    }


# --- one product ------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorPriceView:
    """The prior price a promotion's label shows and why (EU 2019/2161, Art. 6a)."""

    promotion_price_minor: int
    reduction_start: datetime
    lowest_minor: int | None
    reason: str  # the rule and the date the lowest price applied, in plain words
    label_note: str | None  # what the label prints instead when the history is too short
    below_lowest: bool  # False: the "reduction" is not below the 30-day low


def product_detail(session: Session, store_id: str, gtin: str, now: datetime) -> dict | None:
    product = find_product(session, store_id, gtin)
    if product is None or product.id is None:
        return None
    store = store_of(session, store_id)
    history = [
        point_of(row)
        for row in session.scalars(
            select(PriceHistory)
            .where(PriceHistory.product_id == product.id)
            .order_by(PriceHistory.effective_at, PriceHistory.id)
        )
    ]
    promotions = [
        period_of(row)
        for row in session.scalars(
            select(Promotion)
            .where(
                Promotion.product_id == product.id,
                Promotion.ends_at > now - timedelta(days=2 * WINDOW_DAYS),
            )
            .order_by(Promotion.starts_at, Promotion.id)
        )
    ]
    facts = _Facts(
        {product.id: _label_count(session, product.id)},
        {product.id: list(promotions)},
        latest_price_sources(session, [product.id]),
    )
    row = product_row(product, facts, now)
    quote = unit_price(row["promotion_price_minor"] or product.price_minor, product.currency,
                       product.net_quantity, product.unit)  # fmt: skip
    content = build_label_content(product, store, history, promotions, now)
    return {
        **row,
        "net_quantity": product.net_quantity,
        "unit": product.unit,
        "restock_date": product.restock_date,
        "unit_price": quote,
        "history": [_history_point(point) for point in reversed(history[-50:])],
        "window": price_window(history, promotions, now),
        "promotions": [promotion_row(p, history, promotions) for p in reversed(promotions)],
        "prior": prior_price_view(history, promotions, now, content.promo),
        "labels": labels_of(session, product.id),
        "label_count": row["labels"],
        "timezone": store.timezone,
    }


@dataclass(frozen=True)
class PricePoint:
    """A price history row as plain data (aware UTC), safe to compare and never flushed."""

    price_minor: int
    effective_at: datetime
    source: str


@dataclass(frozen=True)
class PromotionPeriod:
    id: int | None
    price_minor: int
    starts_at: datetime
    ends_at: datetime
    source: str


def point_of(row: PriceHistory) -> PricePoint:
    return PricePoint(row.price_minor, aware(row.effective_at), row.source)


def period_of(row: Promotion) -> PromotionPeriod:
    return PromotionPeriod(
        row.id, row.price_minor, aware(row.starts_at), aware(row.ends_at), row.source
    )


def _label_count(session: Session, product_id: int) -> int:
    return session.scalar(select(func.count()).where(Label.product_id == product_id)) or 0


def _history_point(point: PricePoint) -> dict[str, Any]:
    return {
        "price_minor": point.price_minor,
        "effective_at": point.effective_at,
        "source": point.source,
    }


def labels_of(session: Session, product_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Label.id, Label.state, Label.template, Label.model, Label.last_error)
        .where(Label.product_id == product_id)
        .order_by(Label.id)
        .limit(MAX_LABELS_SHOWN)
    )
    return [dict(row._mapping) for row in rows]


def price_window(
    history: Sequence[PricePoint], promotions: Sequence[PromotionPeriod], now: datetime
) -> list[tuple[datetime, int]]:
    """The price a customer paid over the last 30 days, as (from, price) steps in order.

    The regular price in force when the window opened, each change since, and the
    promotions running inside it (the cheapest one while several overlap)."""
    start = now - timedelta(days=WINDOW_DAYS)
    moments = {start}
    moments.update(p.effective_at for p in history if start < p.effective_at <= now)
    for promo in promotions:
        for edge in (promo.starts_at, promo.ends_at):
            if start < edge <= now:
                moments.add(edge)
    steps: list[tuple[datetime, int]] = []
    for moment in sorted(moments):
        regular = [p.price_minor for p in history if p.effective_at <= moment]
        if not regular:
            continue
        price = regular[-1]
        promo = active_promotion(promotions, moment)
        if promo is not None and promo.price_minor < price:
            price = promo.price_minor
        if not steps or steps[-1][1] != price:
            steps.append((moment, price))
    return steps


def prior_price_view(
    history: Sequence[PricePoint],
    promotions: Sequence[PromotionPeriod],
    now: datetime,
    label_promo: Any,
) -> PriorPriceView | None:
    """For the promotion running now, else the next one: the prior price and its reason."""
    running = active_promotion(promotions, now)
    upcoming = [p for p in promotions if p.starts_at > now]
    promotion = running or (min(upcoming, key=lambda p: p.starts_at) if upcoming else None)
    if promotion is None:
        return None
    # a progressive reduction is judged from its first step, as the label judges it
    start = reduction_start(promotion, [p for p in promotions if p is not promotion])
    others = [p for p in promotions if p is not promotion and p.starts_at < start]
    prior = prior_lowest_price(history, start, earlier_promotions=others)
    if prior.lowest_minor is None:
        return PriorPriceView(
            promotion.price_minor,
            promotion.starts_at,
            None,
            f"No prior price: {prior.reason}.",
            label_promo.prior_note if label_promo and promotion is running else None,
            True,
        )
    return PriorPriceView(
        promotion.price_minor,
        promotion.starts_at,
        prior.lowest_minor,
        _lowest_reason(history, others, start, prior.lowest_minor),
        None,
        promotion.price_minor < prior.lowest_minor,
    )


def _lowest_reason(
    history: Sequence[PricePoint],
    others: Iterable[PromotionPeriod],
    reduction_start: datetime,
    lowest: int,
) -> str:
    """Which price in the window was the lowest, and since when (the rule's own inputs)."""
    window_start = reduction_start - timedelta(days=WINDOW_DAYS)
    rule = f"lowest price in the {WINDOW_DAYS} days before {reduction_start:%Y-%m-%d}"
    for promo in others:
        if (
            promo.price_minor == lowest
            and promo.starts_at < reduction_start
            and promo.ends_at > window_start
        ):
            return f"{rule}: an earlier promotion from {promo.starts_at:%Y-%m-%d} ({promo.source})"
    before = [p for p in history if p.effective_at < reduction_start]
    for point in reversed(before):
        if point.price_minor == lowest:
            since = max(point.effective_at, window_start)
            how = "in force when the window opened" if since == window_start else "set"
            return f"{rule}: the regular price {how} on {since:%Y-%m-%d} ({point.source})"
    return rule  # pragma: no cover - the lowest always comes from one of the inputs


# --- promotions -------------------------------------------------------------------------


def promotion_row(
    promo: PromotionPeriod, history: Sequence[PricePoint], promotions: Sequence[PromotionPeriod]
) -> dict[str, Any]:
    prior = reduction_prior_price(promo, history, promotions)
    return {
        "id": promo.id,
        "price_minor": promo.price_minor,
        "starts_at": promo.starts_at,
        "ends_at": promo.ends_at,
        "source": promo.source,
        "prior_lowest_minor": prior.lowest_minor,
        "not_below_low": prior.lowest_minor is not None and promo.price_minor >= prior.lowest_minor,
    }


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None, today: date) -> Month:
        """ "2026-12" -> Month(2026, 12); anything else is ValueError (None is this month)."""
        if not text:
            return cls(today.year, today.month)
        year, _, month = text.partition("-")
        if not (year.isdigit() and month.isdigit() and len(year) == 4 and 1 <= int(month) <= 12):
            raise ValueError(f"{text!r} is not a month like 2026-12")
        return cls(int(year), int(month))

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def shifted(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def promotions_in_month(session: Session, store_id: str, month: Month) -> dict[str, Any]:
    """The month's promotions (store-local days), each with its product, labels and flags,
    and a calendar of weeks whose days name the promotions running on them."""
    store = store_of(session, store_id)
    zone = store_zone(store)
    start = datetime.combine(month.first_day, time(), zone).astimezone(UTC)
    end = datetime.combine(month.last_day + timedelta(days=1), time(), zone).astimezone(UTC)
    rows = session.execute(
        select(Promotion, Product)
        .join(Product, Product.id == Promotion.product_id)
        .where(
            Product.store_id == store_id,
            Promotion.starts_at < end,
            Promotion.ends_at > start,
            Promotion.ends_at > Promotion.starts_at,  # a cancelled one that never ran
        )
        .order_by(Promotion.starts_at, Promotion.id)
        .limit(MAX_PROMOTIONS_PER_MONTH)
    ).all()
    product_ids = sorted({product.id for _, product in rows})
    since = min((aware(promo.starts_at) for promo, _ in rows), default=start)
    history, all_promos = _rule_inputs(session, product_ids, since)
    labels = _labels_by_product(session, product_ids)
    items = []
    for row_promo, product in rows:
        promo = next(p for p in all_promos[product.id] if p.id == row_promo.id)
        row = promotion_row(promo, history[product.id], all_promos[product.id])
        first_day = promo.starts_at.astimezone(zone).date()
        last_day = (promo.ends_at - timedelta(microseconds=1)).astimezone(zone).date()
        items.append(
            {
                **row,
                "gtin": product.gtin,
                "name": product.name,
                "currency": product.currency,
                "regular_minor": product.price_minor,
                "not_a_reduction": promo.price_minor >= product.price_minor,
                "first_day": first_day,
                "last_day": last_day,
                "labels": labels.get(product.id, []),
            }
        )
    return {
        "month": month,
        "timezone": store.timezone,
        "promotions": items,
        "weeks": _calendar(month, items),
        "truncated": len(rows) >= MAX_PROMOTIONS_PER_MONTH,
    }


def _rule_inputs(
    session: Session, product_ids: Sequence[int], since: datetime
) -> tuple[dict[int, list[PricePoint]], dict[int, list[PromotionPeriod]]]:
    """The 30-day rule's inputs for promotions starting at `since` or later: each product's
    price changes after `since` minus the window, and the one in force at that moment (so
    a long history is not read in full, and the rule still sees the price at every window's
    opening)."""
    history: dict[int, list[PricePoint]] = defaultdict(list)
    promotions: dict[int, list[PromotionPeriod]] = defaultdict(list)
    if not product_ids:
        return history, promotions
    cutoff = since - timedelta(days=WINDOW_DAYS)
    earlier = aliased(PriceHistory)
    in_force_at_cutoff = (
        select(earlier.id)
        .where(earlier.product_id == PriceHistory.product_id, earlier.effective_at <= cutoff)
        .order_by(earlier.effective_at.desc(), earlier.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # Plain rows, not ORM objects: a month of promotions may still need thousands.
    for product_id, price_minor, effective_at, source in session.execute(
        select(
            PriceHistory.product_id,
            PriceHistory.price_minor,
            PriceHistory.effective_at,
            PriceHistory.source,
        )
        .where(
            PriceHistory.product_id.in_(product_ids),
            or_(PriceHistory.effective_at > cutoff, PriceHistory.id == in_force_at_cutoff),
        )
        .order_by(PriceHistory.effective_at, PriceHistory.id)
    ):
        history[product_id].append(PricePoint(price_minor, aware(effective_at), source))
    for promo in session.scalars(select(Promotion).where(Promotion.product_id.in_(product_ids))):
        promotions[promo.product_id].append(period_of(promo))
    return history, promotions


def _labels_by_product(session: Session, product_ids: Sequence[int]) -> dict[int, list[dict]]:
    result: dict[int, list[dict]] = defaultdict(list)
    if not product_ids:
        return result
    for row in session.execute(
        select(Label.product_id, Label.id, Label.state)
        .where(Label.product_id.in_(product_ids))
        .order_by(Label.id)
    ):
        if len(result[row.product_id]) < MAX_LABELS_SHOWN:
            result[row.product_id].append({"id": row.id, "state": row.state})
    return result


def _calendar(month: Month, items: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Weeks (Monday first) of day cells: the date, whether it is in the month, and the
    promotions running on it."""
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        weeks.append(
            [
                {
                    "day": day,
                    "in_month": day.month == month.month,
                    "promotions": [
                        item for item in items if item["first_day"] <= day <= item["last_day"]
                    ]
                    if day.month == month.month
                    else [],
                }
                for day in week
            ]
        )
    return weeks
