from __future__ import annotations

import pytest

from esl_controller.catalogue.units import UnitPriceQuote, unit_price


@pytest.mark.parametrize(
    ("price", "quantity", "unit", "expected_minor", "per"),
    [
        (249, 500, "g", 498, "kg"),
        (1299, 2, "kg", 650, "kg"),  # 649.5 rounds half up
        (199, 330, "ml", 603, "l"),  # 603.03
        (3499, 75, "cl", 4665, "l"),  # 4665.33
        (899, 1.5, "l", 599, "l"),  # 599.33
        (799, 200, "cm", 400, "m"),  # 399.5 rounds half up
        (899, 30, "m", 30, "m"),  # 29.97
        (1499, 6, "piece", 250, "piece"),  # 249.83
        (100, 3, "piece", 33, "piece"),
        (250, 0.75, "l", 333, "l"),  # 333.33: str() keeps 0.75 exact
    ],
)
def test_unit_price(price: int, quantity: float, unit: str, expected_minor: int, per: str) -> None:
    assert unit_price(price, "RON", quantity, unit) == UnitPriceQuote(expected_minor, "RON", per)


def test_half_up_not_bankers_rounding() -> None:
    assert unit_price(5, "EUR", 2, "kg").minor == 3  # 2.5: banker's rounding would give 2
    assert unit_price(9, "EUR", 2, "kg").minor == 5  # 4.5: banker's would give 4


def test_no_float_noise() -> None:
    # 0.1 l as a float is 0.1000000000000000055...; the price must still be exactly 10 x.
    assert unit_price(35, "EUR", 0.1, "l").minor == 350


def test_units_are_case_insensitive() -> None:
    assert unit_price(249, "EUR", 500, " G ").per == "kg"
    assert unit_price(899, "EUR", 1, "L").per == "l"


def test_single_piece_and_unknown_quantity_have_no_unit_price() -> None:
    assert unit_price(199, "EUR", 1, "piece") is None
    assert unit_price(199, "EUR", None, "g") is None


def test_unknown_unit_is_named() -> None:
    with pytest.raises(ValueError, match="unknown unit 'lb'"):
        unit_price(199, "USD", 1, "lb")
    with pytest.raises(ValueError, match="unknown unit 'oz'"):
        unit_price(199, "USD", None, "oz")  # refused even without a quantity


@pytest.mark.parametrize("quantity", [0, -5, float("nan"), float("inf")])
def test_bad_quantity_is_refused(quantity: float) -> None:
    with pytest.raises(ValueError, match="net quantity must be a positive number"):
        unit_price(199, "EUR", quantity, "g")


def test_negative_price_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        unit_price(-1, "EUR", 500, "g")
