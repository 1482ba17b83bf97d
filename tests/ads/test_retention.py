"""Retention: old raw impressions become hourly roll-ups; figures and the chain survive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from esl_controller.ads.ingest import PlayIngestor
from esl_controller.ads.report_rows import hourly_slices
from esl_controller.ads.retention import ChainBroken, roll_up_impressions
from esl_controller.ads.verify_cli import verify_impressions
from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import Impression, ImpressionHourly, Play


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def _totals(engine, start, end) -> tuple[int, int, int, int]:
    with Session(engine) as session:
        slices = hourly_slices(session, start, end)
    return (
        sum(s.plays for s in slices),
        sum(s.play_ms for s in slices),
        sum(s.impressions_milli for s in slices),
        sum(s.spend_basis for s in slices),
    )


@pytest.fixture
def history(engine, settings, ads_world, make_pop):
    """Plays over 6 days, ingested when they happened; retention is then set to 3 days."""
    today = utcnow()
    start = today - timedelta(days=6)
    for day in range(6):
        moment = start + timedelta(days=day)
        plays = [make_pop(moment + timedelta(minutes=7 * n)) for n in range(12)]
        plays.append(make_pop(moment, campaign=None, creative=None))  # house content
        plays.append(make_pop(moment + timedelta(hours=1), player=ads_world.sensor_player))
        PlayIngestor(engine, settings, clock=lambda m=moment: m + timedelta(hours=2)).ingest(
            plays, "mqtt"
        )
    return start, today


def test_roll_up_keeps_every_figure_and_the_chain(engine, settings, history):
    start, today = history
    before = _totals(engine, start - timedelta(days=1), today + timedelta(days=1))
    short = settings.with_overrides(play_retention_days=3)
    result = roll_up_impressions(engine, short, today)
    assert result.rolled_up == 3 * 13  # three oldest days, 13 billed plays a day
    assert result.plays_deleted == 3 * 14  # their plays and the house-content plays
    assert _count(engine, Impression) == 3 * 13
    assert _totals(engine, start - timedelta(days=1), today + timedelta(days=1)) == before
    verified = verify_impressions(engine)
    assert verified.ok, verified.reason
    assert (verified.rolled_up, verified.checked) == (39, 39)
    again = roll_up_impressions(engine, short, today)
    assert again.rolled_up == 0


def test_ingest_continues_the_chain_after_everything_was_rolled_up(
    engine, settings, history, make_pop
):
    _, today = history
    roll_up_impressions(engine, settings.with_overrides(play_retention_days=0), today)
    assert _count(engine, Impression) == 0
    PlayIngestor(engine, settings).ingest([make_pop()], "mqtt")
    with Session(engine) as session:
        seq = session.scalar(select(Impression.seq))
    assert seq == 6 * 13 + 1
    assert verify_impressions(engine).ok


def test_chunks_and_a_later_run_merge_into_the_same_hours(engine, settings, history):
    start, today = history
    before = _totals(engine, start - timedelta(days=1), today + timedelta(days=1))
    short = settings.with_overrides(play_retention_days=2)
    result = roll_up_impressions(engine, short, today - timedelta(days=1), chunk_rows=7)
    assert result.rolled_up == 3 * 13
    result = roll_up_impressions(engine, short, today, chunk_rows=7)
    assert result.rolled_up == 13
    assert _totals(engine, start - timedelta(days=1), today + timedelta(days=1)) == before
    assert verify_impressions(engine).ok
    with Session(engine) as session:
        keys = session.execute(
            select(ImpressionHourly.hour, ImpressionHourly.player_id, func.count()).group_by(
                ImpressionHourly.hour,
                ImpressionHourly.campaign_id,
                ImpressionHourly.player_id,
                ImpressionHourly.creative_id,
                ImpressionHourly.multiplier_source,
            )
        ).all()
    assert all(count == 1 for *_, count in keys)  # merged, never duplicated


def test_a_late_buffer_waits_until_the_prefix_before_it_is_old(
    engine, settings, ads_world, make_pop
):
    now = utcnow()
    ingestor = PlayIngestor(engine, settings)
    ingestor.ingest([make_pop(now - timedelta(days=1))], "mqtt")  # seq 1, young
    ingestor.ingest([make_pop(now - timedelta(days=5))], "mqtt")  # seq 2, old but after 1
    result = roll_up_impressions(engine, settings.with_overrides(play_retention_days=3), now)
    assert result.rolled_up == 0
    assert _count(engine, Impression) == 2


def test_a_tampered_stretch_is_never_rolled_up(engine, settings, history):
    _, today = history
    with session_scope(engine) as session:
        session.execute(update(Impression).where(Impression.seq == 2).values(play_ms=1))
    with pytest.raises(ChainBroken, match="broken at seq 2"):
        roll_up_impressions(engine, settings.with_overrides(play_retention_days=3), today)
    assert _count(engine, ImpressionHourly) == 0
    assert _count(engine, Play) == 6 * 14
