"""Reading the billing log for reports: raw impressions summed per hour, roll-ups alongside,
scoped by campaign or advertiser, half-open periods, names kept after archiving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from esl_controller.ads.report_rows import hourly_slices, iter_slices_by_month, store_timezone
from esl_controller.db import session_scope
from esl_controller.models import Campaign, ImpressionHourly, Player
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


def test_rollups_are_read_with_the_raw_rows(engine: Engine, ads_world):
    append_impressions(engine, [billed(ads_world, 24 * 60 + 5)])
    with session_scope(engine) as session:
        session.add(
            ImpressionHourly(
                hour=T0,
                campaign_id=ads_world.campaign_id,
                campaign_name="Milk winter",
                advertiser_id=ads_world.advertiser_id,
                creative_id=ads_world.creative_id,
                creative_name="Milk 10s",
                player_id="screen-01",
                player_name="Entrance left",
                zone_id="entrance",
                multiplier_source="declared",
                plays=40,
                play_ms=400_000,
                impressions_milli=80_000,
                spend_basis=80_000 * 1250,
                currency="RON",
                first_seq=1,
                last_seq=40,
                segment_hash="a" * 64,
            )
        )
    with session_scope(engine) as session:
        slices = hourly_slices(session, T0, T0 + timedelta(days=2))
    assert [(s.hour, s.plays, s.spend_basis) for s in slices] == [
        (T0, 40, 80_000 * 1250),
        (T0 + timedelta(days=1), 1, 1000 * 1250),
    ]


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
