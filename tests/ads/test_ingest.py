"""Proof-of-play ingest against a real SQLite file: rules, idempotency, multipliers, the chain."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from esl_controller.ads.ingest import PlayIngestor, rejected_counts
from esl_controller.ads.verify_cli import verify_impressions
from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import (
    Campaign,
    Creative,
    Impression,
    Incident,
    Play,
    Player,
    RejectedPlay,
    TriggerEvent,
)
from esl_controller.signage.protocol import parse_pops


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def _impressions(engine) -> list[Impression]:
    with Session(engine) as session:
        return list(session.scalars(select(Impression).order_by(Impression.seq)))


def test_accepted_play_is_stored_in_utc_with_a_chained_impression(
    engine, settings, ads_world, make_pop
):
    started = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 08:30 in Bucharest: morning daypart
    pop = make_pop(started, seconds=12.5, creative=ads_world.second_creative_id)  # 15 s
    result = PlayIngestor(engine, settings, clock=lambda: started + timedelta(hours=1)).ingest(
        [pop], "http"
    )
    assert (result.accepted, result.duplicates, result.rejected) == (1, 0, [])
    with Session(engine) as session:
        play = session.get(Play, pop["play_id"])
    assert play.started_at == started
    assert play.local_offset_minutes == 120
    assert play.zone_id == "entrance"
    [impression] = _impressions(engine)
    assert impression.seq == 1
    assert impression.play_ms == 12_500
    assert impression.multiplier_source == "declared"
    assert impression.multiplier_milli == 3500  # "07:00-10:00": 3.5, store-local
    assert impression.impressions_milli == 3500
    assert impression.cpm_minor == ads_world.cpm_minor
    assert (impression.campaign_name, impression.creative_name) == ("Milk winter", "Milk 15s")
    assert impression.player_name == "Entrance left"
    assert verify_impressions(engine).ok


def test_declared_fallback_outside_the_daypart(engine, settings, ads_world, make_pop):
    started = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 15:00 local
    PlayIngestor(engine, settings, clock=lambda: started + timedelta(hours=1)).ingest(
        [make_pop(started)], "http"
    )
    assert _impressions(engine)[0].multiplier_milli == 2000


def test_measured_multiplier_from_audience_triggers_in_the_play_window(
    engine, settings, ads_world, make_pop
):
    started = utcnow() - timedelta(minutes=10)
    with session_scope(engine) as session:
        for seconds, count in ((2, 3), (6, 4), (30, 50)):  # the last is after the play
            session.add(
                TriggerEvent(
                    sensor_id="cam-1",
                    kind="audience",
                    zone_id="dairy",
                    occurred_at=started + timedelta(seconds=seconds),
                    payload=json.dumps({"type": "audience", "count": count}),
                )
            )
    measured = make_pop(started, seconds=10, player=ads_world.sensor_player)
    unseen = make_pop(started + timedelta(minutes=2), seconds=10, player=ads_world.sensor_player)
    result = PlayIngestor(engine, settings).ingest([measured, unseen], "mqtt")
    assert result.accepted == 2
    first, second = _impressions(engine)
    assert (first.multiplier_source, first.multiplier_milli) == ("measured", 3500)
    # no audience reading during the second play: the screen's declaration (1.5)
    assert (second.multiplier_source, second.multiplier_milli) == ("declared", 1500)


def test_duplicate_play_id_counts_once_in_a_batch_and_across_batches(
    engine, settings, ads_world, make_pop
):
    pop = make_pop()
    ingestor = PlayIngestor(engine, settings)
    first = ingestor.ingest([pop, dict(pop)], "mqtt")
    again = ingestor.ingest([pop], "mqtt")
    assert (first.accepted, first.duplicates) == (1, 1)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 1, [])
    assert _count(engine, Play) == 1
    assert _count(engine, Impression) == 1


def test_mixed_batch_keeps_the_good_and_reports_each_bad_play(
    engine, settings, ads_world, make_pop
):
    now = utcnow()
    good = [make_pop(now - timedelta(minutes=n)) for n in (3, 6)]
    negative = make_pop(now - timedelta(minutes=9), seconds=-5)
    zero = make_pop(now - timedelta(minutes=12), seconds=0)
    unknown_player = make_pop(player="screen-99")
    unknown_campaign = make_pop(campaign=424242, creative=None)
    future = make_pop(now + timedelta(hours=2))
    too_old = make_pop(now - timedelta(days=settings.play_retention_days + 1))
    not_uuid = make_pop(play_id="play-1")
    wrong_creative = make_pop(campaign=ads_world.other_campaign_id)
    bad = [negative, zero, unknown_player, unknown_campaign, future, too_old, not_uuid]
    bad.append(wrong_creative)
    result = PlayIngestor(engine, settings).ingest([*good, *bad, "not an object"], "http")
    assert result.accepted == 2
    reasons = dict(result.rejected)
    assert len(result.rejected) == len(bad) + 1
    assert reasons[negative["play_id"]].startswith("bad_duration: ended_at")
    assert reasons[zero["play_id"]].startswith("bad_duration")
    assert "screen-99" in reasons[unknown_player["play_id"]]
    assert reasons[unknown_player["play_id"]].startswith("unknown_player")
    assert reasons[unknown_campaign["play_id"]].startswith("unknown_campaign: campaign 424242")
    assert reasons[future["play_id"]].startswith("in_future")
    assert reasons[too_old["play_id"]].startswith("too_old")
    assert "uuid4" in reasons["play-1"]
    assert reasons[wrong_creative["play_id"]].startswith("unknown_creative")
    assert reasons[""] == "malformed: expected a JSON object, got str"
    assert _count(engine, Play) == 2
    assert _count(engine, RejectedPlay) == len(bad) + 1
    with Session(engine) as session:
        counts = rejected_counts(session)
    assert counts["screen-99"] == 1
    assert counts[ads_world.declared_player] == len(bad) - 1


def test_play_without_campaign_is_stored_without_an_impression(
    engine, settings, ads_world, make_pop
):
    result = PlayIngestor(engine, settings).ingest([make_pop(campaign=None, creative=None)], "x")
    assert result.accepted == 1
    assert _count(engine, Play) == 1
    assert _count(engine, Impression) == 0


def test_clock_jump_back_is_flagged_and_billed_once(engine, settings, ads_world, make_pop):
    start = utcnow() - timedelta(hours=3)
    ingestor = PlayIngestor(engine, settings)
    first_hour = [make_pop(start + timedelta(seconds=10 * n)) for n in range(10)]
    ingestor.ingest(first_hour, "mqtt")
    # The clock jumps back 50 s: new plays (new ids) land on an interval already played.
    jumped = [make_pop(start + timedelta(seconds=10 * n - 50)) for n in (10, 11)]
    result = ingestor.ingest([*jumped, first_hour[0]], "mqtt")
    assert result.accepted == 2
    assert result.duplicates == 1  # the replayed play
    assert len(result.flagged) == 2
    assert all(flag.startswith("not billed: overlaps play") for _, flag in result.flagged), (
        result.flagged
    )
    with Session(engine) as session:
        flags = session.scalars(select(Play.flag).where(Play.flag.is_not(None))).all()
    assert len(flags) == 2
    assert _count(engine, Play) == 12
    assert _count(engine, Impression) == 10  # the overlapping plays are not billed again


def test_a_fully_overlapping_duplicate_under_a_fresh_id_is_billed_once(
    engine, settings, ads_world, make_pop
):
    started = utcnow() - timedelta(minutes=30)
    original = make_pop(started)
    copy = make_pop(started)  # same screen, same interval, a fresh play id
    result = PlayIngestor(engine, settings).ingest([original, copy], "mqtt")
    assert result.accepted == 2
    assert [pid for pid, _ in result.flagged] == [copy["play_id"]]
    assert [row.play_id for row in _impressions(engine)] == [original["play_id"]]
    # the same interval on another screen is another play, billed
    other = make_pop(started, player=ads_world.sensor_player)
    assert PlayIngestor(engine, settings).ingest([other], "mqtt").flagged == []
    assert _count(engine, Impression) == 2


def test_billing_rules_refuse_with_reasons_and_keep_the_rest_of_the_batch(
    engine, settings, ads_world, make_pop
):
    now = utcnow()
    with session_scope(engine) as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == ads_world.other_campaign_id)
            .values(targeting=json.dumps({"zones": ["dairy"]}))
        )
        session.add(
            Creative(campaign_id=ads_world.other_campaign_id, name="Espresso 6s", duration_s=6)
        )
    good = make_pop(now - timedelta(minutes=40))
    long_play = make_pop(now - timedelta(hours=23, minutes=30), seconds=23 * 3600)
    slightly_long = make_pop(now - timedelta(minutes=20), seconds=12.5)  # 10 s creative
    within_tolerance = make_pop(now - timedelta(minutes=10), seconds=11.5)
    # other campaign: zone "dairy" only, flight from 10 days ago, longest creative 6 s
    wrong_zone = make_pop(
        now - timedelta(minutes=5), campaign=ads_world.other_campaign_id, creative=None
    )
    before_flight = make_pop(
        now - timedelta(days=12),
        campaign=ads_world.other_campaign_id,
        creative=None,
        player=ads_world.sensor_player,
    )
    in_zone = make_pop(
        now - timedelta(minutes=5),
        campaign=ads_world.other_campaign_id,
        creative=None,
        player=ads_world.sensor_player,
        seconds=6,
    )
    too_long_for_campaign = make_pop(
        now - timedelta(minutes=3),
        seconds=9,
        campaign=ads_world.other_campaign_id,
        creative=None,
        player=ads_world.sensor_player,
    )
    batch = [
        good,
        long_play,
        slightly_long,
        within_tolerance,
        wrong_zone,
        before_flight,
        in_zone,
        too_long_for_campaign,
    ]
    result = PlayIngestor(engine, settings).ingest(batch, "mqtt")
    reasons = dict(result.rejected)
    assert result.accepted == 3
    assert {good["play_id"], within_tolerance["play_id"], in_zone["play_id"]} == {
        row.play_id for row in _impressions(engine)
    }
    assert reasons[long_play["play_id"]].startswith("longer_than_creative: play lasted 82800")
    assert "10.000 s + 2 s tolerance" in reasons[slightly_long["play_id"]]
    assert reasons[wrong_zone["play_id"]] == (
        f"not_targeted: campaign {ads_world.other_campaign_id} does not target zone "
        "'entrance' of player 'screen-01'"
    )
    assert reasons[before_flight["play_id"]].startswith("out_of_flight: play started")
    assert "campaign's longest creative (6.000 s" in reasons[too_long_for_campaign["play_id"]]
    with Session(engine) as session:
        stored = dict(session.execute(select(RejectedPlay.play_id, RejectedPlay.reason)).all())
    assert stored == reasons


def test_a_play_naming_another_player_than_its_topic_is_refused(
    engine, settings, ads_world, make_pop
):
    own, forged = make_pop(player=ads_world.sensor_player), make_pop()  # forged: screen-01
    payload = json.dumps([own, forged]).encode()
    result = PlayIngestor(engine, settings).on_plays(parse_pops(payload), ads_world.sensor_player)
    assert result.accepted == 1
    assert dict(result.rejected) == {
        forged["play_id"]: "wrong_player: player 'screen-02' may not report plays of 'screen-01'"
    }
    assert [row.player_id for row in _impressions(engine)] == [ads_world.sensor_player]
    with Session(engine) as session:
        [refused] = session.scalars(select(RejectedPlay)).all()
    assert (refused.play_id, refused.player_id) == (forged["play_id"], "screen-01")


def test_clock_jump_forward_is_not_double_counted(engine, settings, ads_world, make_pop):
    start = utcnow() - timedelta(hours=2)
    ingestor = PlayIngestor(engine, settings)
    pop = make_pop(start)
    ingestor.ingest([pop], "mqtt")
    # The player's clock ran an hour ahead, then was corrected and it re-sent its buffer:
    # same play id with new times is the same play.
    corrected = dict(pop, started_at=(start + timedelta(hours=1)).isoformat())
    corrected["ended_at"] = (start + timedelta(hours=1, seconds=10)).isoformat()
    result = ingestor.ingest([corrected], "mqtt")
    assert (result.accepted, result.duplicates) == (0, 1)
    assert _count(engine, Impression) == 1


def test_protocol_plays_from_mqtt_are_ingested(engine, settings, ads_world, make_pop):
    payload = json.dumps([make_pop(), make_pop(seconds=11)]).encode()
    result = PlayIngestor(engine, settings).on_plays(parse_pops(payload), ads_world.declared_player)
    assert result.accepted == 2
    with Session(engine) as session:
        player = session.get(Player, ads_world.declared_player)
    assert player.last_pop_at is not None


def test_archiving_or_deleting_never_removes_impressions(engine, settings, ads_world, make_pop):
    PlayIngestor(engine, settings).ingest([make_pop(), make_pop()], "mqtt")
    with session_scope(engine) as session:
        session.execute(update(Player).values(archived=True))
        session.execute(update(Creative).values(archived=True))
        session.execute(update(Campaign).values(status="archived"))
    # A late buffered play of the archived campaign still counts.
    assert PlayIngestor(engine, settings).ingest([make_pop()], "mqtt").accepted == 1
    with session_scope(engine) as session:
        session.execute(delete(Creative))
        session.execute(delete(Campaign).where(Campaign.id == ads_world.campaign_id))
    rows = _impressions(engine)
    assert len(rows) == 3
    assert {(r.campaign_name, r.creative_name, r.player_name) for r in rows} == {
        ("Milk winter", "Milk 10s", "Entrance left")
    }
    assert verify_impressions(engine).ok


def test_tampering_is_detected(engine, settings, ads_world, make_pop):
    PlayIngestor(engine, settings).ingest([make_pop() for _ in range(5)], "mqtt")
    assert verify_impressions(engine).checked == 5
    with session_scope(engine) as session:
        session.execute(update(Impression).where(Impression.seq == 3).values(cpm_minor=1))
    result = verify_impressions(engine)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "altered" in result.reason


def test_concurrent_writers_never_fork_the_chain(engine, settings, ads_world, make_pop):
    start = utcnow() - timedelta(hours=2)
    batches = [
        [make_pop(start + timedelta(seconds=10 * (b * 50 + n))) for n in range(50)]
        for b in range(8)
    ]
    errors: list[BaseException] = []

    def run(batch):
        try:
            PlayIngestor(engine, settings).ingest(batch, "mqtt")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    rows = _impressions(engine)
    assert [row.seq for row in rows] == list(range(1, 401))
    assert verify_impressions(engine).ok


def test_unreadable_declaration_counts_one_and_raises_an_incident(
    engine, settings, ads_world, make_pop
):
    with session_scope(engine) as session:
        session.execute(update(Player).values(declared_audience='{"7-10": 3}'))
    PlayIngestor(engine, settings).ingest([make_pop()], "mqtt")
    assert _impressions(engine)[0].multiplier_milli == 1000
    with Session(engine) as session:
        incident = session.scalars(select(Incident)).one()
    assert incident.kind == "bad_declared_audience"
    assert "HH:MM" in incident.message


def test_batch_larger_than_the_wire_limit_is_refused(engine, settings, ads_world, make_pop):
    pops = [{"play_id": str(uuid.uuid4())}] * 1001
    try:
        PlayIngestor(engine, settings).ingest(pops, "http")
    except ValueError as exc:
        assert "at most 1000" in str(exc)
    else:
        raise AssertionError("a 1001-play batch was accepted")


def test_local_offset_is_kept_for_other_time_zones(engine, settings, ads_world, make_pop):
    started = utcnow() - timedelta(minutes=30)
    pop = make_pop(started, offset=timezone(timedelta(hours=-5, minutes=-30)))
    PlayIngestor(engine, settings).ingest([pop], "http")
    with Session(engine) as session:
        play = session.get(Play, pop["play_id"])
    assert play.local_offset_minutes == -330
    assert abs((play.started_at - started).total_seconds()) < 0.001


def test_a_play_outside_the_utc_range_is_refused_and_the_batch_still_counts(
    engine, settings, ads_world, make_pop
):
    good = make_pop()
    edge = dict(
        make_pop(),
        started_at="0001-01-01T00:00:00+05:00",
        ended_at="0001-01-01T00:00:10+05:00",
    )
    result = PlayIngestor(engine, settings).ingest([good, edge], "http")
    assert result.accepted == 1
    assert dict(result.rejected)[edge["play_id"]].startswith("malformed: started_at")


def test_a_store_worker_stores_plays_with_their_store_and_refuses_another_stores_screen(
    engine, settings, ads_world, make_pop
):
    from esl_controller.ads.ingest import OTHER_STORE
    from esl_controller.models import Player, RejectedPlay, Store, Zone

    with Session(engine) as session:
        session.add(Store(id="cluj-01", name="Cluj"))
        session.flush()
        session.add(Zone(id="cluj-entrance", store_id="cluj-01"))
        session.flush()
        session.add(Player(id="cluj-scr-1", store_id="cluj-01", zone_id="cluj-entrance"))
        session.commit()
    started = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    ours, theirs = make_pop(started), make_pop(started, player="cluj-scr-1")
    worker = PlayIngestor(
        engine, settings, clock=lambda: started + timedelta(hours=1), only_store=settings.store_id
    )
    result = worker.ingest([ours, theirs], "mqtt")
    assert result.accepted == 1
    [(play_id, reason)] = result.rejected
    assert play_id == theirs["play_id"]
    assert reason.startswith(f"{OTHER_STORE}: player 'cluj-scr-1' belongs to store 'cluj-01'")
    with Session(engine) as session:
        assert session.get(Play, ours["play_id"]).store_id == settings.store_id
        assert session.get(Play, theirs["play_id"]) is None
        refused = session.scalars(select(RejectedPlay)).one()
    assert (refused.player_id, refused.store_id) == ("cluj-scr-1", "cluj-01")
