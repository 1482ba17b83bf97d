from __future__ import annotations

from datetime import UTC, datetime, timedelta

from esl_controller.catalogue.promotions import PromoPeriod, active_promotion, is_active

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def period(price: int, start_days: float, end_days: float) -> PromoPeriod:
    return PromoPeriod(price, NOW + timedelta(days=start_days), NOW + timedelta(days=end_days))


def test_start_is_inclusive_and_end_exclusive() -> None:
    assert is_active(PromoPeriod(100, NOW, NOW + timedelta(days=1)), NOW)
    assert not is_active(PromoPeriod(100, NOW - timedelta(days=1), NOW), NOW)


def test_no_promotion_outside_every_period() -> None:
    assert active_promotion([period(100, 1, 5), period(90, -9, -2)], NOW) is None
    assert active_promotion([], NOW) is None


def test_cheapest_of_overlapping_promotions_wins() -> None:
    cheap, dear = period(79, -2, 3), period(89, -5, 5)
    assert active_promotion([dear, cheap], NOW) is cheap
    assert active_promotion([cheap, dear], NOW) is cheap


def test_tie_goes_to_the_earlier_start_whatever_the_order() -> None:
    first, second = period(79, -5, 3), period(79, -1, 3)
    assert active_promotion([second, first], NOW) is first
    assert active_promotion([first, second], NOW) is first
