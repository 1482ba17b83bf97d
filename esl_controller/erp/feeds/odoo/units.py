"""Odoo units of measure (`uom.uom`) mapped to the units unit pricing knows, by what they
measure, never by their (translatable, editable) names.

Two shapes, both from addons/uom/models/uom_uom.py:
- Odoo 18 and before: every unit belongs to a category holding exactly one reference unit, and
  `factor` says how many of the unit make one reference unit (g: 1000 per kg; a tonne: 0.001).
  The standard categories are known by their stable XML ids; a custom category ("Boxes",
  "Pallets") measures nothing a shelf label can quote per kg or litre.
- Odoo 19: categories are gone. A unit is defined against another (`relative_uom_id`,
  `relative_factor`) and `factor` is its absolute quantity of the root of its tree
  (`parent_path` starts at the root): with g the root, a kg's factor is 1000. Two units convert
  when they share a root; the standard units are known by their XML ids, so a unit converts
  through any standard unit of its tree.
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
# Odoo 19: XML id of a standard unit -> (shelf unit, how many of it one such unit is)
STANDARD_UNITS = {
    "uom.product_uom_unit": ("piece", Decimal(1)),
    "uom.product_uom_dozen": ("piece", Decimal(12)),
    "uom.product_uom_gram": ("kg", Decimal("0.001")),
    "uom.product_uom_kgm": ("kg", Decimal(1)),
    "uom.product_uom_ton": ("kg", Decimal(1000)),
    "uom.product_uom_litre": ("l", Decimal(1)),
    "uom.product_uom_meter": ("m", Decimal(1)),
    "uom.product_uom_cm": ("m", Decimal("0.01")),
    "uom.product_uom_millimeter": ("m", Decimal("0.001")),
    "uom.product_uom_km": ("m", Decimal(1000)),
}
# Odoo keeps factors as floats (a dozen is 0.08333333333333333); a millionth of the
# reference unit is finer than any shelf label and gives the dozen back exactly.
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
            f"Odoo unit {unit.id} is in category {shown}, not a weight, volume, length "
            "or unit count; priced without a unit price"
        )
    if unit.factor <= 0:
        raise UnitRefused(f"Odoo unit {unit.id} has factor {unit.factor}, not a positive ratio")
    quantity = (Decimal(1) / unit.factor).quantize(QUANTITY_STEP).normalize()
    return ShelfUnit(quantity, base)


@dataclass(frozen=True)
class RelativeUnit:
    """An Odoo 19 unit: its absolute `factor` and its tree (`parent_path` ids, root first)."""

    id: int
    factor: Decimal
    path: tuple[int, ...]

    @property
    def root(self) -> int:
        return self.path[0] if self.path else self.id


def shelf_unit_relative(unit: RelativeUnit, standard: dict[str, RelativeUnit]) -> ShelfUnit:
    """Odoo 19: the unit converted through a standard unit (by XML id) of the same tree."""
    for xml_id, known in sorted(standard.items()):
        if known.root != unit.root or xml_id not in STANDARD_UNITS or known.factor <= 0:
            continue
        base, per_known = STANDARD_UNITS[xml_id]
        if unit.factor <= 0:
            raise UnitRefused(f"Odoo unit {unit.id} has factor {unit.factor}, not positive")
        quantity = (unit.factor / known.factor * per_known).quantize(QUANTITY_STEP)
        return ShelfUnit(quantity.normalize(), base)
    raise UnitRefused(
        f"Odoo unit {unit.id} is not defined against any standard weight, volume, length or "
        "unit count; priced without a unit price"
    )
