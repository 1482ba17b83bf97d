"""The rules for a price or promotion a manager types while the ERP is down."""

from __future__ import annotations

from datetime import date

import pytest

from esl_controller.catalogue.manual_prices import (
    ManualPriceRefused,
    check_manual_price,
    check_manual_promotion,
    parse_amount,
)

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [("12.49", "RON", 1249), ("12,49", "EUR", 1249), (" 7 ", "PLN", 700), ("0.5", "GBP", 50)],
)
def test_typed_amounts_become_minor_units(typed, currency, minor):
    assert parse_amount(typed, currency) == minor


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter a price"),
        ("-3", "cannot be negative"),
        ("12.499", "at most 2 digits after the point"),
        ("123456789", "too many digits"),
        ("12 lei", "as a number"),
        ("1e3", "as a number"),
    ],
)
def test_amounts_that_are_not_prices_are_refused_in_words(typed, says):
    with pytest.raises(ValueError, match=says):
        parse_amount(typed, "RON")


def test_a_zero_price_and_a_missing_reason_are_both_named():
    with pytest.raises(ManualPriceRefused) as refused:
        check_manual_price(0, "RON", "   ")
    assert refused.value.problems == {
        "price": "A price must be more than zero.",
        "reason": "Say why (for example: ERP down, price from head office by phone).",
    }


def test_a_good_manual_price_keeps_a_tidied_reason():
    assert check_manual_price(1999, "RON", "  ERP  down ") == (1999, "ERP down")


def test_a_promotion_above_the_regular_price_ending_before_it_starts_is_refused():
    with pytest.raises(ManualPriceRefused) as refused:
        check_manual_promotion(
            2600, 2499, "RON", date(2026, 12, 10), date(2026, 12, 5), TODAY, "weekend offer"
        )
    assert refused.value.problems == {
        "price": "A promotion price must be below the regular price.",
        "ends": "The last day is before the first day.",
    }


def test_a_promotion_cannot_start_in_the_past_nor_run_over_a_year():
    with pytest.raises(ManualPriceRefused) as refused:
        check_manual_promotion(
            1999, 2499, "RON", date(2026, 12, 1), date(2028, 1, 1), TODAY, "offer"
        )
    assert set(refused.value.problems) == {"starts", "ends"}


def test_a_good_promotion_comes_back_as_terms():
    terms, reason = check_manual_promotion(
        1999, 2499, "RON", TODAY, date(2026, 12, 24), TODAY, "ERP down"
    )
    assert (terms.price_minor, terms.first_day, terms.last_day) == (1999, TODAY, date(2026, 12, 24))
    assert reason == "ERP down"
