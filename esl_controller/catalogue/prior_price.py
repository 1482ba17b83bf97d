"""The prior price of a reduction (EU 2019/2161, Article 6a of Directive 98/6/EC).

An announced price reduction must show the lowest price *applied* during the 30 days before
the reduction. Prices applied means every price a customer could pay in that window: the
price already in force when the window opened, every later change, and earlier promotions
that overlapped the window. When the history cannot prove what that lowest price was, the
answer is None with the reason; never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from esl_controller.catalogue.promotions import PromotionLike

WINDOW_DAYS = 30


class PricedAt(Protocol):
    """A price that took effect at a moment (`models.PriceHistory` has these attributes)."""

    price_minor: int
    effective_at: datetime


@dataclass(frozen=True)
class PricePoint:
    price_minor: int
    effective_at: datetime  # aware UTC, like every time in the controller


@dataclass(frozen=True)
class PriorPrice:
    lowest_minor: int | None  # None when the history cannot show it; `reason` says why
    reason: str | None = None
    # "no_history" | "short_history" | "new_product" when `lowest_minor` is None
    gap: str | None = None
    covered_days: int = 0  # whole days of the window the history covers
    window_days: int = WINDOW_DAYS


def prior_lowest_price(
    history: Sequence[PricedAt],
    reduction_start: datetime,
    window_days: int = WINDOW_DAYS,
    *,
    earlier_promotions: Iterable[PromotionLike] = (),
    on_sale_since: datetime | None = None,
) -> PriorPrice:
    """The lowest price applied in the `window_days` before `reduction_start`.

    `history` holds the regular prices with the moment each took effect; `earlier_promotions`
    are other promotions of the product (those that overlap the window count as applied).
    `on_sale_since`, when known, tells a new product from a short history.
    """
    if window_days <= 0:
        raise ValueError(f"window_days must be positive, got {window_days}")
    window_start = reduction_start - timedelta(days=window_days)
    before = sorted(
        (p for p in history if p.effective_at < reduction_start), key=lambda p: p.effective_at
    )
    gap = _coverage_gap(before, reduction_start, window_start, window_days, on_sale_since)
    if gap is not None:
        return gap
    in_force_at_start = [p for p in before if p.effective_at <= window_start][-1]
    changes = [p.price_minor for p in before if p.effective_at > window_start]
    promos = [
        promo.price_minor
        for promo in earlier_promotions
        if promo.starts_at < reduction_start and promo.ends_at > window_start
    ]
    lowest = min([in_force_at_start.price_minor, *changes, *promos])
    return PriorPrice(lowest, covered_days=window_days, window_days=window_days)


def _coverage_gap(
    before: Sequence[PricedAt],
    reduction_start: datetime,
    window_start: datetime,
    window_days: int,
    on_sale_since: datetime | None,
) -> PriorPrice | None:
    if on_sale_since is not None and on_sale_since > window_start:
        days = _whole_days(reduction_start - on_sale_since)
        return PriorPrice(
            None,
            f"product on sale for only {days} of the {window_days} days before the reduction",
            "new_product",
            days,
            window_days,
        )
    if not before:
        return PriorPrice(
            None, "no price history before the reduction", "no_history", 0, window_days
        )
    if before[0].effective_at > window_start:
        days = _whole_days(reduction_start - before[0].effective_at)
        return PriorPrice(
            None,
            f"price history covers only {days} of the {window_days} days before the reduction",
            "short_history",
            days,
            window_days,
        )
    return None


def _whole_days(span: timedelta) -> int:
    return max(0, span.days)


def is_reduction(price_minor: int, regular_minor: int, prior: PriorPrice) -> bool:
    """Whether `price_minor` may be announced as a reduction (EU C-330/23, Aldi Süd).

    It must be below the regular price and, when the 30-day prior price is known, below that
    too: a promotion priced at or above the lowest price of the window is no reduction and
    must not look like one. With the prior price unknown it stays a reduction of the regular
    price, and the label says the prior price is unknown instead of inventing one.
    """
    if price_minor >= regular_minor:
        return False
    return prior.lowest_minor is None or price_minor < prior.lowest_minor


class FakeDiscount(StrEnum):
    """What a store does with a promotion that is no reduction of the 30-day prior price."""

    PLAIN = "plain"  # charge it, show it as a plain price (no band, no struck price)
    REFUSE = "refuse"  # do not apply it: the label keeps the regular price


def reduction_start(promotion: PromotionLike, others: Iterable[PromotionLike]) -> datetime:
    """When the reduction that `promotion` belongs to began.

    A progressively increased reduction (each step priced at or below the one it follows,
    with no gap between them) is one reduction: every step is judged against the prior
    price of the first (Art. 6a(5)), not against the step before it.
    """
    steps = list(others)
    current = promotion
    seen: set[int] = {id(promotion)}
    while True:
        previous = [
            promo
            for promo in steps
            if id(promo) not in seen
            and promo.starts_at < current.starts_at <= promo.ends_at
            and promo.price_minor >= current.price_minor
        ]
        if not previous:
            return current.starts_at
        current = min(previous, key=lambda promo: promo.starts_at)
        seen.add(id(current))


def reduction_prior_price(
    promotion: PromotionLike,
    history: Sequence[PricedAt],
    promotions: Iterable[PromotionLike],
) -> PriorPrice:
    """The prior price `promotion` is announced against: that of its reduction's first step.

    The earlier steps of the same reduction are not prices the reduction is measured
    against; other promotions in the window are.
    """
    others = [promo for promo in promotions if promo is not promotion]
    start = reduction_start(promotion, others)
    earlier = [promo for promo in others if promo.starts_at < start]
    return prior_lowest_price(history, start, earlier_promotions=earlier)
