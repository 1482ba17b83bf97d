"""What a label shows, as plain data: the renderer's only input besides template and model.

`LabelContent` is built from catalogue rows by `build_label_content` (pure: rows and a
clock reading in, content out), so rendering never touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Money:
    minor: int  # integer minor units: 249 = 2.49
    currency: str  # ISO 4217, e.g. EUR, RON, RUB, PLN, GBP, USD


@dataclass(frozen=True)
class UnitPrice:
    amount: Money
    per: str  # "kg", "l", "m" or "piece"


@dataclass(frozen=True)
class PromoInfo:
    was: Money  # the regular price, shown struck through
    # Lowest price applied in the 30 days before the reduction (EU 2019/2161); None when the
    # history does not cover those 30 days, and then `prior_note` says so on the label.
    prior_lowest: Money | None
    prior_note: str | None
    ends: date | None


@dataclass(frozen=True)
class StockInfo:
    level: str  # in_stock | low | out
    quantity: int | None
    restock_date: date | None


@dataclass(frozen=True)
class LabelContent:
    gtin: str
    name: str
    brand: str
    price: Money  # the price to pay now (the promo price during a promotion)
    locale: str  # e.g. ro_RO, de_DE, pl_PL, ru_RU, en_GB, en_US, el_GR
    unit_price: UnitPrice | None
    promo: PromoInfo | None
    stock: StockInfo
    digital_link: str  # GS1 Digital Link URI for the QR code
    size_text: str = ""  # e.g. "500 g", shown near the unit price
