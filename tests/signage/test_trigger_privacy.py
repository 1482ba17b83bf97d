# ruff: noqa: F811 -- pytest fixtures imported from test_service are requested by name
"""Triggers over MQTT through a real broker: personal data refused and found nowhere, sensor
ids in topics held to their pattern, and a hostile trigger costing nothing but itself."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import Incident, Play, TriggerEvent
from esl_controller.signage import protocol
from esl_controller.signage.drivers.mqtt import topics
from tests.signage.test_service import (  # noqa: F401 (fixtures)
    audience,
    harness,
    playlists_dir,
    pump,
    rows,
    store,
)
from tests.support import pii_corpus
from tests.support.db_dump import all_stored_text


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The corpus sends hundreds of triggers from one sensor; the limit has its own tests.
    return settings.with_overrides(trigger_burst=100_000, trigger_rate_per_s=10_000.0)


def _queued(service, count: int) -> None:
    """Wait until the broker has handed at least `count` messages to the service, unhandled."""
    deadline = time.monotonic() + 30
    while service.intake.waiting() < count:
        assert time.monotonic() < deadline, "messages did not arrive"
        time.sleep(0.02)


def test_the_personal_data_corpus_over_mqtt_is_refused_and_found_nowhere(
    harness, engine, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    service, recorder = harness
    corpus = pii_corpus.cases()
    for case in corpus:
        recorder.trigger("cam-1", case.build("cam-1", "dairy", datetime.now(UTC)))
    pump(service, lambda: service.stats["triggers"] >= len(corpus))

    refused = rows(engine, TriggerEvent)
    assert len(refused) == len(corpus)
    assert {(e.outcome, e.payload, e.sensor_id) for e in refused} == {("rejected", "{}", "cam-1")}
    stored = all_stored_text(engine)
    for case in corpus:
        assert case.secret not in stored, case.name
        assert case.secret not in caplog.text, case.name


def test_a_topic_sensor_id_outside_the_pattern_is_refused_without_storing_it(
    harness, engine, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    service, recorder = harness
    base = f"{recorder.prefix}/{recorder.store}/{topics.SIGNAGE_LEVEL}/trigger"
    for sensor in pii_corpus.TOPIC_SENSORS:
        body = json.dumps(audience(sensor=sensor)).encode()
        recorder.send(f"{base}/{sensor}", body)
    recorder.trigger("cam-2", audience(sensor="cam-2"))
    pump(service, lambda: service.stats["malformed_signage"] >= len(pii_corpus.TOPIC_SENSORS))
    pump(service, lambda: rows(engine, TriggerEvent))

    assert [e.sensor_id for e in rows(engine, TriggerEvent)] == ["cam-2"]
    incidents = rows(engine, Incident, Incident.kind == "malformed_signage")
    assert len(incidents) == len(pii_corpus.TOPIC_SENSORS)
    assert {i.subject for i in incidents} == {f"{base}/(refused)"}
    stored = all_stored_text(engine)
    for sensor in pii_corpus.TOPIC_SENSORS:
        assert sensor not in stored
        assert sensor not in caplog.text


def test_a_hostile_trigger_costs_only_itself_not_the_plays_of_its_step(harness, engine):
    service, recorder = harness
    pop_topic = topics.pop_topic(recorder.prefix, recorder.store, "scr-1")
    trigger_topic = topics.trigger_topic(recorder.prefix, recorder.store, "cam-1")
    hostile = [
        b"[" * 100_000 + b"]" * 100_000,  # over the size cap
        b'{"type":"audience","x":' + b"[" * 3000 + b"]" * 3000 + b"}",  # under it, too deep
        b'{"type":"audience","sensor":"' + b"a" * 60_000 + b'@"}',
        b"1" * 6000,  # past Python's integer-digits limit
    ]
    start = datetime.now(UTC) - timedelta(seconds=30)
    plays = [
        protocol.Play(str(uuid.uuid4()), "scr-1", "welcome", start, start + timedelta(seconds=5))
        for _ in range(150)
    ]
    for index, play in enumerate(plays):
        if index % 50 == 0:
            recorder.send(trigger_topic, hostile[(index // 50) % len(hostile)])
        recorder.send(pop_topic, protocol.pop_payload([play]))
    recorder.send(trigger_topic, hostile[-1])
    recorder.trigger("cam-1", audience())
    # Acks go out in arrival order and a batch of plays is acked only once committed, so the
    # broker holds back what follows its in-flight window: the first step holds the first
    # hostile trigger together with plays, and every later step mixes them the same way.
    _queued(service, 10)
    service.step(0.0)
    assert service.stats["loop_errors"] == 0
    pump(service, lambda: service.stats["triggers"] >= 5 and service.stats["plays"] >= len(plays))

    with Session(engine) as session:
        stored = set(session.scalars(select(Play.play_id)).all())
    assert stored == {play.play_id for play in plays}
    outcomes = sorted(e.outcome for e in rows(engine, TriggerEvent))
    assert outcomes == ["matched"] + ["rejected"] * 4
    assert service.stats["loop_errors"] == 0
