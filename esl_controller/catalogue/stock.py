"""Stock levels as a shelf label states them."""

from __future__ import annotations

STOCK_LEVELS = ("in_stock", "low", "out")


def stock_level(stock: int | None, low_stock_threshold: int) -> str:
    """Out at zero or below, low at or below the threshold, else in stock.

    Unknown stock (None: the ERP does not track it) reads as in stock: a label must not
    claim a shortage nobody measured.
    """
    if stock is None:
        return "in_stock"
    if stock <= 0:
        return "out"
    if stock <= low_stock_threshold:
        return "low"
    return "in_stock"
