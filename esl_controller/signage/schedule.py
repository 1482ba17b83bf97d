"""Which playlist each player plays now, and until when that answer holds.

Schedules are store-local wall-clock rules. A daypart that crosses midnight belongs to the
day it starts on: "22:00-02:00" on Friday covers Saturday 01:30, and Friday 01:30 only if
Thursday is on too. Wall-clock comparison makes DST behave as people expect: on the night
the clock jumps from 03:00 to 04:00, "02:00-04:00" lasts one real hour and ends at 04:00.

Pure: `now` (aware) and the store's IANA time zone come from the caller.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache, partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from esl_controller.signage.playlists import Playlist, PlaylistItem, Schedule

_MIDNIGHT = time(0, 0)
# Offsets are sampled this often to find DST transitions; no zone changes twice in 2 hours.
_TRANSITION_SAMPLE = timedelta(hours=1)
_LOOKAHEAD = timedelta(hours=50)


@dataclass(frozen=True)
class PlayerSpot:
    id: str
    zone_id: str


@dataclass(frozen=True)
class ResolvedSchedule:
    player_id: str
    playlist: str | None
    items: tuple[PlaylistItem, ...]
    valid_until: datetime | None  # aware UTC; None: nothing scheduled can change it


@lru_cache(maxsize=64)
def store_zone(tz: str) -> tzinfo:
    """The store's time zone, or ValueError naming the bad IANA name."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {tz!r} (expected an IANA name like 'Europe/Bucharest')"
        ) from exc


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be an aware datetime, got naive {now!r}")


def _day_allowed(schedule: Schedule, day: date) -> bool:
    if schedule.weekdays and day.weekday() not in schedule.weekdays:
        return False
    if schedule.date_from is not None and day < schedule.date_from:
        return False
    return schedule.date_to is None or day <= schedule.date_to


def is_active_local(schedule: Schedule, local: datetime) -> bool:
    """`is_active` for a datetime already in store-local time (callers that check many)."""
    today = local.date()
    if not schedule.dayparts:
        return _day_allowed(schedule, today)
    wall = local.time().replace(tzinfo=None)
    for daypart in schedule.dayparts:
        if not daypart.crosses_midnight:
            if daypart.start <= wall < daypart.end and _day_allowed(schedule, today):
                return True
        elif wall >= daypart.start:
            if _day_allowed(schedule, today):
                return True
        elif wall < daypart.end and _day_allowed(schedule, today - timedelta(days=1)):
            return True
    return False


def is_active(schedule: Schedule, now: datetime, tz: str) -> bool:
    """Whether `schedule` applies at the instant `now`, read in the store's zone `tz`."""
    _require_aware(now)
    return is_active_local(schedule, now.astimezone(store_zone(tz)))


# --- when the answer can change -----------------------------------------------------------


def _offset_transitions(now: datetime, zone: tzinfo) -> list[datetime]:
    """UTC instants in the next ~2 days where the zone's UTC offset changes (DST)."""
    found = []
    start = now.astimezone(UTC)
    previous = start
    while previous < start + _LOOKAHEAD:
        current = previous + _TRANSITION_SAMPLE
        if previous.astimezone(zone).utcoffset() != current.astimezone(zone).utcoffset():
            differs = partial(_offset_differs, reference=previous, zone=zone)
            found.append(_bisect(previous, current, differs))
        previous = current
    return found


def _offset_differs(instant: datetime, reference: datetime, zone: tzinfo) -> bool:
    return instant.astimezone(zone).utcoffset() != reference.astimezone(zone).utcoffset()


def _bisect(low: datetime, high: datetime, reached: Callable[[datetime], bool]) -> datetime:
    """The first whole second in (low, high] where the monotonic predicate `reached` holds."""
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if reached(middle):
            high = middle
        else:
            low = middle
    return high


def wall_to_utc(day: date, wall: time, zone: tzinfo) -> datetime:
    """The first instant when the store's clock reads `wall` or later on `day`.

    A wall time inside a DST gap (03:30 on the night 03:00 jumps to 04:00) never appears on
    the clock; the change then happens at the jump itself.
    """
    local = datetime.combine(day, wall).replace(tzinfo=zone, fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    earlier = local.replace(fold=1).astimezone(UTC)
    target = datetime.combine(day, wall)
    return _bisect(
        min(earlier, instant),
        max(earlier, instant),
        lambda t: t.astimezone(zone).replace(tzinfo=None) >= target,
    )


def _wall_instants(day: date, wall: time, zone: tzinfo) -> tuple[datetime, ...]:
    """Every instant the clock starts reading `wall` on `day`: twice in a repeated hour."""
    first = wall_to_utc(day, wall, zone)
    repeat = datetime.combine(day, wall).replace(tzinfo=zone, fold=1).astimezone(UTC)
    if repeat != first and repeat.astimezone(zone).replace(tzinfo=None) == datetime.combine(
        day, wall
    ):
        return (first, repeat)
    return (first,)


def next_change(
    schedule: Schedule, now: datetime, zone: tzinfo, transitions: Sequence[datetime] = ()
) -> datetime | None:
    """The first instant after `now` when `schedule`'s activity could flip (None: never).

    Conservative: a boundary where nothing actually changes is harmless (the caller just
    re-resolves); a missed one would leave a screen on the wrong playlist.
    """
    if schedule.is_always:
        return None
    now_utc = now.astimezone(UTC)
    today = now_utc.astimezone(zone).date()
    candidates: list[datetime] = []
    days = [today + timedelta(days=offset) for offset in range(3)]
    if schedule.dayparts:
        walls = {w for d in schedule.dayparts for w in (d.start, d.end)}
        candidates += [t for day in days for wall in walls for t in _wall_instants(day, wall, zone)]
        candidates += transitions  # a clock set back can re-enter a daypart
    else:
        candidates += [wall_to_utc(day, _MIDNIGHT, zone) for day in days[1:]]
    for boundary in (schedule.date_from, schedule.date_to and schedule.date_to + timedelta(1)):
        if boundary is not None:
            candidates.append(wall_to_utc(boundary, _MIDNIGHT, zone))
    later = [c for c in candidates if c > now_utc]
    return min(later, default=None)


# --- resolution ---------------------------------------------------------------------------


def _rank(playlist: Playlist) -> tuple[int, str]:
    return (-playlist.priority, playlist.name)


def resolve(
    playlists: Iterable[Playlist], players: Iterable[PlayerSpot], now: datetime, tz: str
) -> dict[str, ResolvedSchedule]:
    """What every player plays at `now`: the best active playlist targeting it (or nothing).

    Best = highest priority, ties broken by playlist name. `valid_until` is the next instant
    the answer could change: a boundary of the winner or of any playlist ranked above it.
    """
    _require_aware(now)
    zone = store_zone(tz)
    local = now.astimezone(zone)
    ranked = sorted(playlists, key=_rank)
    active = {p.name: is_active_local(p.schedule, local) for p in ranked}
    by_player: dict[str, list[Playlist]] = defaultdict(list)
    by_zone: dict[str, list[Playlist]] = defaultdict(list)
    for playlist in ranked:
        for player_id in playlist.players:
            by_player[player_id].append(playlist)
        for zone_id in playlist.zones:
            by_zone[zone_id].append(playlist)
    changes: dict[str, datetime | None] = {}
    transitions: list[datetime] | None = None
    result = {}
    for spot in players:
        candidates = _merge_ranked(by_player.get(spot.id, ()), by_zone.get(spot.zone_id, ()))
        winner, deciders = None, []
        for playlist in candidates:
            deciders.append(playlist)
            if active[playlist.name]:
                winner = playlist
                break
        until: list[datetime] = []
        for playlist in deciders:
            if playlist.name not in changes:
                if transitions is None:
                    transitions = _offset_transitions(now, zone)
                changes[playlist.name] = next_change(playlist.schedule, now, zone, transitions)
            change = changes[playlist.name]
            if change is not None:
                until.append(change)
        result[spot.id] = ResolvedSchedule(
            player_id=spot.id,
            playlist=winner.name if winner else None,
            items=winner.items if winner else (),
            valid_until=min(until, default=None),
        )
    return result


def _merge_ranked(first: Sequence[Playlist], second: Sequence[Playlist]) -> list[Playlist]:
    """Both lists (each already ranked) as one ranked list without duplicates."""
    if not first:
        return list(second)
    if not second:
        return list(first)
    unique = {p.name: p for p in (*first, *second)}
    return sorted(unique.values(), key=_rank)
