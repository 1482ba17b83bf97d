from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from esl_controller.erp.records import RecordError, parse_product, parse_promotion

GOOD_GTIN = "5940000000011"


def product(**changes: object) -> dict:
    raw: dict = {
        "gtin": GOOD_GTIN, "name": "Brânză telemea", "brand": "Hochland", "price": "12.99",
        "currency": "RON", "net_quantity": "400", "unit": "g", "stock": 12,
        "restock_date": "2026-12-01", "status": "active", "modified_at": "2026-11-23T09:58:12Z",
    }  # fmt: skip
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not ...}


def promotion(**changes: object) -> dict:
    raw: dict = {
        "id": "PR-1001", "gtin": GOOD_GTIN, "price": "9.99", "currency": "RON",
        "starts_at": "2026-11-24T00:00:00Z", "ends_at": "2026-11-30T22:00:00Z",
    }  # fmt: skip
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not ...}


def refusal(parse, raw: dict) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse(raw)
    return caught.value


def test_a_good_product_parses_every_field() -> None:
    record = parse_product(product(extra_field="ignored"))
    assert record.gtin == GOOD_GTIN
    assert record.name == "Brânză telemea"
    assert record.price_minor == 1299
    assert record.currency == "RON"
    assert record.net_quantity == 400.0
    assert record.unit == "g"
    assert record.stock == 12
    assert record.restock_date == date(2026, 12, 1)
    assert record.status == "active"
    assert record.modified_at == datetime(2026, 11, 23, 9, 58, 12, tzinfo=UTC)


def test_optional_fields_default_when_missing_null_or_blank() -> None:
    record = parse_product(
        product(brand=..., net_quantity=None, unit="", stock="", restock_date=None, status=...,
                modified_at=...)
    )  # fmt: skip
    assert (record.brand, record.net_quantity, record.unit) == ("", None, "piece")
    assert (record.stock, record.restock_date, record.status) == (None, None, "active")
    assert record.modified_at is None


@pytest.mark.parametrize(
    ("price", "minor"),
    [("12.99", 1299), ("0", 0), ("12.9", 1290), ("12.990", 1299), (12, 1200), (12.99, 1299)],
)
def test_prices_become_exact_minor_units(price: object, minor: int) -> None:
    assert parse_product(product(price=price)).price_minor == minor


def test_a_yen_price_has_no_decimals() -> None:
    assert parse_product(product(price="1280", currency="JPY")).price_minor == 1280
    error = refusal(parse_product, product(price="1280.5", currency="JPY"))
    assert error.reason == "1280.5 has 1 decimals; JPY allows 0"


def test_too_many_decimals_is_refused_not_rounded() -> None:
    error = refusal(parse_product, product(price="12.999"))
    assert str(error) == "price: 12.999 has 3 decimals; RON allows 2"
    assert (error.field, error.key) == ("price", GOOD_GTIN)


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("-1.00", "-1.00 is negative"),
        ("abc", "'abc' is not a decimal number"),
        ("12,99", "'12,99' is not a decimal number (use a dot: \"12.99\")"),
        ("NaN", "'NaN' is not a finite number"),
        (float("inf"), "inf is not a finite number"),
        (True, 'must be a decimal string like "12.99", got True'),
        (None, "is required"),
    ],
)
def test_bad_prices_say_why(price: object, reason: str) -> None:
    assert refusal(parse_product, product(price=price)).reason == reason


def test_gtin_check_digit_is_checked_never_fixed() -> None:
    error = refusal(parse_product, product(gtin="5940000000013"))
    assert str(error) == "gtin: check digit is 3, expected 1"
    assert error.key == "5940000000013"


@pytest.mark.parametrize(
    ("gtin", "reason"),
    [
        (5940000000011, "must be a string of digits, got the number 5940000000011"),
        ("59400000000AB", "contains non-digits: 'AB'"),
        ("123", "has 3 digits; expected 8, 12, 13 or 14"),
    ],
)
def test_bad_gtins_say_why(gtin: object, reason: str) -> None:
    assert refusal(parse_product, product(gtin=gtin)).reason == reason


def test_unknown_currency_is_refused() -> None:
    assert str(refusal(parse_product, product(currency="XYZ"))) == (
        "currency: unknown currency 'XYZ'"
    )


def test_currency_case_is_normalised() -> None:
    assert parse_product(product(currency="ron")).currency == "RON"


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"name": "   "}, "name", "is required"),
        ({"name": "x" * 201}, "name", "has 201 characters; at most 200"),
        ({"unit": "furlong"}, "unit", "unknown unit 'furlong'"),
        ({"net_quantity": "0"}, "net_quantity", "must be greater than 0, got 0"),
        ({"net_quantity": "-5"}, "net_quantity", "must be greater than 0, got -5"),
        ({"restock_date": "1 Dec"}, "restock_date", "'1 Dec' is not a date like 2026-12-01"),
        ({"status": "gone"}, "status", "must be 'active' or 'delisted', got 'gone'"),
        ({"modified_at": "2026-11-23T09:58:12"}, "modified_at", "has no time zone"),
        ({"modified_at": "yesterday"}, "modified_at", "is not an ISO 8601 date-time"),
    ],
)
def test_bad_product_fields_name_the_field_and_reason(
    changes: dict, field: str, reason: str
) -> None:
    error = refusal(parse_product, product(**changes))
    assert error.field == field
    assert reason in error.reason


def test_name_is_trimmed_and_units_and_stock_strings_are_read() -> None:
    record = parse_product(product(name="  Lapte  ", unit=" KG ", stock="7", status="DELISTED"))
    assert (record.name, record.unit, record.stock, record.status) == ("Lapte", "kg", 7, "delisted")


def test_a_record_that_is_not_an_object_is_refused() -> None:
    assert refusal(parse_product, ["not", "a", "dict"]).field == "record"  # type: ignore[arg-type]


def test_a_good_promotion_is_converted_to_utc() -> None:
    record = parse_promotion(promotion(starts_at="2026-11-24T02:00:00+02:00"))
    assert record.external_id == "PR-1001"
    assert record.price_minor == 999
    assert record.starts_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert record.starts_at.tzinfo is UTC
    assert record.ends_at == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)


def test_a_promotion_ending_before_it_starts_is_refused() -> None:
    error = refusal(
        parse_promotion, promotion(starts_at="2026-11-30T00:00:00Z", ends_at="2026-11-24T00:00:00Z")
    )
    assert str(error) == "ends_at: must be after starts_at (2026-11-30T00:00:00Z)"
    assert error.key == "PR-1001"


def test_a_promotion_ending_when_it_starts_is_refused() -> None:
    moment = "2026-11-30T00:00:00Z"
    assert refusal(parse_promotion, promotion(starts_at=moment, ends_at=moment)).field == "ends_at"


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"id": ...}, "id", "is required"),
        ({"price": "-0.01"}, "price", "-0.01 is negative"),
        ({"starts_at": "2026-11-24 00:00:00"}, "starts_at", "has no time zone"),
        ({"ends_at": None}, "ends_at", "is required"),
        ({"gtin": "5940000000013"}, "gtin", "check digit is 3, expected 1"),
        ({"currency": "XYZ"}, "currency", "unknown currency 'XYZ'"),
    ],
)
def test_bad_promotion_fields_name_the_field_and_reason(
    changes: dict, field: str, reason: str
) -> None:
    error = refusal(parse_promotion, promotion(**changes))
    assert (error.field, error.reason.endswith(reason) or reason in error.reason) == (field, True)


def test_a_numeric_promotion_id_becomes_a_string() -> None:
    assert parse_promotion(promotion(id=42)).external_id == "42"
