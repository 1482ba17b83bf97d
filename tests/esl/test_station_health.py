"""A station's queue, its ETA (reported, measured or nominal) and a re-push's progress."""

from __future__ import annotations

from datetime import timedelta

import pytest

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.esl import station_health
from esl_controller.esl.station_health import EtaSource, queue_eta, seconds_per_image
from esl_controller.models import BaseStation, OutboxMessage
from tests.support.head_office_stores import NORTH, SOUTH, add_chain_stores
from tests.support.outbox_rows import outbox_row


def test_the_pace_is_the_median_gap_so_an_idle_pause_does_not_count():
    start = utcnow()
    burst = [start + timedelta(seconds=4 * n) for n in range(5)]
    later = [start + timedelta(hours=3, seconds=4 * n) for n in range(5)]
    assert seconds_per_image(burst + later) == pytest.approx(4.0)
    assert seconds_per_image(burst[:1]) is None
    assert seconds_per_image([start, start]) is None


@pytest.mark.parametrize(
    ("queued", "reported", "pace", "expected"),
    [
        (10, 95.0, 4.0, (95.0, EtaSource.STATION)),
        (10, None, 2.5, (25.0, EtaSource.MEASURED)),
        (10, None, None, (10 * station_health.NOMINAL_AIRTIME_S, EtaSource.NOMINAL)),
        (0, None, 2.5, (0.0, EtaSource.EMPTY)),
    ],
)
def test_the_eta_believes_the_station_then_its_pace_then_nominal_airtime(
    queued, reported, pace, expected
):
    eta = queue_eta(queued, reported, pace)
    assert (eta.seconds, eta.source) == expected


def test_health_counts_the_queue_and_the_progress_of_a_repush(engine, seed_store):
    labels = seed_store(labels=10, stations=1)
    start = utcnow() - timedelta(minutes=5)
    with session_scope(engine) as s:
        # an old image acked yesterday is not part of today's re-push
        day_before = start - timedelta(days=1)
        s.add(outbox_row(labels[0], "bs-01", "acked", day_before, day_before))
        for n, label_id in enumerate(labels):
            state = "acked" if n < 6 else ("sent" if n < 7 else "pending")
            done_at = start + timedelta(seconds=3 * n) if state == "acked" else None
            s.add(outbox_row(label_id, "bs-01", state, start, done_at, seq=2))
        # an image replaced by a newer one before it went out is no part of the work
        s.add(outbox_row(labels[9], "bs-01", "superseded", start, seq=1))
    with session_scope(engine) as s:
        health = station_health.load_health(s, "bs-01", None)
    assert (health.pending, health.sent) == (3, 1)
    assert health.seconds_per_image == pytest.approx(3.0)
    assert (health.eta.seconds, health.eta.source) == (pytest.approx(12.0), EtaSource.MEASURED)
    assert (health.progress.done, health.progress.total, health.progress.percent) == (6, 10, 60)


def test_an_idle_station_has_no_progress_and_no_eta(engine, seed_store):
    seed_store(labels=1, stations=1)
    with session_scope(engine) as s:
        health = station_health.load_health(s, "bs-01", None)
    assert health.progress is None and health.eta.source == EtaSource.EMPTY


def test_station_list_prints_the_queue_and_its_eta(engine, settings, seed_store, monkeypatch):
    from click.testing import CliRunner

    from esl_controller.cli import main

    labels = seed_store(labels=2, stations=1)
    with session_scope(engine) as s:
        for label_id in labels:
            s.add(OutboxMessage(label_id=label_id, base_station_id="bs-01", payload=b"x"))
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ESL_STORE_ID", settings.store_id)
    result = CliRunner().invoke(main, ["station", "list"])
    assert result.exit_code == 0, result.output
    assert "2 pending, 0 sent, ETA 8 s (nominal), 0 of 2 done" in result.output


def test_a_store_is_through_when_its_slowest_station_is():
    fast = station_health.StationHealth(
        pending=2,
        sent=0,
        eta=queue_eta(2, None, 3.0),
        seconds_per_image=3.0,
        progress=station_health.Progress(done=8, total=10),
    )
    slow = station_health.StationHealth(
        pending=0,
        sent=1,
        eta=queue_eta(1, 95.0, None),
        seconds_per_image=None,
        progress=station_health.Progress(done=1, total=2),
    )
    idle = station_health.StationHealth(
        pending=0, sent=0, eta=queue_eta(0, None, None), seconds_per_image=None, progress=None
    )
    delivery = station_health.store_delivery([fast, idle, slow])
    assert delivery.waiting == 3
    assert (delivery.progress.done, delivery.progress.total) == (9, 12)
    assert (delivery.eta.seconds, delivery.eta.source) == (95.0, EtaSource.STATION)
    nothing = station_health.store_delivery([idle])
    assert nothing.progress is None and nothing.eta.source == EtaSource.EMPTY


def _queue_work_in_two_stores(engine) -> None:
    """North's station measured at 5 s an image with 3 waiting; south's reports its own ETA."""
    add_chain_stores(engine)
    start = utcnow() - timedelta(minutes=10)
    with session_scope(engine) as s:
        s.get(BaseStation, SOUTH.station_id).eta_s = 42.0
        north_rows = (
            [("acked", 5 * n) for n in range(4)] + [("sent", None)] + [("pending", None)] * 2
        )
        for n, (state, done_after) in enumerate(north_rows):
            done_at = start + timedelta(seconds=done_after) if done_after is not None else None
            s.add(outbox_row(NORTH.label_id(n % 3), NORTH.station_id, state, start, done_at, seq=n))
        # acked before the oldest waiting row: not part of the work in hand
        day_before = start - timedelta(days=1)
        s.add(outbox_row(NORTH.label_id(0), NORTH.station_id, "acked", day_before, day_before))
        s.add(outbox_row(SOUTH.label_id(0), SOUTH.station_id, "pending", start))


@pytest.mark.parametrize(
    "engine_fixture", ["engine", pytest.param("pg_engine", marks=pytest.mark.postgres)]
)
def test_every_stations_health_at_once_equals_each_stations_own(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    _queue_work_in_two_stores(engine)
    with session_scope(engine) as s:
        everyone = station_health.load_all_health(s)
        one_by_one = {
            station_id: station_health.load_health(
                s, station_id, s.get(BaseStation, station_id).eta_s
            )
            for station_id in (NORTH.station_id, SOUTH.station_id)
        }
    assert {station: pair[0] for station, pair in everyone.items()} == {
        NORTH.station_id: NORTH.id,
        SOUTH.station_id: SOUTH.id,
    }
    assert {station: pair[1] for station, pair in everyone.items()} == one_by_one
    north = one_by_one[NORTH.station_id]
    assert (north.eta.seconds, north.eta.source) == (pytest.approx(15.0), EtaSource.MEASURED)
    assert (north.progress.done, north.progress.total) == (4, 7)
