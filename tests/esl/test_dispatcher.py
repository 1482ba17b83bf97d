"""The dispatcher against a real SQLite file, through the MQTT driver on a recording bus.

Broker round trips are covered in tests/test_worker.py; here every rule of delivery is
driven step by step, so each assertion is about one decision.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.esl.dispatcher import Dispatcher
from esl_controller.esl.drivers.mqtt import protocol
from esl_controller.esl.link import CommandKind
from esl_controller.esl.outbox import Priority
from esl_controller.models import Incident
from tests.support.mqtt_bus import RecordingBus, mqtt_dispatcher
from tests.support.outbox_rows import image, label, outbox, queue, queue_each


@pytest.fixture
def dispatcher(engine, settings) -> tuple[Dispatcher, RecordingBus]:
    return mqtt_dispatcher(engine, settings)


def status(bus: RecordingBus, station: str, state: str) -> None:
    bus.status(station, state)


def ack(bus: RecordingBus, station: str, label: str, seq: int, ok: bool = True) -> None:
    bus.ack(station, label, seq, ok)


def test_offline_station_holds_its_queue_until_it_comes_online(engine, seed_store, dispatcher):
    d, sent = dispatcher
    ids = seed_store(labels=3, stations=1)
    queue_each(engine, ids)
    assert d.step() == 0
    assert sent.sent == []
    status(sent, "bs-01", "online")
    assert d.step() == d.settings.station_window == 2
    assert [f.seq for f in sent.frames()] == [1, 1]


def test_ack_marks_label_shown_and_frees_the_window(engine, seed_store, dispatcher):
    d, sent = dispatcher
    ids = seed_store(labels=3, stations=1)
    queue_each(engine, ids)
    status(sent, "bs-01", "online")
    d.step()
    ack(sent, "bs-01", ids[0], 1)
    assert d.step() == 1  # the third image takes the freed slot
    first = label(engine, ids[0])
    assert (first.state, first.shown_seq, first.battery, first.signal) == ("acked", 1, 87, -61)
    assert first.shown_hash == image(1).content_hash
    assert outbox(engine, ids[0])[0].state == "acked"
    assert label(engine, ids[2]).state == "sent"


def test_manager_action_overtakes_the_routine_backlog(engine, seed_store, dispatcher):
    d, sent = dispatcher
    ids = seed_store(labels=6, stations=1)
    for n, label_id in enumerate(ids[:5]):
        queue(engine, label_id, n + 1, Priority.ROUTINE)
    status(sent, "bs-01", "online")
    d.step()  # two routine images on air
    queue(engine, ids[5], 9, Priority.MANAGER)
    ack(sent, "bs-01", ids[0], 1)
    d.step()
    assert sent.labels()[-1] == ids[5]


def test_identical_image_is_not_queued_again_unless_forced(engine, seed_store):
    (label_id,) = seed_store(labels=1, stations=1)
    assert queue(engine, label_id, 3) == 1
    assert queue(engine, label_id, 3) == 0
    assert queue(engine, label_id, 3, Priority.MANAGER, force=True) == 1
    assert [row.state for row in outbox(engine, label_id)] == ["superseded", "pending"]


def test_stale_ack_never_marks_the_newer_image_delivered(engine, seed_store, dispatcher):
    d, sent = dispatcher
    (label_id,) = seed_store(labels=1, stations=1)
    status(sent, "bs-01", "online")
    queue(engine, label_id, 1)
    d.step()  # seq 1 on air
    queue(engine, label_id, 2)  # seq 2 supersedes it
    ack(sent, "bs-01", label_id, 1)  # late ack for the old image
    d.step()
    shown = label(engine, label_id)
    assert shown.shown_seq == 1 and shown.shown_hash == image(1).content_hash
    assert shown.state != "acked"  # the newer image is still owed
    assert [row.state for row in outbox(engine, label_id)] == ["superseded", "sent"]
    ack(sent, "bs-01", label_id, 2)
    d.step()
    shown = label(engine, label_id)
    assert (shown.state, shown.shown_seq, shown.shown_hash) == (
        "acked",
        2,
        image(2).content_hash,
    )
    assert d.stats["stale_acks"] == 1


def test_no_ack_retries_with_backoff_then_fails_with_reason(engine, seed_store, dispatcher):
    d, sent = dispatcher
    d.settings = replace(d.settings, ack_timeout_s=0.0, retry_base_s=0.0, max_attempts=3)
    (label_id,) = seed_store(labels=1, stations=1)
    status(sent, "bs-01", "online")
    queue(engine, label_id, 1)
    for _ in range(8):
        d._last_expiry = d._last_expiry.replace(year=2000)  # expire on every step
        d.step()
    row = outbox(engine, label_id)[0]
    assert (row.state, row.attempts) == ("failed", 3)
    assert "no confirmation from bs-01" in row.reason and "3 attempts" in row.reason
    failed = label(engine, label_id)
    assert failed.state == "failed" and "no confirmation" in failed.last_error
    assert len(sent.frames()) == 3  # one send per attempt, same sequence number
    assert {f.seq for f in sent.frames()} == {1}
    with Session(engine) as s:
        kinds = [i.kind for i in s.scalars(select(Incident))]
    assert kinds == ["delivery_failed"]


def test_nack_is_retried_and_the_retry_is_acked(engine, seed_store, dispatcher):
    d, sent = dispatcher
    d.settings = replace(d.settings, retry_base_s=0.0)
    (label_id,) = seed_store(labels=1, stations=1)
    status(sent, "bs-01", "online")
    queue(engine, label_id, 1)
    d.step()
    ack(sent, "bs-01", label_id, 1, ok=False)
    d.step()
    assert len(sent.frames()) == 2
    ack(sent, "bs-01", label_id, 1)
    d.step()
    assert label(engine, label_id).state == "acked"
    assert outbox(engine, label_id)[0].attempts == 2


def test_station_going_offline_requeues_what_was_on_air(engine, seed_store, dispatcher):
    d, sent = dispatcher
    ids = seed_store(labels=2, stations=1)
    queue_each(engine, ids)
    status(sent, "bs-01", "online")
    d.step()
    status(sent, "bs-01", "offline")  # the broker published its last will
    d.step()
    assert [row.state for row in outbox(engine, ids[0])] == ["pending"]
    assert outbox(engine, ids[0])[0].attempts == 0  # not the image's fault
    status(sent, "bs-01", "online")
    assert d.step() == 2


def test_malformed_and_unknown_acks_are_recorded_and_do_not_stop_delivery(
    engine, seed_store, dispatcher
):
    d, sent = dispatcher
    (label_id,) = seed_store(labels=1, stations=1)
    status(sent, "bs-01", "online")
    topic = protocol.ack_topic(d.settings.topic_prefix, d.settings.store_id, "bs-01")
    sent.deliver(topic, b"{not json")
    sent.deliver(topic, b'{"label": "X", "seq": "one"}')
    ack(sent, "bs-01", "NO-SUCH-LABEL", 4)
    queue(engine, label_id, 1)
    d.step()
    ack(sent, "bs-01", label_id, 1)
    d.step()
    assert label(engine, label_id).state == "acked"
    with Session(engine) as s:
        kinds = sorted(i.kind for i in s.scalars(select(Incident)))
    assert kinds == ["malformed_ack", "malformed_ack", "unknown_label"]
    assert d.stats["malformed_ack"] == 2


def test_restart_resends_what_was_on_air(engine, seed_store, settings):
    (label_id,) = seed_store(labels=1, stations=1)
    queue(engine, label_id, 1)
    before, first = mqtt_dispatcher(engine, settings)
    status(first, "bs-01", "online")
    before.step()
    assert outbox(engine, label_id)[0].state == "sent"
    after, second = mqtt_dispatcher(engine, settings)  # the worker crashed and came back
    after.recover()
    status(second, "bs-01", "online")
    after.step()
    assert [f.seq for f in second.frames()] == [1]
    ack(second, "bs-01", label_id, 1)
    after.step()
    assert label(engine, label_id).state == "acked"


def test_led_flash_goes_out_on_its_own_topic(engine, seed_store, dispatcher):
    from esl_controller.esl.outbox import queue_command

    d, sent = dispatcher
    (label_id,) = seed_store(labels=1, stations=1)
    status(sent, "bs-01", "online")
    with Session(engine) as s:
        queue_command(
            s, label_id, CommandKind.LED, {"colour": "green", "pattern": "blink", "seconds": 10}
        )
        s.commit()
    d.step()
    (topic, payload) = sent.sent[0]
    assert topic == protocol.led_topic(
        d.settings.topic_prefix, d.settings.store_id, "bs-01", label_id
    )
    assert protocol.parse_led(payload).colour == "green"


def test_good_acks_in_a_batch_with_a_bad_entry_still_count(engine, seed_store, dispatcher):
    d, sent = dispatcher
    ids = seed_store(labels=2, stations=1)
    queue_each(engine, ids)
    status(sent, "bs-01", "online")
    d.step()
    topic = protocol.ack_topic(d.settings.topic_prefix, d.settings.store_id, "bs-01")
    batch = (
        b'[{"label": "%s", "seq": 1, "status": "ok", "kind": "image"}, '
        b'{"label": "%s", "seq": "x"}]' % (ids[0].encode(), ids[1].encode())
    )
    sent.deliver(topic, batch)
    d.step()
    assert label(engine, ids[0]).state == "acked"
    assert label(engine, ids[1]).state == "sent"
    assert d.stats["malformed_ack"] == 1


def test_a_status_update_changes_figures_but_resends_nothing(engine, seed_store, dispatcher):
    from esl_controller.esl.link import StationInfo
    from esl_controller.models import BaseStation

    d, sent = dispatcher
    ids = seed_store(labels=3, stations=1)
    queue_each(engine, ids)
    status(sent, "bs-01", "online")
    assert d.step() == 2
    d.station_status("bs-01", StationInfo(queue_depth=7, eta_s=42.0))
    assert d.step() == 0  # what is on air stays on air
    with Session(engine) as s:
        station = s.get(BaseStation, "bs-01")
    assert (station.queue_depth, station.eta_s) == (7, 42.0)
    assert [row.state for row in outbox(engine, ids[0])] == ["sent"]


def test_a_station_announcing_itself_again_gets_its_on_air_work_resent(
    engine, seed_store, dispatcher
):
    d, sent = dispatcher
    ids = seed_store(labels=2, stations=1)
    queue_each(engine, ids)
    status(sent, "bs-01", "online")
    d.step()
    status(sent, "bs-01", "online")  # it restarted: what it held is gone
    assert d.step() == 2
    assert [f.seq for f in sent.frames()] == [1, 1, 1, 1]
    assert all(row.attempts == 1 for i in ids for row in outbox(engine, i))


def test_a_confirmation_from_another_station_does_not_count(engine, seed_store, dispatcher):
    d, sent = dispatcher
    ids = seed_store(labels=2, stations=2)
    status(sent, "bs-01", "online")
    status(sent, "bs-02", "online")
    queue(engine, ids[0], 1)  # goes to bs-01
    d.step()
    ack(sent, "bs-02", ids[0], 1)  # a station that was never sent it
    d.step()
    assert label(engine, ids[0]).state == "sent"
    with Session(engine) as s:
        kinds = [i.kind for i in s.scalars(select(Incident))]
    assert kinds == ["foreign_ack"]
    ack(sent, "bs-01", ids[0], 1)
    d.step()
    assert label(engine, ids[0]).state == "acked"


def test_a_poisonous_event_costs_only_itself(engine, seed_store, dispatcher, monkeypatch):
    """A step whose transaction fails rebuilds what is on air from the outbox rows and
    applies its events one by one: the good confirmation in it still counts."""
    from esl_controller.esl.link import HeardLabel

    d, sent = dispatcher
    ids = seed_store(labels=2, stations=1)
    queue_each(engine, ids)
    status(sent, "bs-01", "online")
    d.step()

    def explode(*_args):
        raise RuntimeError("a bug a station's report runs into")

    monkeypatch.setattr(d, "_apply_heard", explode)
    ack(sent, "bs-01", ids[0], 1)
    d.labels_heard("bs-01", [HeardLabel("LBL00001", "2.9-bwr")])
    d.step()
    assert label(engine, ids[0]).state == "acked"
    assert d.stats["poison_events"] == 1
    ack(sent, "bs-01", ids[1], 1)  # the other on-air image was not forgotten
    d.step()
    assert label(engine, ids[1]).state == "acked"
    with Session(engine) as s:
        assert "malformed_event" in [i.kind for i in s.scalars(select(Incident))]
