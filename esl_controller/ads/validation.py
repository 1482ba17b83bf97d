"""Ingest rules for proof of play. Pure: the caller passes the clock and what it knows.

A play is refused, with a specific reason, when it is malformed, its end is not after its
start, it lasts longer than a day, it ends in the future beyond the clock-skew allowance, it
started before the retention window, or its player or campaign is unknown. Times arrive in
the player's local time with an offset and leave as aware UTC (the offset is kept).

Clock jumps: a player whose clock jumps back replays an interval it already played. Such a
play is not refused (its play id is new, so it was shown) but flagged, so a person can look;
idempotency by play id is what keeps a replayed buffer from counting twice.
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
    """Why this play looks like a clock jump, or None.

    A screen shows one thing at a time, so two plays of one player that overlap by more than
    the skew mean its clock went back (or a buffer was replayed with fresh ids). The caller
    passes the player's recorded plays near this one (any order; naive datetimes are UTC).
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
