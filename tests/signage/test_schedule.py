from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from esl_controller.signage.playlists import (
    Playlist,
    PlaylistItem,
    Schedule,
    parse_daypart,
)
from esl_controller.signage.schedule import (
    PlayerSpot,
    is_active,
    next_change,
    resolve,
    wall_to_utc,
)

TZ = "Europe/Bucharest"
BUCHAREST = ZoneInfo(TZ)
FRI, SAT, SUN = 4, 5, 6


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    """A store-local wall time as the aware UTC instant the controller passes around."""
    return datetime(y, mo, d, h, mi, tzinfo=BUCHAREST, fold=fold).astimezone(UTC)


def schedule(*dayparts: str, weekdays=(), date_from=None, date_to=None) -> Schedule:
    return Schedule(
        weekdays=frozenset(weekdays),
        dayparts=tuple(parse_daypart(d) for d in dayparts),
        date_from=date_from,
        date_to=date_to,
    )


def playlist(name, priority=0, zones=(), players=(), sched=None) -> Playlist:
    return Playlist(
        name=name,
        title=name.title(),
        priority=priority,
        zones=frozenset(zones),
        players=frozenset(players),
        schedule=sched or Schedule(),
        items=(PlaylistItem(id=f"{name}-1", type="web", duration_s=5, url="http://x.org/"),),
    )


# --- is_active ----------------------------------------------------------------------------

# 2026-11-06 is a Friday.
FRIDAY_NIGHT = schedule("22:00-02:00", weekdays=[FRI])


def test_midnight_crossing_daypart_belongs_to_the_day_it_starts():
    assert is_active(FRIDAY_NIGHT, local(2026, 11, 6, 22, 0), TZ)
    assert is_active(FRIDAY_NIGHT, local(2026, 11, 7, 1, 30), TZ)  # Saturday 01:30
    assert not is_active(FRIDAY_NIGHT, local(2026, 11, 7, 2, 0), TZ)  # end is exclusive
    assert not is_active(FRIDAY_NIGHT, local(2026, 11, 6, 1, 30), TZ)  # Friday 01:30: Thu's
    assert not is_active(FRIDAY_NIGHT, local(2026, 11, 7, 22, 30), TZ)  # Saturday night


def test_friday_early_hours_play_when_thursday_is_on_too():
    thursday_and_friday = schedule("22:00-02:00", weekdays=[3, FRI])
    assert is_active(thursday_and_friday, local(2026, 11, 6, 1, 30), TZ)


def test_plain_daypart_start_inclusive_end_exclusive():
    mornings = schedule("06:00-11:00")
    assert not is_active(mornings, local(2026, 11, 6, 5, 59), TZ)
    assert is_active(mornings, local(2026, 11, 6, 6, 0), TZ)
    assert is_active(mornings, local(2026, 11, 6, 10, 59), TZ)
    assert not is_active(mornings, local(2026, 11, 6, 11, 0), TZ)


def test_daypart_uses_the_store_zone_not_utc():
    mornings = schedule("06:00-11:00")
    # 04:30 UTC is 06:30 in Bucharest in November (UTC+2), 04:30 in UTC.
    now = datetime(2026, 11, 6, 4, 30, tzinfo=UTC)
    assert is_active(mornings, now, TZ)
    assert not is_active(mornings, now, "UTC")


def test_weekdays_are_store_local():
    weekend = schedule(weekdays=[SAT, SUN])
    # Friday 23:30 UTC is Saturday 01:30 in Bucharest.
    assert is_active(weekend, datetime(2026, 11, 6, 23, 30, tzinfo=UTC), TZ)
    assert not is_active(weekend, datetime(2026, 11, 6, 23, 30, tzinfo=UTC), "UTC")


def test_date_range_is_inclusive_and_store_local():
    november = schedule(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    assert not is_active(november, local(2026, 10, 31, 23, 59), TZ)
    assert is_active(november, local(2026, 11, 1, 0, 0), TZ)
    assert is_active(november, local(2026, 11, 30, 23, 59), TZ)
    assert not is_active(november, local(2026, 12, 1, 0, 0), TZ)
    # 2026-10-31 22:30 UTC is already 1 November in Bucharest.
    assert is_active(november, datetime(2026, 10, 31, 22, 30, tzinfo=UTC), TZ)


def test_crossing_daypart_on_the_last_date_runs_into_the_next_day():
    last_night = schedule("22:00-02:00", date_to=date(2026, 11, 30))
    assert is_active(last_night, local(2026, 12, 1, 1, 0), TZ)
    assert not is_active(last_night, local(2026, 12, 1, 22, 30), TZ)


def test_daypart_on_the_night_the_clock_jumps_forward():
    # 2026-03-29: 03:00 EET becomes 04:00 EEST; 02:00-04:00 lasts one real hour.
    night = schedule("02:00-04:00")
    assert not is_active(night, local(2026, 3, 29, 1, 59), TZ)
    assert is_active(night, local(2026, 3, 29, 2, 0), TZ)
    assert is_active(night, datetime(2026, 3, 29, 0, 59, tzinfo=UTC), TZ)  # 02:59 EET
    assert not is_active(night, datetime(2026, 3, 29, 1, 0, tzinfo=UTC), TZ)  # 04:00 EEST
    assert wall_to_utc(date(2026, 3, 29), parse_daypart("04:00-05:00").start, BUCHAREST) == (
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    )


def test_a_daypart_starting_inside_the_skipped_hour_starts_at_the_jump():
    starts_in_gap = schedule("03:30-05:00")
    assert not is_active(starts_in_gap, datetime(2026, 3, 29, 0, 59, tzinfo=UTC), TZ)
    assert is_active(starts_in_gap, datetime(2026, 3, 29, 1, 0, tzinfo=UTC), TZ)
    jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert next_change(starts_in_gap, local(2026, 3, 29, 1, 0), BUCHAREST) == jump


def test_daypart_on_the_night_the_clock_falls_back():
    # 2026-10-25: 04:00 EEST becomes 03:00 EET; 03:00-04:00 happens twice.
    repeated = schedule("03:00-04:00")
    assert is_active(repeated, local(2026, 10, 25, 3, 30, fold=0), TZ)
    assert is_active(repeated, local(2026, 10, 25, 3, 30, fold=1), TZ)
    assert local(2026, 10, 25, 3, 30, fold=1) - local(2026, 10, 25, 3, 30) == timedelta(hours=1)


def test_naive_now_and_unknown_zone_are_refused():
    with pytest.raises(ValueError, match="aware"):
        is_active(FRIDAY_NIGHT, datetime(2026, 11, 6, 22, 0), TZ)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        is_active(FRIDAY_NIGHT, local(2026, 11, 6), "Mars/Olympus")


# --- resolve ------------------------------------------------------------------------------

PLAYERS = [PlayerSpot("screen-01", "dairy"), PlayerSpot("screen-02", "entrance")]


def test_highest_priority_active_playlist_wins_and_player_target_counts():
    playlists = [
        playlist("default", 0, zones=["dairy", "entrance"]),
        playlist("dairy-mornings", 10, zones=["dairy"], sched=schedule("06:00-11:00")),
        playlist("vip", 5, players=["screen-02"]),
    ]
    morning = resolve(playlists, PLAYERS, local(2026, 11, 6, 8, 0), TZ)
    assert morning["screen-01"].playlist == "dairy-mornings"
    assert morning["screen-01"].items == playlists[1].items
    assert morning["screen-02"].playlist == "vip"
    evening = resolve(playlists, PLAYERS, local(2026, 11, 6, 18, 0), TZ)
    assert evening["screen-01"].playlist == "default"


def test_ties_break_by_name_whatever_the_input_order():
    b, a = playlist("b-loop", 5, zones=["dairy"]), playlist("a-loop", 5, zones=["dairy"])
    for order in ([a, b], [b, a]):
        assert resolve(order, PLAYERS, local(2026, 11, 6, 8), TZ)["screen-01"].playlist == "a-loop"


def test_player_without_any_playlist_gets_none():
    result = resolve([playlist("x", zones=["electronics"])], PLAYERS, local(2026, 11, 6), TZ)
    assert result["screen-01"].playlist is None
    assert result["screen-01"].items == ()
    assert result["screen-01"].valid_until is None


def test_valid_until_is_the_end_of_the_winning_daypart():
    playlists = [
        playlist("default", 0, zones=["dairy"]),
        playlist("mornings", 10, zones=["dairy"], sched=schedule("06:00-11:00")),
    ]
    now = local(2026, 11, 6, 8, 0)
    resolved = resolve(playlists, PLAYERS, now, TZ)["screen-01"]
    assert resolved.valid_until == local(2026, 11, 6, 11, 0)
    after = resolve(playlists, PLAYERS, resolved.valid_until, TZ)["screen-01"]
    assert after.playlist == "default"
    assert after.valid_until == local(2026, 11, 7, 6, 0)  # when mornings start again


def test_valid_until_ignores_lower_ranked_playlists():
    playlists = [
        playlist("always", 10, zones=["dairy"]),
        playlist("lunch", 1, zones=["dairy"], sched=schedule("12:00-13:00")),
    ]
    assert resolve(playlists, PLAYERS, local(2026, 11, 6, 8), TZ)["screen-01"].valid_until is None


def test_valid_until_for_a_crossing_daypart_and_weekdays():
    playlists = [playlist("friday-night", 1, zones=["dairy"], sched=FRIDAY_NIGHT)]
    during = resolve(playlists, PLAYERS, local(2026, 11, 7, 1, 0), TZ)["screen-01"]
    assert during.playlist == "friday-night"
    assert during.valid_until == local(2026, 11, 7, 2, 0)
    weekend = playlist("weekend", 1, zones=["dairy"], sched=schedule(weekdays=[SAT, SUN]))
    friday = resolve([weekend], PLAYERS, local(2026, 11, 6, 15, 0), TZ)["screen-01"]
    assert friday.playlist is None
    assert friday.valid_until == local(2026, 11, 7, 0, 0)


def test_valid_until_for_a_future_date_range():
    christmas = schedule(date_from=date(2026, 12, 20), date_to=date(2026, 12, 26))
    playlists = [playlist("christmas", 1, zones=["dairy"], sched=christmas)]
    resolved = resolve(playlists, PLAYERS, local(2026, 12, 26, 15), TZ)["screen-01"]
    assert resolved.playlist == "christmas"
    assert resolved.valid_until == local(2026, 12, 27, 0, 0)


def test_valid_until_on_the_spring_forward_night():
    night = [playlist("night", 1, zones=["dairy"], sched=schedule("02:00-04:00"))]
    resolved = resolve(night, PLAYERS, datetime(2026, 3, 29, 0, 30, tzinfo=UTC), TZ)["screen-01"]
    assert resolved.playlist == "night"
    assert resolved.valid_until == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_valid_until_catches_a_daypart_re_entered_when_the_clock_falls_back():
    # 02:00-03:30 on 2026-10-25: on at 02:00 EEST, off at 03:30 EEST, on again when
    # 04:00 EEST becomes 03:00 EET, off at 03:30 EET.
    early = [playlist("early", 1, zones=["dairy"], sched=schedule("02:00-03:30"))]
    instants = [datetime(2026, 10, 24, 22, 30, tzinfo=UTC)]
    answers = []
    while len(instants) < 6:
        resolved = resolve(early, PLAYERS, instants[-1], TZ)["screen-01"]
        answers.append(resolved.playlist)
        instants.append(resolved.valid_until)
    assert instants[1:5] == [
        datetime(2026, 10, 24, 23, 0, tzinfo=UTC),  # 02:00 EEST: on
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 03:30 EEST: off
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # back to 03:00 EET: on again
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 03:30 EET: off
    ]
    assert answers[:5] == [None, "early", None, "early", None]


def test_every_valid_until_is_a_real_change_or_a_safe_boundary():
    """Stepping minute by minute never finds a change before the promised valid_until."""
    playlists = [
        playlist("default", 0, zones=["dairy"]),
        playlist("fri-night", 10, zones=["dairy"], sched=FRIDAY_NIGHT),
        playlist("mornings", 5, zones=["dairy"], sched=schedule("07:00-09:30", weekdays=[SAT])),
    ]
    now = local(2026, 11, 6, 20, 0)
    resolved = resolve(playlists, PLAYERS, now, TZ)["screen-01"]
    while now < local(2026, 11, 7, 12, 0):
        now += timedelta(minutes=1)
        current = resolve(playlists, PLAYERS, now, TZ)["screen-01"]
        if current.playlist != resolved.playlist:
            assert now >= resolved.valid_until
        if resolved.valid_until is not None and now >= resolved.valid_until:
            resolved = current
    assert resolved.playlist == "default"
