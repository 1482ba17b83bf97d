"""Hash-chained impression rows for tests, built with the real chain functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from esl_controller.ads.chain import GENESIS_HASH, billed_fields, record_hash

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class ChainRow:
    seq: int
    play_id: str
    campaign_id: int
    advertiser_id: int
    creative_id: int | None
    player_id: str
    zone_id: str
    started_at: datetime
    play_ms: int
    multiplier_milli: int
    multiplier_source: str
    impressions_milli: int
    cpm_minor: int
    currency: str
    prev_hash: str
    hash: str


def chain_of(count: int) -> list[ChainRow]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        draft = ChainRow(
            seq=seq,
            play_id=f"play-{seq}",
            campaign_id=7,
            advertiser_id=3,
            creative_id=11 if seq % 2 else None,
            player_id="screen-07",
            zone_id="dairy",
            started_at=T0 + timedelta(seconds=10 * seq),
            play_ms=10_000,
            multiplier_milli=2500,
            multiplier_source="declared",
            impressions_milli=2500,
            cpm_minor=850,
            currency="EUR",
            prev_hash=prev,
            hash="",
        )
        prev = record_hash(prev, billed_fields(draft))
        rows.append(ChainRow(**{**draft.__dict__, "hash": prev}))
    return rows
