"""A station's queue, its ETA (reported, measured or nominal) and a re-push's progress."""

from __future__ import annotations

from datetime import timedelta

import pytest

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.esl import station_health
from esl_controller.esl.station_health import EtaSource, queue_eta, seconds_per_image
from esl_controller.models import OutboxMessage


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
        s.add(
            OutboxMessage(
                label_id=labels[0],
                base_station_id="bs-01",
                payload=b"x",
                state="acked",
                created_at=start - timedelta(days=1),
                done_at=start - timedelta(days=1),
            )
        )
        for n, label_id in enumerate(labels):
            state = "acked" if n < 6 else ("sent" if n < 7 else "pending")
            s.add(
                OutboxMessage(
                    label_id=label_id,
                    base_station_id="bs-01",
                    payload=b"x",
                    seq=2,
                    state=state,
                    created_at=start,
                    done_at=start + timedelta(seconds=3 * n) if state == "acked" else None,
                )
            )
        # an image replaced by a newer one before it went out is no part of the work
        s.add(
            OutboxMessage(
                label_id=labels[9],
                base_station_id="bs-01",
                payload=b"x",
                seq=1,
                state="superseded",
                created_at=start,
            )
        )
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
