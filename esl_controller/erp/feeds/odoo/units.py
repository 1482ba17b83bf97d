"""Odoo units of measure (`uom.uom`) mapped to the units unit pricing knows, by what they
measure, never by their (translatable, editable) names.

In Odoo (addons/uom/models/uom_uom.py) every unit belongs to a category holding exactly one
reference unit, and `factor` says how many of the unit make one reference unit (g: 1000 per
kg; a tonne: 0.001). The standard categories are known by their stable XML ids; a custom
category ("Boxes", "Pallets") measures nothing a shelf label can quote per kg or litre.
Pure: data in, a unit (or the reason there is none) out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# XML id of the standard category -> the unit its reference unit is, for unit pricing.
CATEGORY_UNITS = {
    "uom.product_uom_categ_kgm": "kg",
    "uom.product_uom_categ_vol": "l",
    "uom.uom_categ_length": "m",
    "uom.product_uom_categ_unit": "piece",
}
QUANTITY_STEP = Decimal("0.000001")


@dataclass(frozen=True)
class OdooUnit:
    id: int
    category_id: int
    factor: Decimal  # units per reference unit
    uom_type: str  # reference | bigger | smaller


@dataclass(frozen=True)
class ShelfUnit:
    """One sale unit is `net_quantity` of `unit` (1 kg, 0.001 kg for a gram, 6 pieces)."""

    net_quantity: Decimal
    unit: str


class UnitRefused(ValueError):
    """The unit cannot be quoted per kg, litre, metre or piece; says which and why."""


def shelf_unit(unit: OdooUnit, category_xml_ids: dict[int, str]) -> ShelfUnit:
    """The quantity of the reference unit one sale unit holds, or `UnitRefused`."""
    xml_id = category_xml_ids.get(unit.category_id)
    base = CATEGORY_UNITS.get(xml_id or "")
    if base is None:
        shown = xml_id or f"id {unit.category_id}"
        raise UnitRefused(
            f"Odoo unit {unit.id} is in category {shown}, which is no weight, volume, length "
            "or unit count; priced without a unit price"
        )
    if unit.factor <= 0:
        raise UnitRefused(f"Odoo unit {unit.id} has factor {unit.factor}, not a positive ratio")
    # Odoo keeps the factor as a float (a dozen is 0.08333333333333333); a millionth of the
    # reference unit is finer than any shelf label and gives the dozen back exactly.
    quantity = (Decimal(1) / unit.factor).quantize(QUANTITY_STEP).normalize()
    return ShelfUnit(quantity, base)
