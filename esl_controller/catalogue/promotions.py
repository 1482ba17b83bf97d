"""Which promotion applies at a given moment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar


class PromotionLike(Protocol):
    """What the rules need from a promotion (`models.Promotion` has it)."""

    price_minor: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class PromoPeriod:
    """A promotion as plain data: `price_minor` applies from `starts_at` until `ends_at`."""

    price_minor: int
    starts_at: datetime
    ends_at: datetime


P = TypeVar("P", bound=PromotionLike)


def is_active(promotion: PromotionLike, now: datetime) -> bool:
    return promotion.starts_at <= now < promotion.ends_at


def active_promotion(promotions: Iterable[P], now: datetime) -> P | None:
    """The promotion in force at `now`: the cheapest when several overlap.

    Ties go to the one that started first, so the choice never depends on input order.
    """
    active = [promo for promo in promotions if is_active(promo, now)]
    if not active:
        return None
    return min(active, key=lambda promo: (promo.price_minor, promo.starts_at, promo.ends_at))
