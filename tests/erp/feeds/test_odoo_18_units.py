"""Odoo 18 and before: units by category (uom.category) and factor, against a stand-in
playing that version; the feed finds out which shape it talks to with fields_get."""

from __future__ import annotations

import pytest

from tests.erp.feeds.test_odoo import (
    test_a_unit_of_no_known_category_keeps_the_price_and_says_why,
    test_units_come_from_the_category_and_factor_not_the_name,
)

__all__ = [
    "test_a_unit_of_no_known_category_keeps_the_price_and_says_why",
    "test_units_come_from_the_category_and_factor_not_the_name",
]


@pytest.fixture
def odoo_version() -> int:
    return 18


def test_odoo_18_has_no_unit_trees(odoo_shop) -> None:
    assert "category_id" in odoo_shop.odoo.handle(
        "uom.uom", "fields_get", {}, {"authorization": f"bearer {odoo_shop.odoo.api_key}"}
    )
