"""Report schedules: when a campaign's report is due and which period it covers (pure).

Periods are whole store-local days or weeks (Monday to Monday), so a daily report always
covers one calendar day of the store, 23 or 25 hours long on DST days. A `flight_end`
schedule fires once, when the campaign's flight ends, and covers the whole flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CADENCES = ("daily", "weekly", "flight_end")
# A worker that was down for weeks catches up at most this many periods per schedule;
# older periods can still be pulled over the API.
MAX_CATCH_UP_PERIODS = 31


@dataclass(frozen=True)
class Period:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def first_run_at(cadence: str, now: datetime, tz: str, flight_end: datetime) -> datetime:
    """When a new schedule first fires: the end of the current day/week, or of the flight."""
    if cadence == "flight_end":
        return as_utc(flight_end)
    return next_boundary(cadence, now, tz)


def next_boundary(cadence: str, after: datetime, tz: str) -> datetime:
    """The first store-local midnight (daily) or Monday midnight (weekly) after `after`."""
    local_day = as_utc(after).astimezone(ZoneInfo(tz)).date()
    if cadence == "daily":
        candidate = local_day + timedelta(days=1)
    elif cadence == "weekly":
        candidate = local_day + timedelta(days=7 - local_day.weekday())
    else:
        raise ValueError(f"cadence must be one of {', '.join(CADENCES)}, got {cadence!r}")
    return local_midnight(candidate, tz)


def period_ending(cadence: str, end: datetime, tz: str) -> Period:
    """The day or week that ends at the boundary `end`."""
    local_end = as_utc(end).astimezone(ZoneInfo(tz)).date()
    days = {"daily": 1, "weekly": 7}.get(cadence)
    if days is None:
        raise ValueError(f"no fixed period for cadence {cadence!r}")
    return Period(local_midnight(local_end - timedelta(days=days), tz), as_utc(end))


@dataclass(frozen=True)
class DuePlan:
    periods: tuple[Period, ...]
    next_run_at: datetime | None  # None: the schedule is finished (flight_end)


def plan_due(
    cadence: str,
    next_run_at: datetime,
    now: datetime,
    tz: str,
    flight: Period,
) -> DuePlan:
    """The periods a schedule owes by `now`, oldest first, and when it fires next.

    Daily and weekly schedules skip periods before the flight and stop after the period
    holding the flight's end.
    """
    run_at = as_utc(next_run_at)
    if run_at > now:
        return DuePlan((), run_at)
    if cadence == "flight_end":
        return DuePlan((flight,), None)
    periods: list[Period] = []
    while run_at <= now:
        period = period_ending(cadence, run_at, tz)
        if period.start >= flight.end:
            return DuePlan(tuple(periods[-MAX_CATCH_UP_PERIODS:]), None)
        if period.end > flight.start:  # days before the flight have nothing to report
            periods.append(period)
        run_at = next_boundary(cadence, run_at, tz)
    finished = period_ending(cadence, run_at, tz).start >= flight.end
    return DuePlan(tuple(periods[-MAX_CATCH_UP_PERIODS:]), None if finished else run_at)
