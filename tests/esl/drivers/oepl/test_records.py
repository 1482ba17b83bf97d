"""Parsing what an AP says: records, pages, websocket messages, tag types."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller.esl.drivers.oepl import records
from esl_controller.esl.drivers.oepl.records import RecordError
from esl_controller.sims.oepl_ap import TAG_TYPES, EmulatedTag

MAC = "0000021F00000001"


def test_a_firmware_record_parses_with_its_telemetry() -> None:
    raw = EmulatedTag(MAC, 0x01, battery_mv=2750, rssi=-71, lqi=88, temperature=19).record()
    record = records.tag_record(raw, "test")
    assert (record.mac, record.hw_type, record.pending) == (MAC, 1, 0)
    assert (record.battery_mv, record.rssi, record.lqi, record.temperature) == (2750, -71, 88, 19)
    assert record.update_count == 0 and record.hash == "0" * 32


def test_a_bad_record_is_named_and_the_rest_of_the_list_stands() -> None:
    good = EmulatedTag(MAC, 0x01).record()
    bad = {**EmulatedTag("0000021F00000002", 0x01).record(), "pending": "many"}
    found, errors = records.tag_records({"tags": [bad, good]}, "GET /get_db")
    assert [r.mac for r in found] == [MAC]
    assert len(errors) == 1 and errors[0].kind == "tag_record"
    assert "0000021F00000002" in errors[0].detail and "pending" in errors[0].detail


def test_a_page_with_continu_points_further_and_one_pointing_back_is_refused() -> None:
    page = records.db_page(json.dumps({"tags": [], "continu": 13}), 0)
    assert page.next_pos == 13
    with pytest.raises(RecordError, match="continu"):
        records.db_page(json.dumps({"tags": [], "continu": 13}), 13)


def test_garbage_is_a_json_incident() -> None:
    with pytest.raises(RecordError) as caught:
        records.db_page('{"tags":[{"mac":"0000', 0)
    assert caught.value.kind == "json" and "GET /get_db?pos=0" in caught.value.detail


def test_sys_messages_carry_the_ap_clock() -> None:
    message, errors = records.ws_message('{"sys":{"currtime":1700000000,"runstate":2}}')
    assert message.clock == records.ApClock(1700000000, 2) and not errors


def test_a_tag_type_file_parses() -> None:
    info = records.tag_type(json.dumps(TAG_TYPES[0x3C].as_json()), 0x3C)
    assert (info.width, info.height, info.bpp) == (400, 300, 2)
    assert info.colortable["yellow"] == (255, 255, 0)


@pytest.mark.parametrize("text", ["0000021F00000001", "00:00:02:1f:00:00:00:01", "021F00000001"])
def test_macs_normalise_to_upper_hex(text: str) -> None:
    assert records.normal_mac(text) in (MAC, "021F00000001")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)


@given(st.text(max_size=300))
def test_any_text_is_a_message_or_a_record_error(text: str) -> None:
    try:
        records.ws_message(text)
    except RecordError as exc:
        assert exc.kind and exc.detail


@settings(max_examples=60, deadline=None)
@given(json_values)
def test_any_json_is_records_or_record_errors(value: object) -> None:
    text = json.dumps({"tags": value if isinstance(value, list) else [value]})
    try:
        found, errors = records.tag_records(json.loads(text), "fuzz")
    except RecordError as exc:
        assert exc.kind == "tag_list"
        return
    assert all(len(r.mac) in (12, 16) for r in found)
    assert all(e.kind == "tag_record" for e in errors)


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries(
        {"mac": st.text(max_size=20), "pending": json_values, "hwType": json_values},
        optional={"RSSI": json_values, "batteryMv": json_values, "updatecount": json_values},
    )
)
def test_records_with_wrong_fields_never_escape_as_other_errors(raw: dict) -> None:
    try:
        record = records.tag_record(raw, "fuzz")
    except RecordError:
        return
    assert isinstance(record.pending, int) and 0 <= record.hw_type <= 255


def test_a_routine_check_in_repeats_the_delivery_state_and_nothing_else() -> None:
    tag = EmulatedTag(MAC, 0x01)
    known = records.tag_record(tag.record(), "test")
    tag.lastseen, tag.rssi = 999, -80  # telemetry moves at every check-in
    assert records.same_state(tag.record(), known)
    tag.update_count = 1  # the tag took something: not routine
    assert not records.same_state(tag.record(), known)
    assert not records.same_state({**tag.record(), "pending": [0]}, known)
    assert not records.same_state("garbage", known)
