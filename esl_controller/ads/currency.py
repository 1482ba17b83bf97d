"""ISO 4217 minor units: how many decimals each currency's smallest unit has. Pure.

Every amount in the ads package (CPM, spend, every total) is an integer in its currency's
minor unit: EUR 12.50 is 1250, JPY 500 is 500, KWD 1.234 is 1234. Currencies not in the table
have two decimals, as most do.
"""

from __future__ import annotations

from decimal import Decimal

DEFAULT_MINOR_DIGITS = 2
# ISO 4217 exponents that differ from 2 (the current list, without funds and metals)
MINOR_DIGITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip


def minor_digits(currency: str) -> int:
    """Decimals of the currency's minor unit (JPY 0, EUR 2, KWD 3)."""
    return MINOR_DIGITS.get(currency.upper(), DEFAULT_MINOR_DIGITS)


def to_minor(amount: Decimal, currency: str) -> int:
    """A major-unit amount ("4.50" EUR) as minor units (450); ValueError when the amount has
    more decimals than the currency's minor unit, so nothing is ever rounded away."""
    digits = minor_digits(currency)
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} amounts have at most {digits} decimals, got {amount}")
    return int(scaled)


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Minor units as a Decimal in major units with the currency's decimals (1250 -> 12.50)."""
    digits = minor_digits(currency)
    return Decimal(amount_minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def from_hundredths(amount_hundredths: int, currency: str) -> tuple[int, bool]:
    """An amount stored as major x 100 (how CPMs were kept before schema 6, whatever the
    currency) in the currency's minor units, rounded half up; and whether it was exact."""
    digits = minor_digits(currency)
    if digits >= 2:
        return amount_hundredths * 10 ** (digits - 2), True
    divisor = 10 ** (2 - digits)
    quotient, remainder = divmod(amount_hundredths, divisor)
    if 2 * remainder >= divisor:
        quotient += 1
    return quotient, remainder == 0
