from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esl_controller.catalogue.prior_price import PricePoint, PriorPrice, prior_lowest_price
from esl_controller.catalogue.promotions import PromoPeriod

START = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)  # the reduction starts here
WINDOW_START = START - timedelta(days=30)


def at(days_before: float) -> datetime:
    return START - timedelta(days=days_before)


def point(price: int, days_before: float) -> PricePoint:
    return PricePoint(price, at(days_before))


def test_price_in_force_at_window_start_counts() -> None:
    prior = prior_lowest_price([point(899, 90), point(999, 10)], START)
    assert prior == PriorPrice(899, covered_days=30, window_days=30)


def test_price_change_inside_window_counts() -> None:
    prior = prior_lowest_price([point(999, 90), point(849, 20), point(949, 5)], START)
    assert prior.lowest_minor == 849


def test_price_replaced_before_window_does_not_count() -> None:
    prior = prior_lowest_price([point(499, 90), point(999, 45), point(1099, 10)], START)
    assert prior.lowest_minor == 999


def test_price_replaced_exactly_at_window_start_does_not_count() -> None:
    # 499 stopped applying at the first instant of the window: it was never applied inside.
    prior = prior_lowest_price([point(499, 60), point(999, 30)], START)
    assert prior.lowest_minor == 999


def test_change_just_after_window_start_keeps_the_earlier_price() -> None:
    later = PricePoint(999, WINDOW_START + timedelta(seconds=1))
    prior = prior_lowest_price([point(499, 60), later], START)
    assert prior.lowest_minor == 499  # 499 applied for the window's first second


def test_history_starting_exactly_at_window_start_covers_it() -> None:
    prior = prior_lowest_price([point(799, 30)], START)
    assert prior.lowest_minor == 799
    assert prior.reason is None


def test_history_starting_a_second_inside_the_window_does_not() -> None:
    prior = prior_lowest_price([PricePoint(799, WINDOW_START + timedelta(seconds=1))], START)
    assert prior.lowest_minor is None
    assert prior.gap == "short_history"
    assert prior.reason == "price history covers only 29 of the 30 days before the reduction"


def test_reduction_price_and_later_prices_do_not_count() -> None:
    history = [point(999, 60), PricePoint(499, START), PricePoint(399, START + timedelta(days=2))]
    assert prior_lowest_price(history, START).lowest_minor == 999


def test_earlier_cheaper_promo_point_in_history_counts_as_applied() -> None:
    # A promotion recorded in history as a dip: 699 applied for a week inside the window.
    history = [point(999, 60), point(699, 20), point(999, 13)]
    assert prior_lowest_price(history, START).lowest_minor == 699


def test_earlier_cheaper_promotion_overlapping_window_counts() -> None:
    earlier = PromoPeriod(649, at(40), at(29))  # ended one day into the window
    prior = prior_lowest_price([point(999, 60)], START, earlier_promotions=[earlier])
    assert prior.lowest_minor == 649


def test_promotion_that_ended_before_window_or_starts_with_reduction_does_not_count() -> None:
    ended = PromoPeriod(549, at(45), at(30))  # ended exactly as the window opened
    same_time = PromoPeriod(499, START, START + timedelta(days=7))
    prior = prior_lowest_price([point(999, 60)], START, earlier_promotions=[ended, same_time])
    assert prior.lowest_minor == 999


def test_unsorted_history_is_fine() -> None:
    history = [point(949, 5), point(999, 90), point(849, 20)]
    assert prior_lowest_price(history, START).lowest_minor == 849


def test_short_history_gives_none_with_reason() -> None:
    prior = prior_lowest_price([point(999, 12.5), point(899, 3)], START)
    assert prior.lowest_minor is None
    assert prior.covered_days == 12
    assert prior.reason == "price history covers only 12 of the 30 days before the reduction"


def test_no_history_before_reduction() -> None:
    prior = prior_lowest_price([PricePoint(999, START + timedelta(hours=1))], START)
    assert prior == PriorPrice(None, "no price history before the reduction", "no_history", 0, 30)


def test_new_product_says_so() -> None:
    history = [point(999, 12)]
    prior = prior_lowest_price(history, START, on_sale_since=at(12))
    assert prior.gap == "new_product"
    assert prior.reason == "product on sale for only 12 of the 30 days before the reduction"


def test_product_on_sale_longer_than_window_uses_history() -> None:
    prior = prior_lowest_price([point(999, 40)], START, on_sale_since=at(400))
    assert prior.lowest_minor == 999


def test_custom_window() -> None:
    history = [point(499, 20), point(999, 5)]
    assert prior_lowest_price(history, START, window_days=7).lowest_minor == 499
    assert prior_lowest_price(history, START, window_days=3).lowest_minor == 999
    assert prior_lowest_price(history, START, window_days=30).gap == "short_history"


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window_days must be positive, got 0"):
        prior_lowest_price([point(999, 40)], START, window_days=0)
