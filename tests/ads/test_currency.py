"""ISO 4217 minor units: amounts in and out of each currency's smallest unit, exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esl_controller.ads.currency import (
    MINOR_DIGITS,
    from_hundredths,
    minor_digits,
    to_major,
    to_minor,
)
from esl_controller.ads.impressions import spend_minor


@pytest.mark.parametrize(
    ("amount", "code", "minor"),
    [("500", "JPY", 500), ("4.50", "EUR", 450), ("1.234", "KWD", 1234), ("0.5", "BHD", 500)],
)
def test_amounts_become_minor_units_of_their_currency(amount, code, minor):
    assert to_minor(Decimal(amount), code) == minor
    assert to_major(minor, code) == Decimal(amount)


@pytest.mark.parametrize(("amount", "code"), [("4.50", "JPY"), ("1.2345", "KWD"), ("0.001", "EUR")])
def test_more_decimals_than_the_minor_unit_are_refused_not_rounded(amount, code):
    with pytest.raises(ValueError, match=f"{code} amounts have at most {minor_digits(code)}"):
        to_minor(Decimal(amount), code)


def test_major_amounts_print_with_the_currencys_decimals():
    assert str(to_major(1250, "RON")) == "12.50"
    assert str(to_major(500, "JPY")) == "500"
    assert str(to_major(1234, "KWD")) == "1.234"
    assert minor_digits("eur") == 2 and minor_digits("XYZ") == 2


def test_old_hundredths_convert_per_currency():
    assert from_hundredths(50_000, "JPY") == (500, True)  # was "500" JPY stored x100
    assert from_hundredths(450, "JPY") == (5, False)  # "4.50" JPY: half up, flagged inexact
    assert from_hundredths(12_340, "KWD") == (123_400, True)  # 123.4 KWD
    assert from_hundredths(1250, "EUR") == (1250, True)


def test_spend_is_in_the_currencys_minor_units():
    # 2,000 impressions at CPM 500 JPY cost 1,000 JPY; at CPM 1.234 KWD, 2.468 KWD
    assert spend_minor(2_000_000 * to_minor(Decimal("500"), "JPY")) == 1000
    assert spend_minor(2_000_000 * to_minor(Decimal("1.234"), "KWD")) == 2468


@given(
    st.sampled_from([*MINOR_DIGITS, "EUR", "RON", "USD"]),
    st.integers(min_value=0, max_value=10**12),
)
def test_minor_units_round_trip_through_major_amounts(code, minor):
    assert to_minor(to_major(minor, code), code) == minor
