"""The rules for a price or a promotion a manager types in while the ERP is down.

Pure: text and numbers in, a checked value or the plain-words reasons out. Every field is
judged, so a form can show all its problems at once and keep what was typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from esl_controller.money import CURRENCY_DECIMALS

# Eight digits before the decimal point is more than any shelf price; more is a typo.
MAX_WHOLE_DIGITS = 8
MAX_REASON_LENGTH = 200
MAX_PROMOTION_DAYS = 366
_AMOUNT = re.compile(r"^\d+(?:[.,]\d+)?$")


class ManualPriceRefused(ValueError):
    """Why a manual price or promotion was refused: field name -> a message for a person."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


@dataclass(frozen=True)
class ManualPromotionTerms:
    price_minor: int
    first_day: date  # store-local, inclusive
    last_day: date  # store-local, inclusive


def parse_amount(text: str, currency: str) -> int:
    """A typed amount ("12.49" or "12,49") in the currency's minor units, or ValueError."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        raise ValueError("Enter a price.")
    if cleaned.startswith("-"):
        raise ValueError("A price cannot be negative.")
    if not _AMOUNT.match(cleaned):
        raise ValueError("Write the price as a number, for example 12.49.")
    decimals = CURRENCY_DECIMALS.get(currency, 2)
    whole, _, fraction = cleaned.replace(",", ".").partition(".")
    if len(fraction) > decimals:
        raise ValueError(f"A {currency} price has at most {decimals} digits after the point.")
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        raise ValueError(f"That price has too many digits (at most {MAX_WHOLE_DIGITS}).")
    try:
        amount = Decimal(f"{whole}.{fraction or '0'}")
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise ValueError("Write the price as a number, for example 12.49.") from None
    return int(amount.scaleb(decimals))


def check_price_minor(price_minor: int, currency: str) -> None:
    """ValueError unless a price in minor units is one a shelf can show."""
    if price_minor < 0:
        raise ValueError("A price cannot be negative.")
    if price_minor == 0:
        raise ValueError("A price must be more than zero.")
    decimals = CURRENCY_DECIMALS.get(currency, 2)
    if price_minor >= 10 ** (MAX_WHOLE_DIGITS + decimals):
        raise ValueError(f"That price has too many digits (at most {MAX_WHOLE_DIGITS}).")


def check_reason(reason: str) -> str:
    """The reason, trimmed; ValueError when missing or too long."""
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise ValueError("Say why (for example: ERP down, price from head office by phone).")
    if len(cleaned) > MAX_REASON_LENGTH:
        raise ValueError(f"Keep the reason under {MAX_REASON_LENGTH} characters.")
    return cleaned


def check_manual_price(price_minor: int, currency: str, reason: str) -> tuple[int, str]:
    """(price, reason) when both are acceptable, else ManualPriceRefused naming each field."""
    problems: dict[str, str] = {}
    try:
        check_price_minor(price_minor, currency)
    except ValueError as exc:
        problems["price"] = str(exc)
    try:
        reason = check_reason(reason)
    except ValueError as exc:
        problems["reason"] = str(exc)
    if problems:
        raise ManualPriceRefused(problems)
    return price_minor, reason


def check_manual_promotion(
    price_minor: int | None,
    regular_minor: int,
    currency: str,
    first_day: date | None,
    last_day: date | None,
    today: date,
    reason: str,
) -> tuple[ManualPromotionTerms, str]:
    """The promotion's terms and reason, else ManualPriceRefused naming each bad field.

    A promotion is a reduction: its price must be below the regular price. It runs whole
    store-local days, from today at the earliest, for at most a year.
    """
    problems: dict[str, str] = {}
    if price_minor is None:
        problems["price"] = "Enter the promotion price."
    else:
        try:
            check_price_minor(price_minor, currency)
        except ValueError as exc:
            problems["price"] = str(exc)
        else:
            if price_minor >= regular_minor:
                problems["price"] = "A promotion price must be below the regular price."
    if first_day is None:
        problems["starts"] = "Enter the first day of the promotion."
    elif first_day < today:
        problems["starts"] = "The first day is in the past; a promotion starts today or later."
    if last_day is None:
        problems["ends"] = "Enter the last day of the promotion."
    elif first_day is not None and last_day < first_day:
        problems["ends"] = "The last day is before the first day."
    elif first_day is not None and (last_day - first_day).days >= MAX_PROMOTION_DAYS:
        problems["ends"] = f"A promotion runs at most {MAX_PROMOTION_DAYS} days."
    try:
        reason = check_reason(reason)
    except ValueError as exc:
        problems["reason"] = str(exc)
    if problems:
        raise ManualPriceRefused(problems)
    assert price_minor is not None and first_day is not None and last_day is not None
    return ManualPromotionTerms(price_minor, first_day, last_day), reason
