"""The contract every base-station driver passes, against real device peers.

Each case runs the real worker (dispatcher, render pool, station links) on a real SQLite
file, with the station row naming the driver under test and the harness standing in for
the hardware (tests/support/station_harness.py). A new driver joins by adding a harness
to HARNESSES; nothing here names a driver otherwise.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller import db
from esl_controller.clock import utcnow
from esl_controller.esl.commands import flash_led
from esl_controller.models import BaseStation, Incident, Label, OutboxMessage, Product, Store
from esl_controller.worker import Worker
from tests.support.gtins import make_gtin
from tests.support.station_harness import MqttHarness, OeplHarness, StationHarness

pytestmark = pytest.mark.mqtt

HARNESSES: dict[str, Callable[..., StationHarness]] = {"mqtt": MqttHarness, "oepl": OeplHarness}
STATIONS = ["bs-01", "bs-02"]


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll for an outcome; the bound is a safety net, never an assertion about speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture(params=sorted(HARNESSES))
def harness(request, tmp_path) -> Iterator[StationHarness]:
    made = HARNESSES[request.param](tmp_path)
    yield made
    made.stop()


@pytest.fixture
def store(engine, settings, harness):
    """`store(labels=4)` -> label ids: stations of the harness's driver, bound labels."""

    def make(labels: int = 4) -> list[str]:
        ids = harness.label_ids(labels)
        placement = {label: STATIONS[n % len(STATIONS)] for n, label in enumerate(ids)}
        harness.start(settings, STATIONS, placement)
        with db.session_scope(engine) as s:
            s.add(Store(id=settings.store_id, name="Contract", locale="ro_RO", currency="RON"))
            s.flush()
            for station in STATIONS:
                s.add(
                    BaseStation(
                        id=station,
                        store_id=settings.store_id,
                        driver=harness.driver,
                        options=json.dumps(harness.options(station)),
                    )
                )
            s.flush()
            for n, label_id in enumerate(ids):
                product = Product(
                    store_id=settings.store_id,
                    gtin=make_gtin(n),
                    name=f"Iaurt grecesc {n}",
                    net_quantity=150,
                    unit="g",
                    price_minor=499 + n,
                    currency="RON",
                    stock=12,
                )
                s.add(product)
                s.flush()
                s.add(
                    Label(
                        id=label_id,
                        store_id=settings.store_id,
                        model="2.9-bwr",
                        base_station_id=placement[label_id],
                        product_id=product.id,
                        template="price",
                    )
                )
        return ids

    return make


@pytest.fixture
def worker(engine, settings) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(**overrides) -> Worker:
        w = Worker(settings.with_overrides(**overrides) if overrides else settings, engine)
        started.append(w.start())
        return w

    yield start
    for w in started:
        w.stop()


def labels(engine) -> dict[str, Label]:
    with Session(engine) as s:
        return {row.id: row for row in s.scalars(select(Label))}


def all_shown(engine, harness: StationHarness, ids: list[str]) -> bool:
    rows = labels(engine)
    return all(
        rows[i].state == "acked"
        and rows[i].shown_hash == rows[i].content_hash
        and harness.shown(rows[i].base_station_id, i) == rows[i].content_hash
        for i in ids
    )


def reprice(engine, gtin_index: int, price: int) -> None:
    with db.session_scope(engine) as s:
        product = s.scalars(select(Product).where(Product.gtin == make_gtin(gtin_index))).one()
        product.price_minor = price
        product.updated_at = utcnow()
        s.add(product)


def test_images_are_delivered_and_confirmed_by_the_device(engine, store, harness, worker):
    ids = store(labels=6)
    worker().refresh_changed()
    assert wait_until(lambda: all_shown(engine, harness, ids))
    rows = labels(engine)
    assert all(rows[i].last_seen is not None for i in ids)


def test_a_stale_confirmation_never_marks_the_newer_image(engine, store, harness, worker):
    (label_id,) = store(labels=1)
    w = worker()
    w.refresh_changed()
    reprice(engine, 0, 777)  # a newer image while the first may still be on air
    w.refresh_changed()
    assert wait_until(lambda: all_shown(engine, harness, [label_id]))
    row = labels(engine)[label_id]
    with Session(engine) as s:
        states = [o.state for o in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert states[-1] == "acked"
    assert row.shown_hash == row.content_hash  # the label shows the newest image
    assert harness.shown(row.base_station_id, label_id) == row.content_hash


def test_no_confirmation_retries_with_backoff_then_fails_with_reason(
    engine, store, harness, worker
):
    (label_id,) = store(labels=1)
    harness.deafen(labels(engine)[label_id].base_station_id)
    worker(ack_timeout_s=0.3, slot_timeout_s=0.2, retry_base_s=0.1, max_attempts=3)
    # A driver may wait longer than the setting (an AP's tags confirm at their check-ins).
    assert wait_until(lambda: labels(engine)[label_id].state == "failed", timeout=150)
    with Session(engine) as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.label_id == label_id)).one()
        kinds = [i.kind for i in s.scalars(select(Incident))]
    assert row.state == "failed" and row.attempts == 3
    assert "no confirmation" in row.reason and "3 attempts" in row.reason
    assert "delivery_failed" in kinds
    assert "no confirmation" in labels(engine)[label_id].last_error


def test_offline_station_holds_its_commands_until_it_returns(engine, store, harness, worker):
    ids = store(labels=4)
    away = STATIONS[0]
    harness.go_offline(away)
    worker().refresh_changed()
    others = [i for i in ids if labels(engine)[i].base_station_id != away]
    held = [i for i in ids if labels(engine)[i].base_station_id == away]
    assert wait_until(lambda: all_shown(engine, harness, others))
    assert all(labels(engine)[i].state in ("pending", "sent") for i in held)
    harness.go_online(away)
    assert wait_until(lambda: all_shown(engine, harness, held))
    with Session(engine) as s:
        failed = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "failed")
        )
    assert failed == 0


def test_led_flash_reaches_the_label(engine, store, harness, worker):
    (label_id,) = store(labels=1)
    worker().refresh_changed()
    assert wait_until(lambda: all_shown(engine, harness, [label_id]))
    with Session(engine) as s:
        message_id = flash_led(s, label_id, "green", "blink", 5).id
    station = labels(engine)[label_id].base_station_id
    assert wait_until(lambda: harness.led_flashes(station, label_id) >= 1)

    def confirmed() -> bool:
        with Session(engine) as s:
            return s.get(OutboxMessage, message_id).state == "acked"

    assert wait_until(confirmed)


def test_a_label_the_store_does_not_have_is_listed(engine, store, harness, worker):
    store(labels=1)
    worker()
    stray = harness.stray_label_id()
    harness.report_unknown_label(STATIONS[0], stray)

    def listed() -> bool:
        with Session(engine) as s:
            if harness.unknown_label_listing == "label":
                row = s.get(Label, stray)
                return row is not None and row.state == "unbound"
            subjects = [
                i.subject
                for i in s.scalars(select(Incident).where(Incident.kind == "unknown_label"))
            ]
            return "STRAY00001" in subjects

    assert wait_until(listed)


def test_worker_killed_mid_push_loses_nothing(engine, settings, store, harness, tmp_path):
    ids = store(labels=24)
    env = {
        **os.environ,
        "ESL_DATA_DIR": str(settings.data_dir),
        "ESL_DATABASE_URL": settings.resolved_database_url,
        "ESL_MQTT_URL": settings.mqtt_url,
        "ESL_TOPIC_PREFIX": settings.topic_prefix,
        "ESL_STORE_ID": settings.store_id,
        "ESL_SECRET_KEY": "contract-test-secret-0123456789abcdef",
        "ESL_RENDER_WORKERS": "1",
        "ESL_ACK_TIMEOUT": "5",
        "ESL_RETRY_BASE": "0.2",
        "ESL_RETRY_MAX": "1",
    }
    command = [sys.executable, "-m", "esl_controller.cli", "worker", "--wait-for-lease"]
    log = (tmp_path / "worker.log").open("wb")
    first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Kill it once some, not all, labels are confirmed: mid-push.
        assert wait_until(lambda: sum(r.state == "acked" for r in labels(engine).values()) > 0)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    # The killed worker's lease runs out on its own; the new one waits for it, then resumes.
    second = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: all_shown(engine, harness, ids), timeout=120)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
