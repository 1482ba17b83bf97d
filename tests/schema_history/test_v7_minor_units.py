"""The frozen copies that the schema 7 step runs agree with the live code they were taken
from, for as long as the live code is meant to agree (chain v2, today's currency table)."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from esl_controller.ads import chain, currency
from esl_controller.schema_history import v7_minor_units as frozen

codes = st.sampled_from([*sorted(frozen.V7_MINOR_DIGITS), "EUR", "RON", "usd", "XXX"])
small_text = st.text(max_size=12)
maybe_int = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1))
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]),
)
billed_rows = st.fixed_dictionaries(
    {
        "play_id": small_text,
        "campaign_id": maybe_int,
        "advertiser_id": maybe_int,
        "creative_id": maybe_int,
        "player_id": small_text,
        "zone_id": maybe_int,
        "started_at": instants,
        "play_ms": maybe_int,
        "multiplier_milli": maybe_int,
        "multiplier_source": small_text,
        "impressions_milli": maybe_int,
        "cpm_minor": maybe_int,
        "currency": codes,
    }
)


def test_the_frozen_field_list_is_the_v2_chain():
    assert chain.CHAIN_VERSION == frozen.V2_CHAIN_VERSION
    assert chain.BILLED_FIELDS == frozen.V2_BILLED_FIELDS
    assert chain.GENESIS_HASH == frozen.V2_GENESIS_HASH


@given(billed_rows, st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
def test_the_frozen_hash_is_the_v2_record_hash(row, prev):
    assert frozen.v2_record_hash(prev, row) == chain.record_hash(prev, row)


@given(st.integers(min_value=-(10**12), max_value=10**12), codes)
@example(-150, "JPY")
@example(150, "JPY")
@example(-5, "ISK")
def test_the_frozen_conversion_is_the_currency_conversion(hundredths, code):
    assert frozen.from_hundredths(hundredths, code) == currency.from_hundredths(hundredths, code)


def test_the_frozen_table_is_todays_iso_4217_table():
    assert frozen.V7_MINOR_DIGITS == currency.MINOR_DIGITS
