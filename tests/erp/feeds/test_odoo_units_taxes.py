"""Odoo units and sale taxes: the pure modules the feed prices with."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esl_controller.erp.feeds.odoo.taxes import SaleTax, TaxRefused, with_taxes
from esl_controller.erp.feeds.odoo.units import (
    OdooUnit,
    RelativeUnit,
    UnitRefused,
    shelf_unit,
    shelf_unit_relative,
)

XML_IDS = {
    1: "uom.product_uom_categ_kgm",
    2: "uom.product_uom_categ_vol",
    3: "uom.uom_categ_length",
    4: "uom.product_uom_categ_unit",
    5: "custom.boxes",
}


@pytest.mark.parametrize(
    ("category", "factor", "quantity", "unit"),
    [
        (1, 1, "1", "kg"),
        (1, 1000, "0.001", "kg"),
        (1, 0.001, "1000", "kg"),
        (2, 1000, "0.001", "l"),
        (3, 100, "0.01", "m"),
        (4, 1, "1", "piece"),
        (4, 1 / 12, "12", "piece"),
    ],
)
def test_a_unit_is_its_share_of_the_category_reference(category, factor, quantity, unit) -> None:
    shelf = shelf_unit(OdooUnit(9, category, Decimal(str(factor)), "smaller"), XML_IDS)
    assert (format(shelf.net_quantity, "f"), shelf.unit) == (quantity, unit)


def test_a_custom_category_is_refused_with_its_name() -> None:
    with pytest.raises(UnitRefused, match=r"category custom\.boxes, not a weight"):
        shelf_unit(OdooUnit(9, 5, Decimal(1), "reference"), XML_IDS)
    with pytest.raises(UnitRefused, match="category id 77"):
        shelf_unit(OdooUnit(9, 77, Decimal(1), "reference"), XML_IDS)
    with pytest.raises(UnitRefused, match="factor 0"):
        shelf_unit(OdooUnit(9, 1, Decimal(0), "reference"), XML_IDS)


def test_taxes_included_stay_and_others_are_added() -> None:
    vat = SaleTax(1, "percent", Decimal(19), False)
    included = SaleTax(2, "percent", Decimal(9), True)
    eco = SaleTax(3, "fixed", Decimal("0.50"), False)
    assert with_taxes(Decimal(10), [included]) == Decimal(10)
    assert with_taxes(Decimal(10), [vat, eco]) == Decimal("12.40")
    assert with_taxes(Decimal(10), [SaleTax(4, "division", Decimal(20), False)]) == Decimal("12.5")
    with pytest.raises(TaxRefused, match="'group' is not supported"):
        with_taxes(Decimal(10), [SaleTax(5, "group", Decimal(0), False)])


@given(
    price=st.decimals(min_value=Decimal(0), max_value=Decimal(10_000), places=2),
    rate=st.decimals(min_value=Decimal(0), max_value=Decimal(50), places=2),
)
def test_an_excluded_percent_tax_is_rate_times_price(price, rate) -> None:
    taxed = with_taxes(price, [SaleTax(1, "percent", rate, False)])
    assert taxed - price == price * rate / 100
    assert with_taxes(price, [SaleTax(1, "percent", rate, True)]) == price


# Odoo 19: g is the root of the weight tree; kg = 1000 g; the unit tree has Units and Dozens.
GRAM = RelativeUnit(10, Decimal(1), (10,))
KILO = RelativeUnit(11, Decimal(1000), (10, 11))
UNITS = RelativeUnit(20, Decimal(1), (20,))
STANDARD = {
    "uom.product_uom_gram": GRAM,
    "uom.product_uom_kgm": KILO,
    "uom.product_uom_unit": UNITS,
}


@pytest.mark.parametrize(
    ("unit", "quantity", "shelf"),
    [
        (KILO, "1", "kg"),
        (GRAM, "0.001", "kg"),
        (RelativeUnit(12, Decimal(500), (10, 11, 12)), "0.5", "kg"),  # a custom 500 g pack
        (RelativeUnit(21, Decimal(12), (20, 21)), "12", "piece"),
    ],
)
def test_an_odoo_19_unit_converts_through_its_tree(unit, quantity, shelf) -> None:
    found = shelf_unit_relative(unit, STANDARD)
    assert (format(found.net_quantity, "f"), found.unit) == (quantity, shelf)


def test_an_odoo_19_unit_of_its_own_tree_is_refused() -> None:
    with pytest.raises(UnitRefused, match="not defined against any standard"):
        shelf_unit_relative(RelativeUnit(30, Decimal(1), (30,)), STANDARD)
