"""Validation of ERP records in the generic feed shape (docs/erp.md): raw dicts in, records out.

Pure functions. Every refusal is a `RecordError` naming the field and the exact reason, so a
rejected record can be dead-lettered and an integrator can fix it without guessing. Nothing is
repaired: a wrong check digit or a price with too many decimals is refused, never rounded.

Every value that passes is bounded, so no later stage (the database, unit pricing, the
renderer) can overflow or choke on it: money and stock well inside 64 bits, times between
2000 and 2100 in UTC, text in NFC without control characters or lone surrogates, quantities
finite and positive. Whatever the input, these functions return a record or raise
`RecordError`; nothing else.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from esl_controller.catalogue.gtin import InvalidGTIN, display_gtin, validate_gtin
from esl_controller.catalogue.units import normalise_unit
from esl_controller.labels.price_format import CURRENCY_DECIMALS

MAX_NAME_LENGTH = 200
MAX_ID_LENGTH = 100
PRODUCT_STATUSES = ("active", "delisted")
PROMOTION_STATUSES = ("active", "cancelled")
# 10^12 minor units is ten billion lei or euros: no shelf price comes near it, and every
# sum the controller makes of such prices stays far inside a signed 64-bit column.
MAX_PRICE_MINOR = 10**12 - 1
MAX_STOCK = 10**9
# A pack between a milligram and a thousand tonnes: unit prices stay exact and bounded.
MIN_NET_QUANTITY = Decimal("0.001")
MAX_NET_QUANTITY = Decimal(1_000_000)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
MAX_NUMBER_TEXT = 40  # characters of a decimal string; longer is no price


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
    # The stock figure is judged apart from the price: a refused one (why, here) leaves the
    # stock as it was and still applies the price; a negative one is stored as 0 (oversold).
    stock_refused: RecordError | None = None
    oversold: bool = False
    # A feed that maps units itself (Odoo) and could not map this one says why in the raw
    # record's "_unit_refused": the price applies without a unit price.
    unit_refused: RecordError | None = None

    @property
    def key(self) -> str:
        """The 14-digit GTIN the catalogue matches on (`gtin` is already validated)."""
        return self.gtin.zfill(14)


@dataclass(frozen=True)
class PromotionRecord:
    external_id: str
    gtin: str
    price_minor: int
    currency: str
    starts_at: datetime
    ends_at: datetime
    modified_at: datetime | None

    @property
    def key(self) -> str:
        return self.gtin.zfill(14)


@dataclass(frozen=True)
class PromotionCancel:
    """The incremental feed's `"status": "cancelled"`: the promotion ends now."""

    external_id: str
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
    key = record_key(raw, "gtin")
    try:
        currency = parse_currency(_required(raw, "currency"))
        gtin = parse_gtin(_required(raw, "gtin"))
        stock, oversold, stock_refused = None, False, None
        try:
            stock, oversold = _stock(_optional(raw, "stock"))
        except RecordError as exc:
            stock_refused = RecordError(exc.field, exc.reason, gtin)
        return ProductRecord(
            gtin=gtin,
            name=_name(_required(raw, "name")),
            brand=_optional_text(raw, "brand"),
            price_minor=parse_price_minor(_required(raw, "price"), currency),
            currency=currency,
            net_quantity=_net_quantity(_optional(raw, "net_quantity")),
            unit=_unit(_optional(raw, "unit")),
            stock=stock,
            restock_date=_date(_optional(raw, "restock_date")),
            status=_status(_optional(raw, "status")),
            modified_at=_optional_datetime(raw, "modified_at"),
            stock_refused=stock_refused,
            oversold=oversold,
            unit_refused=_unit_refused(raw.get("_unit_refused"), gtin),
        )
    except RecordError as exc:
        raise RecordError(exc.field, exc.reason, key) from None


def parse_promotion(raw: Mapping[str, Any]) -> PromotionRecord | PromotionCancel:
    """A validated promotion (or its cancellation), or `RecordError` for the first field that
    is wrong."""
    key = record_key(raw, "id")
    try:
        external_id = _external_id(_required(raw, "id"))
        if _promotion_status(_optional(raw, "status")) == "cancelled":
            return PromotionCancel(external_id, _optional_datetime(raw, "modified_at"))
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
        raise RecordError(
            "gtin", f"must be a string of digits, got the number {_number_text(value)}"
        )
    if not isinstance(value, str):
        raise RecordError("gtin", f"must be a string of digits, got {_shown(value)}")
    if len(value) > 32:
        raise RecordError("gtin", f"has {len(value)} characters; a GTIN has 8 to 14 digits")
    try:
        digits = validate_gtin(value)
        # EAN-13 is both the common case and its own display form.
        return digits if len(digits) == 13 else display_gtin(digits)
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
        raise RecordError("currency", f"must be an ISO 4217 code, got {_shown(value)}")
    code = value.strip().upper()
    if code not in CURRENCY_DECIMALS:
        raise RecordError("currency", f"unknown currency {_shown(value.strip())}")
    return code


def parse_price_minor(value: Any, currency: str, field: str = "price") -> int:
    """Minor units (bani, cents) of a decimal price; more decimals than the currency has is an
    error, never a rounding."""
    amount = _decimal(value, field)
    if amount < 0:
        raise RecordError(field, f"{_number_text(value)} is negative")
    decimals = CURRENCY_DECIMALS[currency]
    scaled = amount.scaleb(decimals)  # _decimal bounded the exponent: this cannot overflow
    if scaled != scaled.to_integral_value():
        places = -amount.normalize().as_tuple().exponent
        raise RecordError(
            field, f"{_number_text(value)} has {places} decimals; {currency} allows {decimals}"
        )
    minor = int(scaled)
    if minor > MAX_PRICE_MINOR:
        raise RecordError(
            field, f"{_number_text(value)} is too large; at most {MAX_PRICE_MINOR:,} minor units"
        )
    return minor


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(field, f'must be a decimal string like "12.99", got {_shown(value)}')
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(field, f"{value} is not a finite number")
    if isinstance(value, int) and abs(value) > 10**15:
        raise RecordError(field, f"{_number_text(value)} is too large")
    # str() first: Decimal(12.99) would carry the float's binary noise (12.9900000000000002...).
    text = str(value).strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise RecordError(field, f"has {len(text)} characters; too long for a number")
    if "," in text:
        raise RecordError(field, f'{text!r} is not a decimal number (use a dot: "12.99")')
    if not text.isascii() or "_" in text:
        raise RecordError(field, f"{_shown(text)} is not a decimal number")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RecordError(field, f"{text!r} is not a decimal number") from None
    if not amount.is_finite():
        raise RecordError(field, f"{text!r} is not a finite number")
    # Bounded before any arithmetic: "1e999999" is a valid Decimal and would overflow later.
    if amount and not -20 <= amount.adjusted() <= 15:
        raise RecordError(field, f"{text!r} is out of range")
    return amount


def _number_text(value: Any) -> str:
    if isinstance(value, int) and abs(value) > 10**30:
        # str() of a huge int is slow, and past 4,300 digits Python refuses it outright.
        return f"a number of {value.bit_length()} bits"
    text = str(value).strip()
    return text if len(text) <= MAX_NUMBER_TEXT else text[:MAX_NUMBER_TEXT] + "…"


def parse_utc_datetime(value: Any, field: str) -> datetime:
    """An aware UTC datetime from ISO 8601 with a zone ("Z" or "+02:00"); naive is refused,
    because guessing the ERP's time zone would shift promotions by hours."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and len(value) <= 64:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordError(field, f"{_shown(value)} is not an ISO 8601 date-time") from None
    else:
        raise RecordError(field, f"must be an ISO 8601 date-time string, got {_shown(value)}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RecordError(
            field, f"{_shown(value)} has no time zone; add Z or an offset like +02:00"
        )
    # Range first, on the wall-clock value: converting year 1 or 9999 with an offset to UTC
    # would overflow datetime itself.
    if not EARLIEST.year <= moment.year <= LATEST.year:
        raise RecordError(field, f"{_shown(value)} is outside {_range_text()}")
    utc = moment.astimezone(UTC)
    if not EARLIEST <= utc <= LATEST:
        raise RecordError(field, f"{_shown(value)} is outside {_range_text()}")
    return utc


def _range_text() -> str:
    return f"the years {EARLIEST.year} to {LATEST.year}"


def format_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as the feed contract writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- private field rules --------------------------------------------------------------------


def record_key(raw: Mapping[str, Any], field: str) -> str:
    """What names a record in a dead letter (its GTIN or promotion id, as written), or ""."""
    if not isinstance(raw, Mapping):
        raise RecordError("record", f"must be a JSON object, got {type(raw).__name__}")
    value = raw.get(field)
    if isinstance(value, int) and not isinstance(value, bool):
        return _number_text(value)[:MAX_NAME_LENGTH]
    if not isinstance(value, str):
        return ""
    return storable_text(value.strip()[:MAX_NAME_LENGTH])


def storable_text(text: str) -> str:
    """`text` safe for any database column and log line: lone surrogates and NUL (which
    PostgreSQL refuses) escaped as backslash sequences; everything else kept."""
    if text.isascii() and "\x00" not in text:
        return text
    escaped = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return escaped.replace("\x00", "\\x00")


def _shown(value: Any) -> str:
    """A refused value as a reason quotes it: repr, cut short (a reason is not a copy)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def clean_text(value: str, field: str) -> str:
    """NFC text, trimmed; lone surrogates and control characters refused (they corrupt the
    database encoding or the label layout, and no product name needs them)."""
    if value.isascii() and value.isprintable():
        return value.strip()  # the common case, checked in C: nothing to refuse or compose
    bad = _REFUSED_CHARACTER.search(value)
    if bad is not None:
        char, position = bad.group(), bad.start()
        kind = (
            "a lone UTF-16 surrogate" if "\ud800" <= char <= "\udfff" else "the control character"
        )
        raise RecordError(field, f"has {kind} U+{ord(char):04X} at character {position}")
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value.strip()


# Unicode's Cc (C0, DEL, C1) and Cs (surrogates, which only a lone "\ud800" escape in JSON
# can produce): one C-speed scan instead of a category lookup per character.
_REFUSED_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


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
        raise RecordError(field, f"must be a string, got {_shown(value)}")
    text = clean_text(value, field)
    if len(text) > MAX_NAME_LENGTH:
        raise RecordError(field, f"has {len(text)} characters; at most {MAX_NAME_LENGTH}")
    return text


def _optional_datetime(raw: Mapping[str, Any], field: str) -> datetime | None:
    value = _optional(raw, field)
    return None if value is None else parse_utc_datetime(value, field)


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise RecordError("name", f"must be a string, got {_shown(value)}")
    name = clean_text(value, "name")
    if not name:
        raise RecordError("name", "is required")
    if len(name) > MAX_NAME_LENGTH:
        raise RecordError("name", f"has {len(name)} characters; at most {MAX_NAME_LENGTH}")
    return name


def _external_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError("id", f"must be a string, got {_shown(value)}")
    if isinstance(value, int) and abs(value) >= 2**63:
        raise RecordError("id", f"{_number_text(value)} is too large; send ids as strings")
    external_id = clean_text(str(value), "id")
    if not external_id:
        raise RecordError("id", "is required")
    if len(external_id) > MAX_ID_LENGTH:
        raise RecordError("id", f"has {len(external_id)} characters; at most {MAX_ID_LENGTH}")
    return external_id


def _net_quantity(value: Any) -> float | None:
    if value is None:
        return None
    amount = _decimal(value, "net_quantity")
    if amount <= 0:
        raise RecordError("net_quantity", f"must be greater than 0, got {_number_text(value)}")
    if not MIN_NET_QUANTITY <= amount <= MAX_NET_QUANTITY:
        raise RecordError(
            "net_quantity",
            f"{_number_text(value)} is outside {MIN_NET_QUANTITY} to {MAX_NET_QUANTITY:,}",
        )
    return float(amount)


def _unit(value: Any) -> str:
    if value is None:
        return "piece"
    if not isinstance(value, str) or len(value) > 16:
        raise RecordError("unit", f"unknown unit {_shown(value)}")
    try:
        return normalise_unit(value)
    except ValueError as exc:
        raise RecordError("unit", str(exc)) from None


def _unit_refused(reason: Any, gtin: str) -> RecordError | None:
    if not reason:
        return None
    return RecordError("unit", str(reason)[:300], gtin)


def _stock(value: Any) -> tuple[int | None, bool]:
    """(stock, oversold): a negative figure (sold before it was booked in) reads as 0."""
    if value is None:
        return None, False
    if isinstance(value, bool):
        raise RecordError("stock", f"must be a whole number, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit() and len(digits) <= 19:
            value = int(text)
    if not isinstance(value, int):
        raise RecordError("stock", f"must be a whole number, got {_shown(value)}")
    if abs(value) > MAX_STOCK:
        raise RecordError("stock", f"{_number_text(value)} is out of range; at most {MAX_STOCK:,}")
    if value < 0:
        return 0, True
    return value, False


def _date(value: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 32:
        raise RecordError("restock_date", f'must be a date like "2026-12-01", got {_shown(value)}')
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(
            "restock_date", f"{_shown(value)} is not a date like 2026-12-01"
        ) from None
    if not EARLIEST.date() <= day <= LATEST.date():
        raise RecordError("restock_date", f"{_shown(value)} is outside {_range_text()}")
    return day


def _status(value: Any) -> str:
    if value is None:
        return "active"
    status = value.strip().lower() if isinstance(value, str) else value
    if status not in PRODUCT_STATUSES:
        raise RecordError("status", f"must be 'active' or 'delisted', got {_shown(value)}")
    return status


def _promotion_status(value: Any) -> str:
    if value is None:
        return "active"
    status = value.strip().lower() if isinstance(value, str) else value
    if status not in PROMOTION_STATUSES:
        raise RecordError("status", f"must be 'active' or 'cancelled', got {_shown(value)}")
    return status
