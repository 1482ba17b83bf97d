"""Whose record is it: the `store` field judged against the reading store and the feed's
scope, without a feed or a database."""

from __future__ import annotations

import pytest

from esl_controller.erp.feed_scope import (
    FeedScope,
    OtherStore,
    judge_store,
    parse_feed_scope,
    record_store,
)
from esl_controller.erp.records import RecordError
from tests.support.erp import product_raw


def test_a_store_feed_applies_records_of_no_store_or_its_own() -> None:
    assert judge_store(product_raw(1), FeedScope.STORE, "north", "gtin") is None
    own = product_raw(1, store="north")
    assert judge_store(own, FeedScope.STORE, "north", "gtin") is None


def test_a_store_feed_refuses_a_record_naming_another_store_by_its_gtin() -> None:
    raw = product_raw(1, store="south")
    with pytest.raises(RecordError) as refused:
        judge_store(raw, FeedScope.STORE, "north", "gtin")
    assert refused.value.field == "store"
    assert refused.value.key == raw["gtin"]
    assert "names store 'south'" in refused.value.reason
    assert "store 'north' alone" in refused.value.reason


def test_a_chain_feed_passes_over_other_stores_and_refuses_a_record_of_no_store() -> None:
    assert judge_store(product_raw(1, store="north"), FeedScope.CHAIN, "north", "gtin") is None
    other = judge_store(product_raw(1, store="south"), FeedScope.CHAIN, "north", "gtin")
    assert isinstance(other, OtherStore) and other.store_id == "south"
    with pytest.raises(RecordError, match="names no store, and this is a chain feed"):
        judge_store(product_raw(1), FeedScope.CHAIN, "north", "gtin")


@pytest.mark.parametrize(
    ("value", "named"),
    [(None, None), ("", None), ("  ", None), (" north ", "north"), (17, "17")],
)
def test_the_store_field_blank_is_not_given_and_a_number_is_its_digits(value, named) -> None:
    assert record_store({"store": value}) == named


@pytest.mark.parametrize("value", [["north"], True, 1.5, "x" * 65])
def test_a_store_field_that_is_no_store_id_is_refused(value) -> None:
    with pytest.raises(RecordError) as refused:
        record_store({"store": value})
    assert refused.value.field == "store"


def test_a_scope_is_store_or_chain() -> None:
    assert parse_feed_scope(" Chain ") is FeedScope.CHAIN
    with pytest.raises(ValueError, match="ESL_ERP_FEED_SCOPE='region' is not a feed scope"):
        parse_feed_scope("region")
