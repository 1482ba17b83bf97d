"""Property tests: whatever a base station (or anyone on its topics) publishes, the ack and
status parsers return bounded values or refuse with ProtocolError. Nothing else is raised,
and nothing passes that a database column or a dispatcher step could choke on."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esl_controller.esl.drivers.mqtt import protocol
from esl_controller.esl.drivers.mqtt.protocol import Ack, BatchError, ProtocolError, StationStatus

INT64_MAX = 2**63 - 1

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

ack_shaped = st.fixed_dictionaries(
    {
        "label": st.sampled_from(["L-1", "0A1B2C3D4E5F", "L 1", "", "l/1"]) | json_values,
        "seq": st.integers(min_value=-1, max_value=2**64) | json_values,
        "status": st.sampled_from(["ok", "nack", "maybe"]) | json_values,
        "kind": st.sampled_from(["image", "led", "page", "nfc"]) | json_values,
    },
    optional={
        "reason": st.text(max_size=600) | json_values,
        "battery": st.integers(min_value=-5, max_value=2**64) | json_values,
        "signal": st.integers(min_value=-(2**64), max_value=5) | json_values,
        "temperature": st.floats() | json_values,
    },
)

status_shaped = st.fixed_dictionaries(
    {"state": st.sampled_from(["online", "offline", "asleep"]) | json_values},
    optional={
        "queue": st.integers(min_value=-1, max_value=10**30) | json_values,
        "firmware": st.text(max_size=120) | json_values,
        "uptime": st.integers(min_value=-1, max_value=10**30) | json_values,
        "labels": st.integers(min_value=-1, max_value=10**30) | json_values,
    },
)


def _payload(document: Any) -> bytes:
    return json.dumps(document).encode()


def _assert_bounded_ack(ack: Ack) -> None:
    assert isinstance(ack, Ack)
    protocol.validate_id("label", ack.label)
    assert 0 <= ack.seq <= protocol.MAX_SEQ
    assert ack.status in protocol.ACK_STATUSES
    assert ack.status == "ok" or ack.reason
    assert ack.reason is None or 1 <= len(ack.reason) <= 500
    assert ack.battery is None or 0 <= ack.battery <= 100
    assert ack.signal is None or -120 <= ack.signal <= 0
    assert ack.temperature is None or (
        math.isfinite(ack.temperature) and -50 <= ack.temperature <= 100
    )


def _acks_or_refused(payload: bytes) -> list[Ack]:
    try:
        return protocol.parse_acks(payload)
    except BatchError as exc:
        assert str(exc)
        return exc.valid
    except ProtocolError as exc:
        assert str(exc)
        return []


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_on_the_ack_topic_is_acks_or_a_refusal(document: Any) -> None:
    for ack in _acks_or_refused(_payload(document)):
        _assert_bounded_ack(ack)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ack_shaped, min_size=1, max_size=5) | ack_shaped)
def test_any_ack_shaped_batch_keeps_only_bounded_acks(document: Any) -> None:
    for ack in _acks_or_refused(_payload(document)):
        _assert_bounded_ack(ack)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_any_bytes_on_the_ack_topic_are_acks_or_a_refusal(payload: bytes) -> None:
    for ack in _acks_or_refused(payload):
        _assert_bounded_ack(ack)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(status_shaped | json_values)
def test_any_status_is_bounded_or_refused(document: Any) -> None:
    try:
        status = protocol.parse_status(_payload(document))
    except ProtocolError as exc:
        assert str(exc).startswith("status")
        return
    assert isinstance(status, StationStatus)
    assert status.state in protocol.STATION_STATES
    for figure in (status.queue, status.labels):
        assert figure is None or 0 <= figure <= protocol.MAX_STATION_COUNT
    assert status.uptime is None or 0 <= status.uptime <= protocol.MAX_UPTIME_S < INT64_MAX
    assert status.firmware is None or len(status.firmware) <= 100
