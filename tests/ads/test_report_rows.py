"""Reading the billing log for reports: the live hourly totals, summed per report grouping,
scoped by campaign or advertiser, half-open periods, names kept after archiving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from esl_controller.ads.report_rows import (
    hourly_slices,
    iter_slices_by_month,
    report_inputs,
    store_timezone,
)
from esl_controller.db import session_scope
from esl_controller.models import Campaign, Player
from tests.ads.billing_log import Billed, append_impressions
from tests.ads.conftest import STORE_TZ, AdsWorld

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def billed(world: AdsWorld, minutes: float, **changes) -> Billed:
    fields = {
        "started_at": T0 + timedelta(minutes=minutes),
        "campaign_id": world.campaign_id,
        "advertiser_id": world.advertiser_id,
        "player_id": world.declared_player,
        "creative_id": world.creative_id,
        "cpm_minor": 1250,
        "campaign_name": "Milk winter",
        "player_name": "Entrance left",
        "creative_name": "Milk 10s",
    }
    fields.update(changes)
    return Billed(**fields)


def test_raw_impressions_are_summed_per_hour_screen_and_source(engine: Engine, ads_world):
    append_impressions(
        engine,
        [
            billed(ads_world, 1, multiplier_milli=3500),
            billed(ads_world, 20, multiplier_milli=2000, play_ms=15_000),
            billed(ads_world, 61, multiplier_milli=2000),  # next hour
            billed(ads_world, 5, player_id="screen-02", source="measured", multiplier_milli=4333),
        ],
    )
    with session_scope(engine) as session:
        slices = hourly_slices(session, T0, T0 + timedelta(hours=3))

    assert [(s.hour.hour, s.player_id, s.multiplier_source, s.plays) for s in slices] == [
        (9, "screen-01", "declared", 2),
        (9, "screen-02", "measured", 1),
        (10, "screen-01", "declared", 1),
    ]
    first = slices[0]
    assert first.hour == T0
    assert first.play_ms == 25_000
    assert first.impressions_milli == 5500
    assert first.spend_basis == 5500 * 1250
    assert (first.campaign_name, first.player_name, first.creative_name) == (
        "Milk winter",
        "Entrance left",
        "Milk 10s",
    )


def test_period_is_half_open_on_the_play_start(engine: Engine, ads_world):
    append_impressions(engine, [billed(ads_world, 0), billed(ads_world, 59), billed(ads_world, 60)])
    with session_scope(engine) as session:
        slices = hourly_slices(session, T0, T0 + timedelta(hours=1))
    assert sum(s.plays for s in slices) == 2


def test_scoped_by_campaign_and_by_advertiser(engine: Engine, ads_world):
    other_advertiser = ads_world.advertiser_id + 1  # "Coffee Co" of the fixture
    append_impressions(
        engine,
        [
            billed(ads_world, 1),
            billed(
                ads_world,
                2,
                campaign_id=ads_world.other_campaign_id,
                advertiser_id=other_advertiser,
            ),
        ],
    )
    with session_scope(engine) as session:
        mine = hourly_slices(
            session, T0, T0 + timedelta(hours=1), campaign_id=ads_world.campaign_id
        )
        theirs = hourly_slices(session, T0, T0 + timedelta(hours=1), advertiser_id=other_advertiser)
    assert [s.campaign_id for s in mine] == [ads_world.campaign_id]
    assert [s.campaign_id for s in theirs] == [ads_world.other_campaign_id]


def test_report_inputs_are_summed_by_the_grouping_with_hours_for_the_timeline(
    engine: Engine, ads_world
):
    append_impressions(
        engine,
        [
            billed(ads_world, 1),
            billed(ads_world, 70, creative_id=None),
            billed(ads_world, 5, player_id="screen-02", player_name="Dairy", zone_id="dairy"),
            billed(ads_world, 6, player_id="screen-02", source="measured", zone_id="dairy"),
        ],
    )
    with session_scope(engine) as session:
        inputs = report_inputs(
            session, ads_world.campaign_id, T0, T0 + timedelta(hours=3), "player"
        )
        by_creative = report_inputs(
            session, ads_world.campaign_id, T0, T0 + timedelta(hours=3), "creative"
        )
    per_player = sorted((r.player_id, r.multiplier_source, r.plays) for r in inputs.rows)
    assert per_player == [
        ("screen-01", "declared", 2),
        ("screen-02", "declared", 1),
        ("screen-02", "measured", 1),
    ]
    assert sorted((r.started_at.hour, r.multiplier_source, r.plays) for r in inputs.day_rows) == [
        (9, "declared", 2),
        (9, "measured", 1),
        (10, "declared", 1),
    ]
    assert sorted((s.player_id, s.zone_id) for s in inputs.screens) == [
        ("screen-01", "entrance"),
        ("screen-02", "dairy"),
    ]
    creatives = {(r.creative_id, r.multiplier_source): r.plays for r in by_creative.rows}
    assert creatives == {
        (ads_world.creative_id, "declared"): 2,
        (ads_world.creative_id, "measured"): 1,
        (None, "declared"): 1,
    }


def test_report_inputs_refuse_an_unknown_grouping(engine: Engine, ads_world):
    with session_scope(engine) as session, pytest.raises(ValueError, match="'week'"):
        report_inputs(session, ads_world.campaign_id, T0, T0 + timedelta(hours=1), "week")


def test_archived_player_and_campaign_keep_their_names(engine: Engine, ads_world):
    append_impressions(engine, [billed(ads_world, 1)])
    with session_scope(engine) as session:
        session.get(Player, "screen-01").archived = True
        session.get(Campaign, ads_world.campaign_id).status = "archived"
    with session_scope(engine) as session:
        (row,) = hourly_slices(session, T0, T0 + timedelta(hours=1))
    assert (row.player_name, row.campaign_name) == ("Entrance left", "Milk winter")


def test_monthly_chunks_cover_the_range_once(engine: Engine, ads_world):
    append_impressions(
        engine,
        [billed(ads_world, days * 24 * 60) for days in (0, 25, 40, 70)],
    )
    with session_scope(engine) as session:
        chunks = list(iter_slices_by_month(session, T0, T0 + timedelta(days=80)))
    assert [end for end, _ in chunks][-1] == T0 + timedelta(days=80)
    assert len(chunks) == 3  # Jan (from the 10th), Feb, Mar (to the 31st)
    assert sum(s.plays for _, slices in chunks for s in slices) == 4


def test_store_timezone_comes_from_the_store(engine: Engine, ads_world):
    with session_scope(engine) as session:
        assert store_timezone(session) == STORE_TZ
