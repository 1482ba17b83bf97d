"""Live hourly totals: summed per key in Python, added by upsert, filled from history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads.hour_totals import NO_CREATIVE, group_impressions
from esl_controller.db import fill_impression_hour_totals, session_scope
from esl_controller.models import Impression, ImpressionHourly, ImpressionHourTotal
from tests.ads.billing_log import Billed, append_impressions

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def impression(minutes: float, **changes) -> dict:
    row = {
        "started_at": T0 + timedelta(minutes=minutes),
        "campaign_id": 1,
        "advertiser_id": 1,
        "player_id": "screen-01",
        "creative_id": 7,
        "zone_id": "entrance",
        "multiplier_source": "declared",
        "play_ms": 10_000,
        "impressions_milli": 2000,
        "cpm_minor": 1250,
        "campaign_name": "Milk",
        "creative_name": "Milk 10s",
        "player_name": "Entrance",
        "currency": "RON",
    }
    row.update(changes)
    return row


def test_rows_of_one_hour_and_key_become_one_group():
    groups = group_impressions(
        [
            impression(1),
            impression(59, impressions_milli=3000, player_name="Entrance (renamed)"),
            impression(60),  # next hour
            impression(2, multiplier_source="measured"),
            impression(3, creative_id=None),
        ]
    )
    by_key = {(g["hour"].hour, g["multiplier_source"], g["creative_id"]): g for g in groups}
    assert sorted(by_key) == [
        (9, "declared", NO_CREATIVE),
        (9, "declared", 7),
        (9, "measured", 7),
        (10, "declared", 7),
    ]
    first = by_key[(9, "declared", 7)]
    assert (first["plays"], first["play_ms"], first["impressions_milli"]) == (2, 20_000, 5000)
    assert first["spend_basis"] == 5000 * 1250
    assert first["player_name"] == "Entrance (renamed)"  # the newest name wins


def _billed(world, minutes: float) -> Billed:
    return Billed(
        started_at=T0 + timedelta(minutes=minutes),
        campaign_id=world.campaign_id,
        advertiser_id=world.advertiser_id,
        player_id=world.declared_player,
        creative_id=world.creative_id,
        multiplier_milli=1500,
    )


def _totals(engine: Engine) -> list[tuple]:
    with Session(engine) as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    ImpressionHourTotal.player_id,
                    ImpressionHourTotal.plays,
                    ImpressionHourTotal.impressions_milli,
                    ImpressionHourTotal.spend_basis,
                ).order_by(ImpressionHourTotal.hour)
            )
        ]


def test_later_batches_add_to_the_hour_already_stored(engine: Engine, ads_world):
    append_impressions(engine, [_billed(ads_world, 1)])
    append_impressions(engine, [_billed(ads_world, 2), _billed(ads_world, 3)])
    assert _totals(engine) == [("screen-01", 3, 4500, 4500 * 1000)]


def test_history_fill_merges_raw_rows_and_rollups_of_the_same_hour(engine: Engine, ads_world):
    append_impressions(engine, [_billed(ads_world, 1), _billed(ads_world, 90)])
    with session_scope(engine) as session:
        session.add(
            ImpressionHourly(
                hour=T0,
                campaign_id=ads_world.campaign_id,
                advertiser_id=ads_world.advertiser_id,
                creative_id=ads_world.creative_id,
                player_id="screen-01",
                zone_id="entrance",
                multiplier_source="declared",
                plays=40,
                play_ms=400_000,
                impressions_milli=80_000,
                spend_basis=80_000 * 1000,
                currency="RON",
                first_seq=1,
                last_seq=40,
                segment_hash="a" * 64,
            )
        )
        session.execute(delete(ImpressionHourTotal))  # as a v4 database had none
    with engine.begin() as conn:
        fill_impression_hour_totals(conn)
    assert _totals(engine) == [
        ("screen-01", 41, 81_500, 81_500 * 1000),
        ("screen-01", 1, 1500, 1500 * 1000),
    ]
    with Session(engine) as session:
        raw = session.scalar(select(func.count()).select_from(Impression))
    assert raw == 2  # the fill reads history, never moves it
