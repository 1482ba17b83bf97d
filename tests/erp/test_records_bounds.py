"""Every value a record parser lets through is bounded; everything else is refused by field."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest

from esl_controller.erp.records import (
    MAX_PRICE_MINOR,
    PromotionCancel,
    RecordError,
    parse_product,
    parse_promotion,
    storable_text,
)
from tests.support.erp import product_raw, promotion_raw


def refusal(parse, raw: dict) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse(raw)
    return caught.value


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"price": str(2**63)}, "price", "out of range"),
        ({"price": 2**63}, "price", "is too large"),
        ({"price": "1e400"}, "price", "out of range"),
        ({"price": 10**5000}, "price", "is too large"),
        ({"price": "1" * 500}, "price", "too long for a number"),
        ({"net_quantity": "1e-400"}, "net_quantity", "out of range"),
        ({"net_quantity": "1e400"}, "net_quantity", "out of range"),
        ({"net_quantity": 1e308}, "net_quantity", "out of range"),
        ({"net_quantity": "0.0001"}, "net_quantity", "is outside 0.001 to 1,000,000"),
        ({"net_quantity": "NaN"}, "net_quantity", "not a finite number"),
        ({"name": "Br\ud800nză"}, "name", "lone UTF-16 surrogate U+D800 at character 2"),
        ({"name": "Lapte\x00"}, "name", "control character U+0000"),
        ({"name": "Lapte\n2 l"}, "name", "control character U+000A"),
        ({"brand": "Hoch\x85land"}, "brand", "control character U+0085"),
        ({"modified_at": "0001-01-01T00:00:00+01:00"}, "modified_at", "outside the years"),
        ({"modified_at": "9999-12-31T23:59:59-05:00"}, "modified_at", "outside the years"),
        ({"restock_date": "1999-12-31"}, "restock_date", "outside the years"),
        ({"gtin": "5" * 5000}, "gtin", "has 5000 characters"),
        ({"gtin": 10**5000}, "gtin", "must be a string of digits, got the number a number"),
        ({"gtin": ["5940000000011"]}, "gtin", "must be a string of digits"),
    ],
)
def test_out_of_bound_product_values_are_refused(changes: dict, field: str, reason: str) -> None:
    error = refusal(parse_product, product_raw(1, **changes))
    assert error.field == field
    assert reason in error.reason
    assert len(str(error)) < 200  # a reason quotes, it never copies a huge value


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"starts_at": "0001-01-01T00:00:00+01:00"}, "starts_at", "outside the years"),
        ({"ends_at": "9999-12-31T23:00:00-01:00"}, "ends_at", "outside the years"),
        ({"id": "PR\ud800"}, "id", "lone UTF-16 surrogate"),
        ({"id": "PR-1\x00"}, "id", "control character"),
        ({"id": "x" * 101}, "id", "has 101 characters; at most 100"),
        ({"id": 2**70}, "id", "is too large"),
        ({"status": "paused"}, "status", "must be 'active' or 'cancelled'"),
    ],
)
def test_out_of_bound_promotion_values_are_refused(changes: dict, field: str, reason: str) -> None:
    error = refusal(parse_promotion, promotion_raw("PR-1", 1, **changes))
    assert error.field == field
    assert reason in error.reason


def test_the_largest_price_passes_and_one_more_minor_unit_does_not() -> None:
    largest = f"{MAX_PRICE_MINOR // 100}.{MAX_PRICE_MINOR % 100:02d}"
    assert parse_product(product_raw(1, price=largest)).price_minor == MAX_PRICE_MINOR
    assert refusal(parse_product, product_raw(1, price=str(MAX_PRICE_MINOR // 100 + 1))).field


def test_offsets_become_utc_inside_the_range() -> None:
    record = parse_promotion(
        promotion_raw("PR-1", 1, starts_at="2026-11-24T00:00:00+02:00", ends_at="2100-12-31T12:00Z")
    )
    assert record.starts_at == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert record.ends_at.year == 2100


def test_text_is_normalised_to_nfc() -> None:
    decomposed = "Bra\u0302nza\u0306 telemea"  # â and ă as base letter + combining mark
    record = parse_product(product_raw(1, name=decomposed, brand="  Lidl\u0301 "))
    assert record.name == unicodedata.normalize("NFC", decomposed) == "Brânză telemea"
    assert record.brand == "Lidĺ"


def test_scripts_and_symbols_are_kept() -> None:
    for name in ("Сыр творожный", "Γιαούρτι στραγγιστό", "Żółty ser łagodny", "Süßrahm ß 🧀"):
        assert parse_product(product_raw(1, name=name)).name == name


def test_a_negative_stock_reads_as_zero_and_keeps_the_price() -> None:
    record = parse_product(product_raw(1, stock=-4, price="3.49"))
    assert (record.stock, record.oversold, record.price_minor) == (0, True, 349)
    assert record.stock_refused is None
    assert parse_product(product_raw(1, stock="-2")).stock == 0


@pytest.mark.parametrize("stock", [2.5, "lots", 2**63, "1e3", True, [3]])
def test_an_unreadable_stock_is_refused_on_its_own(stock: object) -> None:
    record = parse_product(product_raw(1, stock=stock, price="3.49"))
    assert record.price_minor == 349
    assert record.stock is None
    assert record.stock_refused is not None and record.stock_refused.field == "stock"


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("036000291452", "0036000291452"),  # GTIN-12 (UPC-A) -> its EAN-13
        ("0036000291452", "0036000291452"),
        ("00036000291452", "0036000291452"),  # GTIN-14 with a zero indicator
        ("96385074", "96385074"),  # GTIN-8 stays EAN-8
        ("10614141000415", "10614141000415"),  # indicator 1: a case, stays 14
    ],
)
def test_gtins_are_stored_in_display_form_with_one_key(written: str, stored: str) -> None:
    record = parse_product(product_raw(1, gtin=written))
    assert record.gtin == stored
    assert record.key == stored.zfill(14)


def test_a_wrong_check_digit_is_refused_in_every_form() -> None:
    for written in ("036000291453", "0036000291453", "00036000291453"):
        assert "check digit" in refusal(parse_product, product_raw(1, gtin=written)).reason


def test_a_cancel_needs_only_the_id() -> None:
    cancel = parse_promotion({"id": " PR-7 ", "status": "Cancelled"})
    assert cancel == PromotionCancel("PR-7", None)


def test_storable_text_escapes_what_databases_refuse() -> None:
    assert storable_text("Brânză") == "Brânză"
    assert storable_text("a\ud800b\x00c") == "a\\ud800b\\x00c"
    storable_text("a\ud800b").encode("utf-8")  # would raise before escaping
