"""The catalogue pages judge a progressive reduction as the label does: from its first step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from esl_controller.web.catalogue_queries import (
    PricePoint,
    PromotionPeriod,
    prior_price_view,
    promotion_row,
)

NOW = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)


def days(n: float) -> datetime:
    return NOW + timedelta(days=n)


HISTORY = [PricePoint(1000, days(-365), "erp")]
STEPS = [
    PromotionPeriod(1, 900, days(-14), days(-7), "erp"),
    PromotionPeriod(2, 800, days(-7), days(-1), "erp"),
    PromotionPeriod(3, 800, days(-1), days(6), "erp"),
]


def test_a_later_step_is_not_flagged_as_below_the_30_day_low() -> None:
    rows = [promotion_row(step, HISTORY, STEPS) for step in STEPS]
    assert [row["prior_lowest_minor"] for row in rows] == [1000, 1000, 1000]
    assert not any(row["not_below_low"] for row in rows)


def test_the_product_page_shows_the_prior_price_of_the_first_step() -> None:
    view = prior_price_view(HISTORY, STEPS, NOW, None)
    assert view is not None
    assert view.lowest_minor == 1000
    assert view.below_lowest
    assert view.reduction_start == days(-1)  # the running step's own start
    assert "before 2025-02-28" in view.reason  # the window before the first step
