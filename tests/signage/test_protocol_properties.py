"""Property tests: whatever a player (or anyone on its topics) publishes, the status and
proof-of-play parsers return bounded values or refuse with SignageProtocolError. Nothing
else is raised, and no id passes that a database column could not hold."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esl_controller.signage import protocol
from esl_controller.signage.protocol import BatchError, Play, PlayerStatus, SignageProtocolError

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
ids = st.integers(min_value=-1, max_value=2**70) | json_values
moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
).map(datetime.isoformat)

status_shaped = st.fixed_dictionaries(
    {"state": st.sampled_from(["online", "offline", "dozing"]) | json_values},
    optional={
        "now_playing": st.text(max_size=140) | json_values,
        "override_id": ids,
        "cache_items": ids,
    },
)
play_shaped = st.fixed_dictionaries(
    {
        "play_id": st.uuids(version=4).map(str) | st.text(max_size=40) | json_values,
        "player": st.sampled_from(["scr-1", "SCR 1", ""]) | json_values,
        "item": st.text(max_size=140)
        | st.sampled_from(["\ud800", "a\udfffb", "nul\x00"])
        | json_values,
        "started_at": moments | json_values,
        "ended_at": moments | json_values,
    },
    optional={"creative_id": ids, "campaign_id": ids, "override_id": ids, "trigger_id": ids},
)


def _payload(document: Any) -> bytes:
    return json.dumps(document).encode()


def _assert_bounded_id(value: Any) -> None:
    assert value is None or (type(value) is int and 1 <= value <= protocol.MAX_ROW_ID), value


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(status_shaped | json_values)
def test_any_player_status_is_bounded_or_refused(document: Any) -> None:
    try:
        status = protocol.parse_player_status(_payload(document))
    except SignageProtocolError as exc:
        assert str(exc)
        return
    assert isinstance(status, PlayerStatus)
    assert status.state in protocol.PLAYER_STATES
    _assert_bounded_id(status.override_id)
    assert status.cache_items is None or 0 <= status.cache_items <= protocol.MAX_CACHE_ITEMS
    assert status.now_playing is None or 1 <= len(status.now_playing) <= 128


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(play_shaped, min_size=1, max_size=4) | play_shaped | json_values)
def test_any_pop_batch_keeps_only_bounded_plays(document: Any) -> None:
    try:
        plays = protocol.parse_pops(_payload(document))
    except BatchError as exc:
        plays = exc.valid
    except SignageProtocolError as exc:
        assert str(exc)
        return
    for play in plays:
        assert isinstance(play, Play)
        assert uuid.UUID(play.play_id).version == 4
        assert 1 <= len(play.item) <= 128
        play.item.encode()  # storable: no lone surrogate
        assert "\x00" not in play.item
        assert play.started_at.tzinfo is not None and play.started_at < play.ended_at
        for value in (play.creative_id, play.campaign_id, play.override_id, play.trigger_id):
            _assert_bounded_id(value)
        play.started_at.astimezone(UTC)  # convertible, whatever its offset


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_any_bytes_on_the_pop_topic_are_plays_or_a_refusal(payload: bytes) -> None:
    try:
        plays = protocol.parse_pops(payload)
    except BatchError as exc:
        plays = exc.valid
    except SignageProtocolError:
        return
    assert all(isinstance(play, Play) for play in plays)
