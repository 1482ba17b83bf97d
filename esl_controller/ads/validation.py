"""Ingest rules for proof of play. Pure: the caller passes the clock and what it knows.

A play is refused, with a specific reason, when it is malformed, its end is not after its
start, it lasts longer than a day, it ends in the future beyond the clock-skew allowance, it
started before the retention window, or its player or campaign is unknown. Times arrive in
the player's local time with an offset and leave as aware UTC (the offset is kept).

Billing rules (`billing_refusal`), once a play parses: it must come from the player the
credential or topic names, its campaign must run in the screen's store and target its zone
(by id or by kind) and be in flight when
the play started, and it may last no longer than its creative (or, without one, the
campaign's longest creative) plus DURATION_TOLERANCE_MS for transitions and clock ticks.

Overlaps: a screen shows one thing at a time, so a play overlapping an earlier play of the
same screen by more than OVERLAP_TOLERANCE_S is a clock that jumped back or a buffer replayed
under fresh ids. It is kept with a flag, so a person can look, but billed only once (the
earlier play); idempotency by play id keeps a replayed buffer with its old ids from counting.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from esl_controller.ads.impressions import as_utc, duration_ms

MAX_PLAY_ID_LENGTH = 128
MAX_PLAY_MS = 86_400_000

# reason codes (the `code` of a RejectedReason): stable, for counting per player
MALFORMED = "malformed"
BAD_DURATION = "bad_duration"
IN_FUTURE = "in_future"
TOO_OLD = "too_old"
UNKNOWN_PLAYER = "unknown_player"
UNKNOWN_CAMPAIGN = "unknown_campaign"
WRONG_PLAYER = "wrong_player"
NOT_A_PLAYER = "not_a_player"  # the credential names no player: nothing it reports is billed
NOT_TARGETED = "not_targeted"
OUT_OF_FLIGHT = "out_of_flight"
TOO_LONG = "longer_than_creative"

# A play may run this much longer than its creative: transitions, decode start, clock ticks.
DURATION_TOLERANCE_MS = 2_000
# Plays of one screen may overlap this much (a transition, an NTP step) before one of them
# is treated as a duplicate and not billed.
OVERLAP_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class AcceptedPlay:
    play_id: str
    player_id: str
    item_id: str
    campaign_id: int | None
    creative_id: int | None
    override_id: int | None
    trigger_id: int | None
    started_at: datetime  # aware UTC
    ended_at: datetime  # aware UTC
    local_offset_minutes: int  # the offset the player stamped on started_at
    play_ms: int


@dataclass(frozen=True)
class RejectedReason:
    play_id: str  # "" when the play had none
    player_id: str
    code: str
    reason: str


@dataclass(frozen=True)
class CampaignTerms:
    """What a campaign bills for: its flight, the stores, zones and zone kinds it targets
    (each empty: every one) and the longest of its creatives (None: it has none, so no play
    of it can be bounded)."""

    starts_at: datetime  # aware UTC
    ends_at: datetime  # aware UTC
    zones: frozenset[str]
    longest_creative_ms: int | None
    targeting_problem: str | None = None  # the stored targeting could not be read
    stores: frozenset[str] = frozenset()
    zone_kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScreenPlace:
    """Where a screen is: its store, its zone and that zone's kind."""

    store_id: str
    zone_id: str
    zone_kind: str = ""


def billing_refusal(
    play: AcceptedPlay,
    *,
    authenticated_player: str | None,
    place: ScreenPlace,
    terms: CampaignTerms | None,
    creative_ms: int | None,
) -> tuple[str, str] | None:
    """(code, reason) when a well-formed play may not be billed as reported, else None.

    `authenticated_player`: the player the MQTT topic or the HTTP credential names (None for
    a trusted gateway that reports for any screen). `place`: the screen's store and zone.
    `terms`: the play's campaign (None for house content). `creative_ms`: the play's
    creative duration, when it names one.
    """
    if authenticated_player is not None and play.player_id != authenticated_player:
        return (
            WRONG_PLAYER,
            f"player {authenticated_player!r} may not report plays of {play.player_id!r}",
        )
    if terms is None:
        return None
    if terms.targeting_problem is not None:
        return NOT_TARGETED, f"campaign {play.campaign_id}: {terms.targeting_problem}"
    if terms.stores and place.store_id not in terms.stores:
        return (
            NOT_TARGETED,
            f"campaign {play.campaign_id} does not run in store {place.store_id!r} "
            f"of player {play.player_id!r}",
        )
    if terms.zones and place.zone_id not in terms.zones:
        return (
            NOT_TARGETED,
            f"campaign {play.campaign_id} does not target zone {place.zone_id!r} "
            f"of player {play.player_id!r}",
        )
    if terms.zone_kinds and place.zone_kind not in terms.zone_kinds:
        return (
            NOT_TARGETED,
            f"campaign {play.campaign_id} does not target zone kind {place.zone_kind!r} "
            f"(zone {place.zone_id!r} of player {play.player_id!r})",
        )
    start = play.started_at
    if not as_utc(terms.starts_at) <= start < as_utc(terms.ends_at):
        return (
            OUT_OF_FLIGHT,
            f"play started {start.isoformat()}, outside campaign {play.campaign_id}'s flight "
            f"{as_utc(terms.starts_at).isoformat()} to {as_utc(terms.ends_at).isoformat()}",
        )
    bound_ms = creative_ms if creative_ms is not None else terms.longest_creative_ms
    if bound_ms is None:
        return TOO_LONG, f"campaign {play.campaign_id} has no creative to bound the play"
    if play.play_ms > bound_ms + DURATION_TOLERANCE_MS:
        what = "its creative" if creative_ms is not None else "the campaign's longest creative"
        return (
            TOO_LONG,
            f"play lasted {play.play_ms / 1000:.3f} s, longer than {what} "
            f"({bound_ms / 1000:.3f} s + {DURATION_TOLERANCE_MS / 1000:g} s tolerance)",
        )
    return None


class PlayWindow(Protocol):
    """What clock_flag needs of a play (AcceptedPlay and models.Play both have these)."""

    play_id: str
    started_at: datetime
    ended_at: datetime


class _Refused(ValueError):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def _text(raw: Mapping[str, Any], key: str, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise _Refused(MALFORMED, f"{key}: expected a non-empty string, got {value!r}")
    if len(value) > MAX_PLAY_ID_LENGTH:
        raise _Refused(MALFORMED, f"{key}: longer than {MAX_PLAY_ID_LENGTH} characters")
    return value


def _optional_id(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Refused(MALFORMED, f"{key}: expected a positive integer or null, got {value!r}")
    return value


def _moment(raw: Mapping[str, Any], key: str) -> datetime:
    value = raw.get(key)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _Refused(MALFORMED, f"{key}: {value!r} is not an ISO-8601 date-time") from None
    if not isinstance(value, datetime):
        raise _Refused(MALFORMED, f"{key}: expected an ISO-8601 date-time, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Refused(MALFORMED, f"{key}: {value.isoformat()} has no UTC offset")
    try:
        value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 near the edge: no UTC instant exists
        raise _Refused(MALFORMED, f"{key}: {value.isoformat()} is out of range in UTC") from None
    return value


def _offset_minutes(moment: datetime) -> int:
    offset = moment.utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


def _check_times(
    started_local: datetime,
    ended_local: datetime,
    now: datetime,
    retention_days: int,
    max_skew_s: float,
) -> tuple[datetime, datetime, int]:
    started, ended = started_local.astimezone(UTC), ended_local.astimezone(UTC)
    play_ms = duration_ms(started, ended)
    if play_ms <= 0:
        raise _Refused(
            BAD_DURATION,
            f"ended_at {ended_local.isoformat()} is not after started_at "
            f"{started_local.isoformat()} (duration {play_ms / 1000:.3f} s)",
        )
    if play_ms > MAX_PLAY_MS:
        raise _Refused(BAD_DURATION, f"duration {play_ms / 1000:.3f} s is longer than a day")
    now = as_utc(now)
    ahead_s = (ended - now).total_seconds()
    if ahead_s > max_skew_s:
        raise _Refused(
            IN_FUTURE,
            f"ended_at {ended_local.isoformat()} is {ahead_s:.0f} s in the future "
            f"(allowed clock skew {max_skew_s:g} s)",
        )
    oldest = now - timedelta(days=retention_days)
    if started < oldest:
        raise _Refused(
            TOO_OLD,
            f"started_at {started_local.isoformat()} is older than the "
            f"{retention_days}-day retention window",
        )
    return started, ended, play_ms


def check_play(
    raw: Mapping[str, Any],
    *,
    now: datetime,
    retention_days: int,
    max_skew_s: float,
    known_players: Collection[str],
    known_campaigns: Collection[int],
) -> AcceptedPlay | RejectedReason:
    """Apply the ingest rules to one proof of play (the pop JSON object, decoded).

    `started_at`/`ended_at` are ISO-8601 strings with the player's offset (or aware
    datetimes, as `signage.protocol.parse_pops` returns them). A play without a campaign
    (house content) is accepted; it simply earns no impression.
    """
    play_id = raw.get("play_id") if isinstance(raw, Mapping) else None
    player_id = raw.get("player") if isinstance(raw, Mapping) else None
    play_id = play_id if isinstance(play_id, str) else ""
    player_id = player_id if isinstance(player_id, str) else ""
    try:
        if not isinstance(raw, Mapping):
            raise _Refused(MALFORMED, f"expected a JSON object, got {type(raw).__name__}")
        accepted = _accept(raw, now, retention_days, max_skew_s, known_players, known_campaigns)
    except _Refused as refused:
        return RejectedReason(play_id[:MAX_PLAY_ID_LENGTH], player_id, refused.code, str(refused))
    return accepted


def _accept(
    raw: Mapping[str, Any],
    now: datetime,
    retention_days: int,
    max_skew_s: float,
    known_players: Collection[str],
    known_campaigns: Collection[int],
) -> AcceptedPlay:
    play_id, player_id = _text(raw, "play_id"), _text(raw, "player")
    item_id = _text(raw, "item", required=False)
    campaign_id, creative_id = _optional_id(raw, "campaign_id"), _optional_id(raw, "creative_id")
    override_id, trigger_id = _optional_id(raw, "override_id"), _optional_id(raw, "trigger_id")
    started_local, ended_local = _moment(raw, "started_at"), _moment(raw, "ended_at")
    started, ended, play_ms = _check_times(
        started_local, ended_local, now, retention_days, max_skew_s
    )
    if player_id not in known_players:
        raise _Refused(UNKNOWN_PLAYER, f"player {player_id!r} is not known to this controller")
    if campaign_id is not None and campaign_id not in known_campaigns:
        raise _Refused(UNKNOWN_CAMPAIGN, f"campaign {campaign_id} does not exist")
    return AcceptedPlay(
        play_id=play_id,
        player_id=player_id,
        item_id=item_id,
        campaign_id=campaign_id,
        creative_id=creative_id,
        override_id=override_id,
        trigger_id=trigger_id,
        started_at=started,
        ended_at=ended,
        local_offset_minutes=_offset_minutes(started_local),
        play_ms=play_ms,
    )


def clock_flag(
    previous_plays_of_player: Iterable[PlayWindow], play: PlayWindow, *, max_skew_s: float
) -> str | None:
    """Why this play overlaps an earlier one of its screen, or None.

    A screen shows one thing at a time, so two plays of one player that overlap by more than
    `max_skew_s` (ingest passes OVERLAP_TOLERANCE_S) mean its clock went back or a buffer was
    replayed with fresh ids. The caller passes the player's recorded plays near this one
    (any order; naive datetimes are UTC).
    """
    start, end = as_utc(play.started_at), as_utc(play.ended_at)
    worst: tuple[float, PlayWindow] | None = None
    for other in previous_plays_of_player:
        if other.play_id == play.play_id:
            continue  # the same play again: idempotency handles it, not a clock problem
        overlap_s = (
            min(end, as_utc(other.ended_at)) - max(start, as_utc(other.started_at))
        ).total_seconds()
        if overlap_s > max_skew_s and (worst is None or overlap_s > worst[0]):
            worst = (overlap_s, other)
    if worst is None:
        return None
    overlap_s, other = worst
    jump_s = (as_utc(other.started_at) - start).total_seconds()
    if jump_s > max_skew_s:
        return (
            f"player clock jumped back about {jump_s:,.0f} s: overlaps play {other.play_id} "
            f"by {overlap_s:,.1f} s"
        )
    return f"overlaps play {other.play_id} by {overlap_s:,.1f} s (player clock unreliable)"
