"""Property tests of the proof-of-play parser: whatever JSON a player sends, `check_play`
either returns a play whose every value is bounded, or refuses it with a known code and a
reason; it never raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esl_controller.ads import validation
from esl_controller.ads.validation import AcceptedPlay, RejectedReason, check_play

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RETENTION_DAYS = 90
SKEW_S = 120.0
PLAYERS = {"screen-01", "screen-02"}
CAMPAIGNS = {1, 2}
CODES = {
    validation.MALFORMED,
    validation.BAD_DURATION,
    validation.IN_FUTURE,
    validation.TOO_OLD,
    validation.UNKNOWN_PLAYER,
    validation.UNKNOWN_CAMPAIGN,
}
KEYS = (
    "play_id",
    "player",
    "item",
    "campaign_id",
    "creative_id",
    "override_id",
    "trigger_id",
    "started_at",
    "ended_at",
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

moments = st.datetimes(timezones=st.timezones()).map(
    lambda moment: moment.isoformat()
) | st.datetimes(
    min_value=datetime(2026, 8, 1), max_value=datetime(2026, 11, 24), timezones=st.timezones()
).map(lambda moment: moment.isoformat())

plausible = st.fixed_dictionaries(
    {
        "play_id": st.text(min_size=0, max_size=140) | json_values,
        "player": st.sampled_from(sorted(PLAYERS)) | json_values,
        "started_at": moments | json_values,
        "ended_at": moments | json_values,
    },
    optional={
        "item": st.text(max_size=200) | json_values,
        "campaign_id": st.sampled_from([1, 2, 3, None, 0, -1, True, 1.0]) | json_values,
        "creative_id": st.integers(min_value=-5, max_value=2**64) | json_values,
        "override_id": json_values,
        "trigger_id": json_values,
    },
)


def _assert_bounded_or_refused(outcome) -> None:
    if isinstance(outcome, RejectedReason):
        assert outcome.code in CODES
        assert outcome.reason
        assert len(outcome.play_id) <= validation.MAX_PLAY_ID_LENGTH
        return
    assert isinstance(outcome, AcceptedPlay)
    assert 0 < outcome.play_ms <= validation.MAX_PLAY_MS
    assert 0 < len(outcome.play_id) <= validation.MAX_PLAY_ID_LENGTH
    assert outcome.player_id in PLAYERS
    assert len(outcome.item_id) <= validation.MAX_PLAY_ID_LENGTH
    assert outcome.campaign_id is None or outcome.campaign_id in CAMPAIGNS
    for value in (outcome.creative_id, outcome.override_id, outcome.trigger_id):
        assert value is None or (isinstance(value, int) and not isinstance(value, bool))
        assert value is None or value >= 1
    assert outcome.started_at.tzinfo is UTC and outcome.ended_at.tzinfo is UTC
    assert outcome.started_at >= NOW - timedelta(days=RETENTION_DAYS)
    assert outcome.ended_at <= NOW + timedelta(seconds=SKEW_S)
    assert -24 * 60 < outcome.local_offset_minutes < 24 * 60


def _check(raw):
    return check_play(
        raw,
        now=NOW,
        retention_days=RETENTION_DAYS,
        max_skew_s=SKEW_S,
        known_players=PLAYERS,
        known_campaigns=CAMPAIGNS,
    )


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_is_refused_or_bounded(raw):
    _assert_bounded_or_refused(_check(raw))


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(plausible)
def test_any_play_shaped_object_is_refused_with_a_reason_or_bounded(raw):
    _assert_bounded_or_refused(_check(raw))


@given(
    st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:00-05:00"]),
    st.sampled_from(["0001-01-01T00:00:10+05:00", "9999-12-31T23:59:10-05:00"]),
)
def test_instants_outside_the_utc_range_are_refused_not_raised(started, ended):
    outcome = _check(
        {"play_id": "p-1", "player": "screen-01", "started_at": started, "ended_at": ended}
    )
    assert outcome.code == validation.MALFORMED
    assert "is out of range in UTC" in outcome.reason


@given(
    st.datetimes(min_value=datetime(2026, 9, 1), max_value=datetime(2026, 11, 23, 11)),
    st.integers(min_value=1, max_value=validation.MAX_PLAY_MS),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_a_well_formed_play_keeps_its_instant_and_offset(start, play_ms, offset_minutes):
    zone = __import__("datetime").timezone(timedelta(minutes=offset_minutes))
    started = start.replace(tzinfo=UTC).astimezone(zone)
    ended = started + timedelta(milliseconds=play_ms)
    raw = {
        "play_id": "p-1",
        "player": "screen-01",
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
    }
    outcome = _check(raw)
    if ended.astimezone(UTC) > NOW + timedelta(seconds=SKEW_S):
        assert outcome.code == validation.IN_FUTURE
        return
    assert isinstance(outcome, AcceptedPlay)
    assert outcome.started_at == start.replace(tzinfo=UTC)
    assert outcome.play_ms == play_ms
    assert outcome.local_offset_minutes == offset_minutes
