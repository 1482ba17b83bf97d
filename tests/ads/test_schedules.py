"""Report periods: whole store-local days and Monday-to-Monday weeks (DST-correct), catch-up
after downtime, nothing before the flight, and a stop after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esl_controller.ads.schedules import (
    MAX_CATCH_UP_PERIODS,
    Period,
    first_run_at,
    next_boundary,
    period_ending,
    plan_due,
)

TZ = "Europe/Bucharest"  # UTC+2, UTC+3 in summer; spring forward on 2026-03-29
FLIGHT = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 30, tzinfo=UTC))


def test_daily_period_on_the_dst_day_is_23_hours():
    end = next_boundary("daily", datetime(2026, 3, 29, 12, tzinfo=UTC), TZ)
    period = period_ending("daily", end, TZ)
    assert period.start == datetime(2026, 3, 28, 22, tzinfo=UTC)  # local midnight, UTC+2
    assert period.end == datetime(2026, 3, 29, 21, tzinfo=UTC)  # local midnight, UTC+3
    assert period.end - period.start == timedelta(hours=23)


def test_weekly_boundary_is_the_next_local_monday_midnight():
    wednesday = datetime(2026, 3, 11, 10, tzinfo=UTC)
    monday = next_boundary("weekly", wednesday, TZ)
    assert monday == datetime(2026, 3, 15, 22, tzinfo=UTC)  # Mon 16 March 00:00 local
    assert next_boundary("weekly", monday, TZ) == monday + timedelta(days=7)
    assert period_ending("weekly", monday, TZ).start == monday - timedelta(days=7)


def test_flight_end_schedule_fires_at_the_end_with_the_whole_flight():
    run_at = first_run_at("flight_end", datetime(2026, 3, 2, tzinfo=UTC), TZ, FLIGHT.end)
    assert run_at == FLIGHT.end
    assert plan_due("flight_end", run_at, run_at - timedelta(seconds=1), TZ, FLIGHT).periods == ()
    plan = plan_due("flight_end", run_at, run_at, TZ, FLIGHT)
    assert (plan.periods, plan.next_run_at) == ((FLIGHT,), None)


def test_catch_up_returns_each_missed_day_oldest_first():
    run_at = next_boundary("daily", datetime(2026, 3, 10, 12, tzinfo=UTC), TZ)
    plan = plan_due("daily", run_at, run_at + timedelta(days=2, hours=1), TZ, FLIGHT)
    assert [period.end for period in plan.periods] == [run_at + timedelta(days=n) for n in range(3)]
    assert plan.next_run_at == run_at + timedelta(days=3)


def test_catch_up_is_capped():
    run_at = next_boundary("daily", datetime(2026, 3, 1, 12, tzinfo=UTC), TZ)
    long_flight = Period(FLIGHT.start, datetime(2027, 1, 1, tzinfo=UTC))
    plan = plan_due("daily", run_at, run_at + timedelta(days=90), TZ, long_flight)
    assert len(plan.periods) == MAX_CATCH_UP_PERIODS
    assert plan.periods[-1].end <= run_at + timedelta(days=90)


def test_days_before_the_flight_are_skipped_and_the_schedule_stops_after_it():
    before = next_boundary("daily", datetime(2026, 2, 20, tzinfo=UTC), TZ)
    early = plan_due("daily", before, datetime(2026, 2, 25, tzinfo=UTC), TZ, FLIGHT)
    assert early.periods == () and early.next_run_at is not None
    last = plan_due("daily", before, datetime(2026, 6, 1, tzinfo=UTC), TZ, FLIGHT)
    assert last.next_run_at is None
    assert last.periods[-1].start < FLIGHT.end <= last.periods[-1].end


def test_unknown_cadence_is_refused():
    with pytest.raises(ValueError, match="cadence"):
        next_boundary("hourly", datetime(2026, 3, 1, tzinfo=UTC), TZ)
