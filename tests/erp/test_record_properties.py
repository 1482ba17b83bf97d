"""Property tests: whatever an ERP sends, a record parser returns bounded values or refuses
with a field and a reason. It never raises anything else, and never lets through a value a
later stage (database, unit pricing, renderer) could choke on."""

from __future__ import annotations

import math
import unicodedata
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esl_controller.catalogue.units import unit_price
from esl_controller.erp.feeds.base import FeedError
from esl_controller.erp.feeds.csv_feed import PRODUCT_COLUMNS, parse_rows
from esl_controller.erp.records import (
    EARLIEST,
    LATEST,
    MAX_PRICE_MINOR,
    MAX_STOCK,
    ProductRecord,
    PromotionCancel,
    PromotionRecord,
    RecordError,
    parse_product,
    parse_promotion,
)
from tests.support.erp import product_raw, promotion_raw

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any JSON value, including the awkward ones: huge and tiny numbers, infinities (Python's
# json reads 1e400 as inf), lone surrogates (json.loads accepts "\ud800").
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([2**63, -(2**63) - 1, 10**40])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["\ud800", "1e-400", "1e400", "NaN", "-0", "12,99", "0001-01-01T00:00+01:00"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
product_fields = st.sampled_from(
    ["gtin", "name", "brand", "price", "currency", "net_quantity", "unit", "stock",
     "restock_date", "status", "modified_at"]
)  # fmt: skip
promotion_fields = st.sampled_from(
    ["id", "gtin", "price", "currency", "starts_at", "ends_at", "modified_at", "status"]
)
# Plausible values for each field, odd ones among them, so many records get far in.
field_values = json_values | st.sampled_from(
    ["5940000000011", "036000291452", "96385074", "12.99", "RON", "JPY", "400", "g", "kg",
     "2026-11-24T00:00:00Z", "2026-11-30T22:00:00+02:00", "2100-12-31T23:59:59Z",
     "1999-12-31T23:59:59Z", "2026-12-01", "active", "delisted", "cancelled", "-3", "0.001"]
)  # fmt: skip


def _bounded_text(text: str) -> bool:
    return (
        text == unicodedata.normalize("NFC", text)
        and text == text.strip()
        and not any(unicodedata.category(char) in ("Cc", "Cs") for char in text)
    )


def _in_range(moment: datetime | None) -> bool:
    return moment is None or (moment.tzinfo is UTC and EARLIEST <= moment <= LATEST)


def check_product(record: ProductRecord) -> None:
    assert len(record.key) == 14 and record.key.isdigit()
    assert 0 <= record.price_minor <= MAX_PRICE_MINOR
    assert record.stock is None or 0 <= record.stock <= MAX_STOCK
    assert record.net_quantity is None or (
        math.isfinite(record.net_quantity) and 0.001 <= record.net_quantity <= 1_000_000
    )
    assert _bounded_text(record.name) and record.name and _bounded_text(record.brand)
    assert _in_range(record.modified_at)
    assert record.restock_date is None or EARLIEST.date() <= record.restock_date <= LATEST.date()
    # The next stages must accept it: unit pricing is where 1e-400 used to crash labels.
    quote = unit_price(record.price_minor, record.currency, record.net_quantity, record.unit)
    assert quote is None or 0 <= quote.minor < 2**63


def check_promotion(record: PromotionRecord | PromotionCancel) -> None:
    assert _bounded_text(record.external_id) and 0 < len(record.external_id) <= 100
    if isinstance(record, PromotionCancel):
        return
    assert 0 <= record.price_minor <= MAX_PRICE_MINOR
    assert _in_range(record.starts_at) and _in_range(record.ends_at)
    assert record.starts_at < record.ends_at


def judged(parse, raw: Any):
    try:
        return parse(raw)
    except RecordError as error:
        assert error.field and error.reason
        str(error).encode("utf-8", "backslashreplace")
        return None


@PROPERTY
@given(json_values)
def test_any_json_value_is_a_product_or_a_reasoned_refusal(raw: Any) -> None:
    record = judged(parse_product, raw)
    if record is not None:
        check_product(record)


@PROPERTY
@given(st.dictionaries(product_fields, field_values, max_size=11))
def test_any_product_object_is_a_product_or_a_reasoned_refusal(changes: dict) -> None:
    record = judged(parse_product, product_raw(1, **changes))
    if record is not None:
        check_product(record)


@PROPERTY
@given(st.dictionaries(promotion_fields, field_values, max_size=8))
def test_any_promotion_object_is_a_promotion_or_a_reasoned_refusal(changes: dict) -> None:
    record = judged(parse_promotion, promotion_raw("PR-1", 1, **changes))
    if record is not None:
        check_promotion(record)


csv_cells = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), max_size=20
) | st.sampled_from(
    ["5940000000011", "12,99", "12.99", "1.299,00", "-5", "RON", "400", "g", '"', ";", ","]
)


@PROPERTY
@given(
    st.lists(st.lists(csv_cells, min_size=1, max_size=len(PRODUCT_COLUMNS) + 2), max_size=6),
    st.sampled_from([",", ";"]),
    st.sampled_from([".", ","]),
)
def test_any_csv_rows_are_products_or_reasoned_refusals(
    rows: list[list[str]], delimiter: str, decimal: str
) -> None:
    lines = [delimiter.join(PRODUCT_COLUMNS), *(delimiter.join(cells) for cells in rows)]
    try:
        records = parse_rows("\n".join(lines), "products", "prices.csv", decimal=decimal)
    except FeedError as error:  # only a file-level problem stops the file
        assert "prices.csv" in str(error)
        return
    for raw in records:
        assert isinstance(raw["_row"], int)
        record = judged(parse_product, raw)
        if record is not None:
            check_product(record)


@PROPERTY
@given(st.text(max_size=200))
def test_any_csv_text_parses_or_is_refused_as_a_file(text: str) -> None:
    try:
        records = parse_rows(text, "products", "prices.csv", decimal=",")
    except FeedError:
        return
    for raw in records:
        judged(parse_product, raw)
