"""Ingest rules for proof of play: specific reasons, local time to UTC, clock jumps flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from esl_controller.ads.validation import (
    BAD_DURATION,
    IN_FUTURE,
    MALFORMED,
    TOO_OLD,
    UNKNOWN_CAMPAIGN,
    UNKNOWN_PLAYER,
    AcceptedPlay,
    RejectedReason,
    check_play,
    clock_flag,
)

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def pop(**changes) -> dict:
    """A proof of play in the wire shape: the player's local time with its offset (+02:00)."""
    document = {
        "play_id": "0b6f1e2a-6c1f-4f4e-9a57-3b0e8b0f6a11",
        "player": "screen-07",
        "item": "milk",
        "creative_id": 11,
        "campaign_id": 7,
        "override_id": None,
        "trigger_id": None,
        "started_at": "2026-11-02T13:00:00+02:00",
        "ended_at": "2026-11-02T13:00:10.250+02:00",
    }
    document.update(changes)
    return document


def check(raw, **overrides):
    options = dict(
        now=NOW,
        retention_days=90,
        max_skew_s=30,
        known_players={"screen-07"},
        known_campaigns={7},
    )
    options.update(overrides)
    return check_play(raw, **options)


def test_a_good_play_is_accepted_in_utc_keeping_the_offset():
    accepted = check(pop())
    assert isinstance(accepted, AcceptedPlay)
    assert accepted.started_at == datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    assert accepted.started_at.utcoffset() == timedelta(0)
    assert accepted.local_offset_minutes == 120
    assert accepted.play_ms == 10_250
    assert (accepted.campaign_id, accepted.creative_id, accepted.item_id) == (7, 11, "milk")


def test_aware_datetimes_are_accepted_as_parse_pops_returns_them():
    local = datetime.fromisoformat("2026-11-02T07:00:00-05:00")
    accepted = check(pop(started_at=local, ended_at=local + timedelta(seconds=8)))
    assert isinstance(accepted, AcceptedPlay)
    assert accepted.local_offset_minutes == -300
    assert accepted.started_at == datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_house_content_without_a_campaign_is_accepted():
    accepted = check(pop(campaign_id=None, creative_id=None))
    assert isinstance(accepted, AcceptedPlay)
    assert accepted.campaign_id is None


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"ended_at": "2026-11-02T12:59:55+02:00"}, BAD_DURATION, "-5.000 s"),
        ({"ended_at": "2026-11-02T13:00:00+02:00"}, BAD_DURATION, "is not after"),
        ({"ended_at": "2026-11-03T13:00:01+02:00"}, BAD_DURATION, "longer than a day"),
        (
            {"started_at": "2026-11-02T14:10:00+02:00", "ended_at": "2026-11-02T14:10:10+02:00"},
            IN_FUTURE,
            "allowed clock skew 30 s",
        ),
        (
            {"started_at": "2026-07-01T10:00:00+03:00", "ended_at": "2026-07-01T10:00:10+03:00"},
            TOO_OLD,
            "90-day retention",
        ),
        ({"player": "screen-99"}, UNKNOWN_PLAYER, "'screen-99' is not known"),
        ({"campaign_id": 8}, UNKNOWN_CAMPAIGN, "campaign 8 does not exist"),
        ({"play_id": ""}, MALFORMED, "play_id"),
        ({"play_id": "x" * 129}, MALFORMED, "longer than 128"),
        ({"started_at": "2026-11-02T13:00:00"}, MALFORMED, "has no UTC offset"),
        ({"started_at": "yesterday"}, MALFORMED, "not an ISO-8601"),
        ({"ended_at": None}, MALFORMED, "ended_at"),
        ({"campaign_id": True}, MALFORMED, "campaign_id"),
        ({"creative_id": "11"}, MALFORMED, "creative_id"),
    ],
)
def test_bad_plays_are_refused_with_a_specific_reason(changes, code, words):
    refused = check(pop(**changes))
    assert isinstance(refused, RejectedReason)
    assert refused.code == code
    assert words in refused.reason
    assert refused.player_id == pop(**changes)["player"]


def test_within_the_skew_allowance_a_slightly_future_play_is_accepted():
    raw = pop(started_at="2026-11-02T14:00:10+02:00", ended_at="2026-11-02T14:00:20+02:00")
    assert isinstance(check(raw), AcceptedPlay)


def test_a_non_object_is_refused_not_raised():
    refused = check(["not", "a", "play"])
    assert isinstance(refused, RejectedReason)
    assert (refused.code, refused.play_id, refused.player_id) == (MALFORMED, "", "")


def test_a_mixed_batch_keeps_the_good_and_names_each_bad():
    batch = [
        pop(play_id="a"),
        pop(play_id="b", campaign_id=99),
        pop(play_id="c", ended_at="2026-11-02T12:00:00+02:00"),
        pop(
            play_id="d",
            started_at="2026-11-02T13:01:00+02:00",
            ended_at="2026-11-02T13:01:05+02:00",
        ),
    ]
    results = [check(raw) for raw in batch]
    assert [r.play_id for r in results if isinstance(r, AcceptedPlay)] == ["a", "d"]
    assert [(r.play_id, r.code) for r in results if isinstance(r, RejectedReason)] == [
        ("b", UNKNOWN_CAMPAIGN),
        ("c", BAD_DURATION),
    ]


def window(play_id: str, start_s: float, end_s: float, naive: bool = False) -> SimpleNamespace:
    base = NOW.replace(tzinfo=None) if naive else NOW
    return SimpleNamespace(
        play_id=play_id,
        started_at=base + timedelta(seconds=start_s),
        ended_at=base + timedelta(seconds=end_s),
    )


def test_back_to_back_plays_are_not_flagged():
    previous = [window("a", 0, 10), window("b", 10, 20)]
    assert clock_flag(previous, window("c", 20, 30), max_skew_s=2) is None
    assert clock_flag(previous, window("c", 19, 29), max_skew_s=2) is None  # within skew


def test_a_play_repeating_an_interval_is_flagged_as_a_clock_jump_back():
    previous = [window("a", 3600, 3610, naive=True), window("b", 3610, 3620, naive=True)]
    flag = clock_flag(previous, window("c", 0, 3605), max_skew_s=2)
    assert flag is not None
    assert "jumped back about 3,600 s" in flag
    assert "play a" in flag


def test_an_overlap_beyond_the_skew_is_flagged():
    flag = clock_flag([window("a", 0, 10)], window("b", 5, 15), max_skew_s=2)
    assert flag == "overlaps play a by 5.0 s (player clock unreliable)"


def test_the_same_play_again_is_not_a_clock_jump():
    assert clock_flag([window("a", 0, 10)], window("a", 0, 10), max_skew_s=2) is None
