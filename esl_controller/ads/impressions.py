"""Impression arithmetic: plays x audience multiplier, and spend at a CPM. Pure and exact.

Units, everywhere in the ads package (IAB / OpenRTB 2.6 DOOH terms):
- impressions and multipliers in thousandths (`*_milli`, int): 2.5 people per play = 2500;
- money in minor units (int): EUR 12.50 = 1250;
- durations in milliseconds (int).

A play's impressions equal its multiplier (one play x audience per play). Spend is
impressions / 1000 x CPM; kept exact as the integer `spend_basis = impressions_milli x
cpm_minor` (minor units x 1,000,000) and rounded half up only once, from a sum of bases, so
every total is reproducible to the cent however it is grouped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

MEASURED = "measured"
DECLARED = "declared"
MULTIPLIER_SOURCES = (MEASURED, DECLARED)
DEFAULT_MULTIPLIER_MILLI = 1000  # a screen that declares nothing counts one impression per play
MAX_MULTIPLIER = 100_000  # audience per play; above this a declaration is a typo
SPEND_BASIS_PER_MINOR = 1_000_000  # impressions_milli x cpm_minor per minor unit of money
ANY_TIME = "*"


@dataclass(frozen=True)
class PlayFacts:
    """The facts of one accepted play an impression is computed from (UTC, aware)."""

    play_id: str
    player_id: str
    zone_id: str
    campaign_id: int | None
    creative_id: int | None
    started_at: datetime
    ended_at: datetime

    @property
    def play_ms(self) -> int:
        return duration_ms(self.started_at, self.ended_at)


@dataclass(frozen=True)
class ImpressionFacts:
    """What an Impression row bills for one play."""

    play_ms: int
    multiplier_milli: int
    multiplier_source: str
    impressions_milli: int
    cpm_minor: int
    spend_basis: int  # impressions_milli x cpm_minor


@dataclass(frozen=True)
class DeclaredDaypart:
    start: time
    end: time  # exclusive; end <= start crosses midnight
    multiplier_milli: int

    def covers(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class DeclaredAudience:
    """A screen's declared audience per play, by store-local daypart, plus a fallback ("*")."""

    dayparts: tuple[DeclaredDaypart, ...]
    fallback_milli: int | None

    def multiplier_milli(self, local_time: time) -> int:
        for daypart in self.dayparts:
            if daypart.covers(local_time):
                return daypart.multiplier_milli
        if self.fallback_milli is not None:
            return self.fallback_milli
        return DEFAULT_MULTIPLIER_MILLI


def divide_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half up (away from zero for halves); exact for any size."""
    if denominator <= 0:
        raise ValueError(f"denominator must be > 0, got {denominator}")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def spend_minor(spend_basis: int) -> int:
    """Money in minor units from a (summed) spend basis, rounded half up."""
    return divide_half_up(spend_basis, SPEND_BASIS_PER_MINOR)


def duration_ms(started_at: datetime, ended_at: datetime) -> int:
    """Whole milliseconds between two instants, rounded half up from microseconds."""
    delta = ended_at - started_at
    return divide_half_up(delta // timedelta(microseconds=1), 1000)


def to_milli(value: object, what: str) -> int:
    """A JSON number (people per play) in thousandths, half up; refuses bools, NaN, negatives."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    if not math.isfinite(value) or value < 0 or value > MAX_MULTIPLIER:
        raise ValueError(f"{what}: must be between 0 and {MAX_MULTIPLIER}, got {value!r}")
    milli = Decimal(str(value)) * 1000
    return int(milli.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _parse_clock(text: str, what: str) -> time:
    try:
        hours, minutes = text.split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not HH:MM") from None


def _parse_daypart(key: str, value: object) -> DeclaredDaypart:
    what = f"declared audience {key!r}"
    start_text, separator, end_text = key.partition("-")
    if not separator:
        raise ValueError(f"{what}: a daypart is 'HH:MM-HH:MM' or '*'")
    start, end = _parse_clock(start_text, what), _parse_clock(end_text, what)
    if start == end:
        raise ValueError(f"{what}: start and end are equal; use '*' for all day")
    return DeclaredDaypart(start, end, to_milli(value, what))


def _minutes(daypart: DeclaredDaypart) -> set[int]:
    start = daypart.start.hour * 60 + daypart.start.minute
    end = daypart.end.hour * 60 + daypart.end.minute
    length = (end - start) % 1440
    return {(start + offset) % 1440 for offset in range(length)}


def parse_declared_audience(declared_json: str) -> DeclaredAudience:
    """`Player.declared_audience`: {"07:00-10:00": 3.5, "22:00-02:00": 0.5, "*": 2.0}.

    Dayparts are store-local, end exclusive, may cross midnight, and must not overlap (a
    play would otherwise have two declared audiences). ValueError names the bad entry.
    """
    try:
        document = json.loads(declared_json or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"declared audience: not JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise ValueError("declared audience: expected an object of daypart -> audience per play")
    fallback = None
    if ANY_TIME in document:
        fallback = to_milli(document[ANY_TIME], "declared audience '*'")
    dayparts: list[DeclaredDaypart] = []
    covered: dict[int, str] = {}
    for key in sorted(k for k in document if k != ANY_TIME):
        daypart = _parse_daypart(key, document[key])
        for minute in _minutes(daypart):
            if minute in covered:
                clash = f"{covered[minute]!r} and {key!r}"
                raise ValueError(f"declared audience: dayparts {clash} overlap")
            covered[minute] = key
        dayparts.append(daypart)
    return DeclaredAudience(tuple(dayparts), fallback)


def declared_multiplier_milli(declared_json: str, local_time: time) -> int:
    """The declared audience per play (x1000) for a store-local time of day."""
    return parse_declared_audience(declared_json).multiplier_milli(local_time)


def measured_multiplier_milli(
    audience_counts: Sequence[tuple[datetime, int]], start: datetime, end: datetime
) -> int | None:
    """Mean audience count (x1000, half up) of the sensor readings inside [start, end].

    None when no reading falls inside the play window: the caller then uses the declared
    multiplier. Negative counts are refused (the trigger parser never lets one through).
    """
    inside = [count for at, count in audience_counts if start <= at <= end]
    if not inside:
        return None
    if any(isinstance(count, bool) or count < 0 for count in inside):
        raise ValueError(f"audience counts must be >= 0, got {inside}")
    return divide_half_up(sum(inside) * 1000, len(inside))


def choose_multiplier(
    *,
    has_audience_sensor: bool,
    audience_counts: Sequence[tuple[datetime, int]],
    declared_json: str,
    started_at: datetime,
    ended_at: datetime,
    tz: str,
) -> tuple[int, str]:
    """(multiplier_milli, source): measured when the screen's sensor saw the play window,
    else the screen's declaration for the store-local time the play started."""
    if has_audience_sensor:
        measured = measured_multiplier_milli(audience_counts, started_at, ended_at)
        if measured is not None:
            return measured, MEASURED
    local_time = started_at.astimezone(ZoneInfo(tz)).time().replace(tzinfo=None)
    return declared_multiplier_milli(declared_json, local_time), DECLARED


def impression_for(
    play: PlayFacts, multiplier_milli: int, source: str, cpm_minor: int
) -> ImpressionFacts:
    """The billed figures of one play: one play x multiplier impressions at the campaign CPM."""
    if source not in MULTIPLIER_SOURCES:
        raise ValueError(f"multiplier source must be one of {MULTIPLIER_SOURCES}, got {source!r}")
    if isinstance(multiplier_milli, bool) or not isinstance(multiplier_milli, int):
        raise ValueError(f"multiplier_milli must be an int, got {multiplier_milli!r}")
    if multiplier_milli < 0:
        raise ValueError(f"multiplier_milli must be >= 0, got {multiplier_milli}")
    if isinstance(cpm_minor, bool) or not isinstance(cpm_minor, int) or cpm_minor < 0:
        raise ValueError(f"cpm_minor must be an int >= 0, got {cpm_minor!r}")
    play_ms = play.play_ms
    if play_ms <= 0:
        raise ValueError(f"play {play.play_id}: duration must be > 0 ms, got {play_ms}")
    impressions_milli = multiplier_milli  # one play
    return ImpressionFacts(
        play_ms=play_ms,
        multiplier_milli=multiplier_milli,
        multiplier_source=source,
        impressions_milli=impressions_milli,
        cpm_minor=cpm_minor,
        spend_basis=impressions_milli * cpm_minor,
    )


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken as UTC (SQLite hands stored UTC back naive)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
