"""Test helper: append Impression rows to the hash chain and the live hourly totals
directly, the way ingest does, so report and delivery tests can place plays at any time
without a broker or validation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from esl_controller.ads import hour_totals
from esl_controller.ads.chain import GENESIS_HASH, billed_fields, record_hash
from esl_controller.db import session_scope
from esl_controller.models import Impression


@dataclass(frozen=True)
class Billed:
    """One play to bill: when, where, what, with how large an audience."""

    started_at: datetime  # aware UTC
    campaign_id: int
    advertiser_id: int
    player_id: str
    creative_id: int | None = None
    multiplier_milli: int = 1000
    source: str = "declared"
    play_ms: int = 10_000
    cpm_minor: int = 1000
    zone_id: str = "entrance"
    campaign_name: str = "Campaign"
    creative_name: str = "Creative"
    player_name: str = "Screen"
    currency: str = "RON"


def append_impressions(engine: Engine, plays: list[Billed]) -> list[int]:
    """Append one chained Impression per play; return their seqs."""
    seqs = []
    with session_scope(engine) as session:
        head = session.scalars(select(Impression).order_by(Impression.seq.desc()).limit(1)).first()
        prev_hash = head.hash if head else GENESIS_HASH
        for play in plays:
            row = Impression(
                play_id=str(uuid.uuid4()),
                campaign_id=play.campaign_id,
                campaign_name=play.campaign_name,
                advertiser_id=play.advertiser_id,
                creative_id=play.creative_id,
                creative_name=play.creative_name,
                player_id=play.player_id,
                player_name=play.player_name,
                zone_id=play.zone_id,
                started_at=play.started_at,
                play_ms=play.play_ms,
                multiplier_milli=play.multiplier_milli,
                multiplier_source=play.source,
                impressions_milli=play.multiplier_milli,
                cpm_minor=play.cpm_minor,
                currency=play.currency,
                prev_hash=prev_hash,
                hash="",
            )
            row.hash = record_hash(prev_hash, billed_fields(row))
            prev_hash = row.hash
            session.add(row)
            session.flush()
            seqs.append(row.seq)
            hour_totals.add_impressions(session, [row.model_dump()])
    return seqs
