"""Sale taxes (`account.tax`) applied to a shelf price, as a shop shows it: VAT included.

A tax with `price_include` is already inside the price; the others are added the way Odoo's
account.tax computes them for one unit: `percent` adds amount % of the price, `fixed` adds
amount, `division` grosses the price up so the tax is amount % of the total. Taxes of other
companies are left to the caller to drop. Anything else (groups, code taxes) is refused
rather than guessed. Pure: Decimal in, Decimal out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class SaleTax:
    id: int
    amount_type: str  # percent | fixed | division
    amount: Decimal
    price_include: bool


class TaxRefused(ValueError):
    pass


def with_taxes(price: Decimal, taxes: Sequence[SaleTax]) -> Decimal:
    """The price a customer pays for one unit: excluded taxes added, included ones kept."""
    added = Decimal(0)
    for tax in taxes:
        if tax.price_include:
            continue
        if tax.amount_type == "percent":
            added += price * tax.amount / HUNDRED
        elif tax.amount_type == "fixed":
            added += tax.amount
        elif tax.amount_type == "division":
            if tax.amount >= HUNDRED:
                raise TaxRefused(f"tax {tax.id}: a division tax of {tax.amount} % has no price")
            added += price / (1 - tax.amount / HUNDRED) - price
        else:
            raise TaxRefused(f"tax {tax.id}: amount type {tax.amount_type!r} is not supported")
    return price + added
