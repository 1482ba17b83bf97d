"""Money as the controller keeps it: an integer amount in its currency's ISO 4217 minor unit.

The minor unit is not always a cent (JPY has none, KWD has three), so every amount carries
its currency and every conversion looks the exponent up here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Money:
    minor: int  # integer minor units: 249 = 2.49
    currency: str  # ISO 4217, e.g. EUR, RON, RUB, PLN, GBP, USD


# ISO 4217 exponent: how many decimal digits the currency's minor unit has.
CURRENCY_DECIMALS: dict[str, int] = {
    "EUR": 2, "RON": 2, "RUB": 2, "PLN": 2, "GBP": 2, "USD": 2,
    "CHF": 2, "CZK": 2, "HUF": 2, "BGN": 2, "SEK": 2, "JPY": 0,
}  # fmt: skip
