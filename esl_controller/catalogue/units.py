"""Unit pricing (EU Price Indication Directive 98/6/EC): the price per kg, litre, metre or piece.

Decimal arithmetic throughout, rounded half-up to the currency's minor unit, so a unit price
never passes through a float.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# unit -> (the unit the price is quoted per, how many of those one `unit` is)
UNIT_BASES: dict[str, tuple[str, Decimal]] = {
    "g": ("kg", Decimal("0.001")),
    "kg": ("kg", Decimal(1)),
    "ml": ("l", Decimal("0.001")),
    "cl": ("l", Decimal("0.01")),
    "l": ("l", Decimal(1)),
    "cm": ("m", Decimal("0.01")),
    "m": ("m", Decimal(1)),
    "piece": ("piece", Decimal(1)),
}


@dataclass(frozen=True)
class UnitPriceQuote:
    """A price per base unit, in minor units of `currency`."""

    minor: int
    currency: str
    per: str  # kg | l | m | piece


def normalise_unit(unit: str) -> str:
    """The canonical unit name ("KG " -> "kg"), or `ValueError` naming the unknown unit."""
    canonical = unit.strip().lower() if isinstance(unit, str) else unit
    if canonical not in UNIT_BASES:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNIT_BASES)}")
    return canonical


def unit_price(
    price_minor: int, currency: str, net_quantity: float | None, unit: str
) -> UnitPriceQuote | None:
    """The unit price of a pack, or None where the directive asks for none.

    None when the quantity is unknown, and for single pieces (a per-piece price only informs
    for multipacks, e.g. a 6-pack).
    """
    per, factor = UNIT_BASES[normalise_unit(unit)]
    if price_minor < 0:
        raise ValueError(f"price cannot be negative: {price_minor}")
    if net_quantity is None:
        return None
    quantity = pack_quantity(net_quantity)
    if per == "piece" and quantity <= 1:
        return None
    per_base = Decimal(price_minor) / (quantity * factor)
    return UnitPriceQuote(int(per_base.quantize(Decimal(1), ROUND_HALF_UP)), currency, per)


def pack_quantity(net_quantity: float) -> Decimal:
    """The pack's net quantity as an exact Decimal, or `ValueError` unless it is positive."""
    if isinstance(net_quantity, bool) or not math.isfinite(net_quantity) or net_quantity <= 0:
        raise ValueError(f"net quantity must be a positive number, got {net_quantity!r}")
    # str() first: Decimal(0.1) would carry the float's binary noise into the price.
    return Decimal(str(net_quantity))
