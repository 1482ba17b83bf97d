"""Validation of ERP records in the generic feed shape (docs/erp.md): raw dicts in, records out.

Pure functions. Every refusal is a `RecordError` naming the field and the exact reason, so a
rejected record can be dead-lettered and an integrator can fix it without guessing. Nothing is
repaired: a wrong check digit or a price with too many decimals is refused, never rounded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.catalogue.units import normalise_unit
from esl_controller.labels.price_format import CURRENCY_DECIMALS

MAX_NAME_LENGTH = 200
PRODUCT_STATUSES = ("active", "delisted")


@dataclass(frozen=True)
class ProductRecord:
    gtin: str
    name: str
    brand: str
    price_minor: int
    currency: str
    net_quantity: float | None
    unit: str
    stock: int | None
    restock_date: date | None
    status: str  # active | delisted
    modified_at: datetime | None


@dataclass(frozen=True)
class PromotionRecord:
    external_id: str
    gtin: str
    price_minor: int
    currency: str
    starts_at: datetime
    ends_at: datetime
    modified_at: datetime | None


class RecordError(ValueError):
    """One field of one record is wrong; `str()` reads "price: 12.999 has 3 decimals; ..."."""

    def __init__(self, field: str, reason: str, key: str = "") -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.key = key


def parse_product(raw: Mapping[str, Any]) -> ProductRecord:
    """A validated product, or `RecordError` for the first field that is wrong."""
    key = _record_key(raw, "gtin")
    try:
        currency = parse_currency(_required(raw, "currency"))
        return ProductRecord(
            gtin=parse_gtin(_required(raw, "gtin")),
            name=_name(_required(raw, "name")),
            brand=_optional_text(raw, "brand"),
            price_minor=parse_price_minor(_required(raw, "price"), currency),
            currency=currency,
            net_quantity=_net_quantity(_optional(raw, "net_quantity")),
            unit=_unit(_optional(raw, "unit")),
            stock=_stock(_optional(raw, "stock")),
            restock_date=_date(_optional(raw, "restock_date")),
            status=_status(_optional(raw, "status")),
            modified_at=_optional_datetime(raw, "modified_at"),
        )
    except RecordError as exc:
        raise RecordError(exc.field, exc.reason, key) from None


def parse_promotion(raw: Mapping[str, Any]) -> PromotionRecord:
    """A validated promotion, or `RecordError` for the first field that is wrong."""
    key = _record_key(raw, "id")
    try:
        external_id = _external_id(_required(raw, "id"))
        currency = parse_currency(_required(raw, "currency"))
        starts_at = parse_utc_datetime(_required(raw, "starts_at"), "starts_at")
        ends_at = parse_utc_datetime(_required(raw, "ends_at"), "ends_at")
        if ends_at <= starts_at:
            raise RecordError("ends_at", f"must be after starts_at ({format_utc(starts_at)})")
        return PromotionRecord(
            external_id=external_id,
            gtin=parse_gtin(_required(raw, "gtin")),
            price_minor=parse_price_minor(_required(raw, "price"), currency),
            currency=currency,
            starts_at=starts_at,
            ends_at=ends_at,
            modified_at=_optional_datetime(raw, "modified_at"),
        )
    except RecordError as exc:
        raise RecordError(exc.field, exc.reason, key) from None


# --- field parsers (RecordError without a key), public where feeds need the same rule


def parse_gtin(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        # A JSON number would lose leading zeros; the contract says GTINs are strings.
        raise RecordError("gtin", f"must be a string of digits, got the number {value}")
    try:
        return validate_gtin(value)
    except InvalidGTIN as exc:
        raise RecordError("gtin", _gtin_reason(str(exc))) from None


def _gtin_reason(message: str) -> str:
    # validate_gtin says "GTIN '594...': check digit is 3, expected 1"; the field is already
    # named, so keep what follows the quoted code.
    if message.startswith("GTIN '"):
        _, _, tail = message.partition("'")[2].partition("'")
        return tail.lstrip(": ")
    return message


def parse_currency(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordError("currency", f"must be an ISO 4217 code, got {value!r}")
    code = value.strip().upper()
    if code not in CURRENCY_DECIMALS:
        raise RecordError("currency", f"unknown currency {value.strip()!r}")
    return code


def parse_price_minor(value: Any, currency: str, field: str = "price") -> int:
    """Minor units (bani, cents) of a decimal price; more decimals than the currency has is an
    error, never a rounding."""
    amount = _decimal(value, field)
    if amount < 0:
        raise RecordError(field, f"{value} is negative")
    decimals = CURRENCY_DECIMALS[currency]
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        places = -amount.normalize().as_tuple().exponent
        raise RecordError(field, f"{value} has {places} decimals; {currency} allows {decimals}")
    return int(scaled)


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(field, f'must be a decimal string like "12.99", got {value!r}')
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(field, f"{value} is not a finite number")
    # str() first: Decimal(12.99) would carry the float's binary noise (12.9900000000000002...).
    text = str(value).strip()
    if "," in text:
        raise RecordError(field, f'{text!r} is not a decimal number (use a dot: "12.99")')
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RecordError(field, f"{text!r} is not a decimal number") from None
    if not amount.is_finite():
        raise RecordError(field, f"{text!r} is not a finite number")
    return amount


def parse_utc_datetime(value: Any, field: str) -> datetime:
    """An aware UTC datetime from ISO 8601 with a zone ("Z" or "+02:00"); naive is refused,
    because guessing the ERP's time zone would shift promotions by hours."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordError(field, f"{value!r} is not an ISO 8601 date-time") from None
    else:
        raise RecordError(field, f"must be an ISO 8601 date-time string, got {value!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RecordError(field, f"{value!r} has no time zone; add Z or an offset like +02:00")
    return moment.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as the feed contract writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- private field rules --------------------------------------------------------------------


def _record_key(raw: Mapping[str, Any], field: str) -> str:
    if not isinstance(raw, Mapping):
        raise RecordError("record", f"must be a JSON object, got {type(raw).__name__}")
    value = raw.get(field)
    return str(value).strip() if value is not None else ""


def _required(raw: Mapping[str, Any], field: str) -> Any:
    value = raw.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError(field, "is required")
    return value


def _optional(raw: Mapping[str, Any], field: str) -> Any:
    """None for a missing, null or blank value (a CSV has blanks where JSON has nulls)."""
    value = raw.get(field)
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _optional_text(raw: Mapping[str, Any], field: str) -> str:
    value = _optional(raw, field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(field, f"must be a string, got {value!r}")
    return value.strip()


def _optional_datetime(raw: Mapping[str, Any], field: str) -> datetime | None:
    value = _optional(raw, field)
    return None if value is None else parse_utc_datetime(value, field)


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise RecordError("name", f"must be a string, got {value!r}")
    name = value.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise RecordError("name", f"has {len(name)} characters; at most {MAX_NAME_LENGTH}")
    return name


def _external_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError("id", f"must be a string, got {value!r}")
    return str(value).strip()


def _net_quantity(value: Any) -> float | None:
    if value is None:
        return None
    amount = _decimal(value, "net_quantity")
    if amount <= 0:
        raise RecordError("net_quantity", f"must be greater than 0, got {value}")
    return float(amount)


def _unit(value: Any) -> str:
    if value is None:
        return "piece"
    try:
        return normalise_unit(value)
    except ValueError as exc:
        raise RecordError("unit", str(exc)) from None


def _stock(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordError("stock", f"must be a whole number, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise RecordError("stock", f"must be a whole number, got {value!r}")
    if value < 0:
        raise RecordError("stock", f"cannot be negative, got {value}")
    return value


def _date(value: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError("restock_date", f'must be a date like "2026-12-01", got {value!r}')
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RecordError("restock_date", f"{value!r} is not a date like 2026-12-01") from None


def _status(value: Any) -> str:
    if value is None:
        return "active"
    status = value.strip().lower() if isinstance(value, str) else value
    if status not in PRODUCT_STATUSES:
        raise RecordError("status", f"must be 'active' or 'delisted', got {value!r}")
    return status
