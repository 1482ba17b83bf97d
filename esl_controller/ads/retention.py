"""Retention: raw plays and impressions past `play_retention_days` become hourly roll-ups.

Reports read `ImpressionHourly` together with the raw rows, so every figure survives. The
chain stays verifiable (see `ads.chain`): a run replaces one contiguous stretch of the chain,
`first_seq..last_seq`, always a prefix of what is still raw, and stamps every roll-up row it
writes or merges into with that stretch and the hash of its last raw row. So a run stops at
the first raw row that is still inside the retention window, even when later rows (a late
offline buffer) are older: those wait for the next run.

Before a stretch is rolled up it is verified: rolling up an altered record would launder it,
so a broken chain stops retention with `ChainBroken` (the raw rows stay as evidence).
Each chunk is one transaction holding the chain lock, so ingest never sees half a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads import chain
from esl_controller.ads.impressions import as_utc
from esl_controller.ads.ingest import take_chain_lock
from esl_controller.config import Settings
from esl_controller.models import Impression, ImpressionHourly, Play, RejectedPlay

CHUNK_ROWS = 50_000
_ROW_COLUMNS = [
    Impression.seq,
    Impression.prev_hash,
    Impression.hash,
    Impression.campaign_name,
    Impression.creative_name,
    Impression.player_name,
] + [getattr(Impression, name) for name in chain.BILLED_FIELDS]
_GroupKey = tuple[datetime, int, str, int | None, str]  # hour, campaign, player, creative, source


class ChainBroken(RuntimeError):
    """The stretch due for roll-up does not verify; nothing was rolled up."""


@dataclass(frozen=True)
class RetentionResult:
    rolled_up: int  # raw impressions replaced by roll-ups
    hourly_rows: int  # roll-up rows written or merged into
    plays_deleted: int
    rejected_deleted: int
    last_seq: int | None  # the chain seq covered by roll-ups after the run


def roll_up_impressions(
    engine: Engine, settings: Settings, now: datetime, *, chunk_rows: int = CHUNK_ROWS
) -> RetentionResult:
    """Roll up everything rollable, one chunk (transaction) at a time. Idempotent."""
    cutoff = as_utc(now) - timedelta(days=settings.play_retention_days)
    totals = [0, 0, 0]
    last_seq = None
    while True:
        with Session(engine, expire_on_commit=False) as session:
            take_chain_lock(session)
            rolled, hourly, plays, last = _roll_up_chunk(session, cutoff, chunk_rows)
            session.commit()
        totals = [totals[0] + rolled, totals[1] + hourly, totals[2] + plays]
        last_seq = last or last_seq
        if rolled < chunk_rows:
            break
    with Session(engine) as session:
        rejected = _delete_old_plays_and_rejections(session, cutoff)
        session.commit()
    return RetentionResult(totals[0], totals[1], totals[2] + rejected[0], rejected[1], last_seq)


def _covered(session: Session) -> tuple[int, list[chain.ChainSegment]]:
    segments = chain.segments_from_rollups(
        session.execute(
            select(
                ImpressionHourly.first_seq, ImpressionHourly.last_seq, ImpressionHourly.segment_hash
            ).distinct()
        )
    )
    return max((s.last_seq for s in segments), default=0), segments


def _boundary(session: Session, cutoff: datetime, chunk_rows: int) -> int | None:
    """The last seq of the rollable prefix: raw rows before the first one still in the window."""
    first = session.scalar(select(func.min(Impression.seq)))
    if first is None:
        return None
    young = session.scalar(select(func.min(Impression.seq)).where(Impression.started_at >= cutoff))
    last_raw = session.scalar(select(func.max(Impression.seq)))
    end = (young - 1) if young is not None else last_raw
    end = min(end, session.scalar(_nth_seq(first, chunk_rows)) or last_raw)
    return end if end >= first else None


def _nth_seq(first: int, count: int):
    return (
        select(Impression.seq)
        .where(Impression.seq >= first)
        .order_by(Impression.seq)
        .offset(count - 1)
        .limit(1)
    )


def _roll_up_chunk(
    session: Session, cutoff: datetime, chunk_rows: int
) -> tuple[int, int, int, int | None]:
    end = _boundary(session, cutoff, chunk_rows)
    if end is None:
        return 0, 0, 0, None
    covered, segments = _covered(session)
    rows = session.execute(
        select(*_ROW_COLUMNS).where(Impression.seq <= end).order_by(Impression.seq)
    ).all()
    result = chain.verify(rows, segments)
    if not result.ok:
        raise ChainBroken(
            f"retention stopped: the impression chain is broken at seq {result.first_bad_seq} "
            f"({result.reason}); run verify-impressions"
        )
    segment = chain.ChainSegment(covered + 1, end, rows[-1].hash)
    hourly = _merge_groups(session, _group(rows), segment)
    plays = session.execute(
        delete(Play).where(
            Play.play_id.in_(select(Impression.play_id).where(Impression.seq <= end))
        )
    ).rowcount
    session.execute(delete(Impression).where(Impression.seq <= end))
    return len(rows), hourly, plays or 0, end


def _group(rows: Iterable[Any]) -> dict[_GroupKey, dict[str, Any]]:
    groups: dict[_GroupKey, dict[str, Any]] = {}
    for row in rows:
        hour = as_utc(row.started_at).replace(minute=0, second=0, microsecond=0)
        key = (hour, row.campaign_id, row.player_id, row.creative_id, row.multiplier_source)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "campaign_name": row.campaign_name,
                "advertiser_id": row.advertiser_id,
                "creative_name": row.creative_name,
                "player_name": row.player_name,
                "zone_id": row.zone_id,
                "currency": row.currency,
                "plays": 0,
                "play_ms": 0,
                "impressions_milli": 0,
                "spend_basis": 0,
            }
        group["plays"] += 1
        group["play_ms"] += row.play_ms
        group["impressions_milli"] += row.impressions_milli
        group["spend_basis"] += row.impressions_milli * row.cpm_minor
    return groups


def _merge_groups(
    session: Session, groups: dict[_GroupKey, dict[str, Any]], segment: chain.ChainSegment
) -> int:
    """Insert new roll-up rows, add to existing ones (a late row of an hour already rolled)."""
    if not groups:
        return 0
    hours = {key[0] for key in groups}
    existing = {
        (as_utc(r.hour), r.campaign_id, r.player_id, r.creative_id, r.multiplier_source): r
        for r in session.scalars(select(ImpressionHourly).where(ImpressionHourly.hour.in_(hours)))
    }
    stamp = {
        "last_seq": segment.last_seq,
        "segment_hash": segment.end_hash,
    }
    new_rows = []
    for key, group in groups.items():
        row = existing.get(key)
        if row is None:
            hour, campaign_id, player_id, creative_id, source = key
            new_rows.append(
                {
                    "hour": hour,
                    "campaign_id": campaign_id,
                    "player_id": player_id,
                    "creative_id": creative_id,
                    "multiplier_source": source,
                    "first_seq": segment.first_seq,
                    **group,
                    **stamp,
                }
            )
            continue
        session.execute(
            update(ImpressionHourly)
            .where(ImpressionHourly.id == row.id)
            .values(
                plays=ImpressionHourly.plays + group["plays"],
                play_ms=ImpressionHourly.play_ms + group["play_ms"],
                impressions_milli=ImpressionHourly.impressions_milli + group["impressions_milli"],
                spend_basis=ImpressionHourly.spend_basis + group["spend_basis"],
                **stamp,
            )
        )
    if new_rows:
        session.execute(insert(ImpressionHourly.__table__), new_rows)
    return len(groups)


def _delete_old_plays_and_rejections(session: Session, cutoff: datetime) -> tuple[int, int]:
    """House content (plays without a campaign: no impression) and refused plays past the
    window. A replay of such a play is refused as too old, so idempotency holds."""
    plays = session.execute(
        delete(Play).where(Play.campaign_id.is_(None), Play.started_at < cutoff)
    ).rowcount
    rejected = session.execute(
        delete(RejectedPlay).where(RejectedPlay.received_at < cutoff)
    ).rowcount
    return plays or 0, rejected or 0
