"""The hourly totals reports read must reconcile with the chained records: an edited total
fails verification (and the report it changed is no longer provable)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from esl_controller.ads.ingest import PlayIngestor
from esl_controller.ads.retention import roll_up_impressions
from esl_controller.ads.verify_cli import verify_impressions
from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import ImpressionHourTotal


def _ingest_spread(engine, settings, ads_world, make_pop):
    start = utcnow() - timedelta(days=3)
    for day in range(3):
        moment = start + timedelta(days=day)
        plays = [make_pop(moment + timedelta(minutes=20 * n)) for n in range(6)]
        plays.append(make_pop(moment, player=ads_world.sensor_player))
        PlayIngestor(engine, settings, clock=lambda m=moment: m + timedelta(hours=3)).ingest(
            plays, "mqtt"
        )


def test_intact_totals_reconcile_before_and_after_a_roll_up(engine, settings, ads_world, make_pop):
    _ingest_spread(engine, settings, ads_world, make_pop)
    assert verify_impressions(engine).ok
    roll_up_impressions(engine, settings.with_overrides(play_retention_days=1), utcnow())
    result = verify_impressions(engine)
    assert result.ok, result.reason
    assert result.rolled_up > 0


def test_an_edited_hourly_total_fails_verification(engine, settings, ads_world, make_pop):
    _ingest_spread(engine, settings, ads_world, make_pop)
    with session_scope(engine) as session:
        total = session.scalars(
            select(ImpressionHourTotal).order_by(ImpressionHourTotal.id)
        ).first()
        session.execute(
            update(ImpressionHourTotal)
            .where(ImpressionHourTotal.id == total.id)
            .values(spend_basis=ImpressionHourTotal.spend_basis * 2)
        )
    result = verify_impressions(engine)
    assert not result.ok
    assert result.reason.startswith("hourly totals do not reconcile with the chained records")
    assert f"campaign {total.campaign_id} player {total.player_id!r}" in result.reason


def test_a_total_with_no_chained_record_or_a_missing_total_fails(
    engine, settings, ads_world, make_pop
):
    _ingest_spread(engine, settings, ads_world, make_pop)
    with Session(engine) as session:
        total = session.scalars(select(ImpressionHourTotal)).first()
    with session_scope(engine) as session:
        session.execute(
            update(ImpressionHourTotal)
            .where(ImpressionHourTotal.id == total.id)
            .values(hour=total.hour - timedelta(days=30))
        )
    reason = verify_impressions(engine).reason
    assert "with no chained record" in reason
    assert "chained plays missing from the totals" in reason
