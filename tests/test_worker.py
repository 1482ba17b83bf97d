"""The label path end to end: database -> render -> outbox -> real broker -> simulated
base stations -> acks -> label state. Restarts of the worker and of the broker lose nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from esl_controller.broker import start_local_broker
from esl_controller.clock import utcnow
from esl_controller.esl.commands import repush_label
from esl_controller.models import Label, OutboxMessage, Product
from esl_controller.sims.base_station import BaseStationSim
from esl_controller.worker import Worker

pytestmark = pytest.mark.mqtt


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll for an outcome; the bound is a safety net, never an assertion about speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def acked(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Label).where(Label.state == "acked"))


@pytest.fixture
def sims(settings, tmp_path):
    started: list[BaseStationSim] = []

    def start(stations: int = 2, airtime: float = 0.0, url: str | None = None) -> BaseStationSim:
        sim = BaseStationSim(
            url or settings.mqtt_url,
            settings.topic_prefix,
            settings.store_id,
            [f"bs-{n:02d}" for n in range(1, stations + 1)],
            image_dir=tmp_path / "shown",
            airtime_s=airtime,
        )
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def test_every_label_is_rendered_pushed_and_acknowledged(
    engine, settings, seed_store, sims, tmp_path
):
    ids = seed_store(labels=12, stations=2)
    sim = sims(stations=2)
    worker = Worker(settings, engine).start()
    try:
        worker.refresh_changed()
        assert wait_until(lambda: acked(engine) == 12)
    finally:
        worker.stop()
    with Session(engine) as s:
        labels = {lb.id: lb for lb in s.scalars(select(Label))}
    for label_id in ids:
        label = labels[label_id]
        seq, content_hash = sim.shown(label.base_station_id, label_id)
        assert (seq, content_hash) == (label.shown_seq, label.shown_hash)
        assert label.battery is not None and label.signal is not None
        assert (tmp_path / "shown" / label.base_station_id / f"{label_id}.png").is_file()


def test_a_price_change_reaches_only_the_changed_label(engine, settings, seed_store, sims):
    ids = seed_store(labels=6, stations=1)
    sims(stations=1)
    worker = Worker(settings, engine).start()
    try:
        worker.refresh_changed()
        assert wait_until(lambda: acked(engine) == 6)
        with Session(engine) as s:
            before = {lb.id: lb.shown_seq for lb in s.scalars(select(Label))}
            product_id = s.get(Label, ids[2]).product_id
            s.execute(update(Product).where(Product.id == product_id).values(price_minor=999))
            s.commit()
        with Session(engine) as s:
            s.execute(update(Product).where(Product.id == product_id).values(updated_at=utcnow()))
            s.commit()
        report = worker.refresh_changed()
        assert report.queued == 1
        assert wait_until(lambda: _shown_seq(engine, ids[2]) == before[ids[2]] + 1)
    finally:
        worker.stop()
    with Session(engine) as s:
        after = {lb.id: lb.shown_seq for lb in s.scalars(select(Label))}
    assert {k for k in after if after[k] != before[k]} == {ids[2]}


def _shown_seq(engine, label_id: str) -> int:
    with Session(engine) as s:
        return s.get(Label, label_id).shown_seq


def test_worker_restart_mid_push_loses_nothing(engine, settings, seed_store, sims):
    seed_store(labels=16, stations=2)
    sims(stations=2, airtime=0.1)
    worker = Worker(settings, engine).start()
    worker.refresh_changed()
    assert wait_until(lambda: acked(engine) >= 2)
    worker.stop()  # mid-push: most images are still queued or on air
    assert acked(engine) < 16
    worker = Worker(settings, engine).start()
    try:
        assert wait_until(lambda: acked(engine) == 16)
    finally:
        worker.stop()
    with Session(engine) as s:
        states = set(s.scalars(select(OutboxMessage.state)))
    assert states == {"acked"}


def test_broker_restart_mid_push_loses_nothing(
    engine, settings, seed_store, sims, tmp_path, local_broker_kind
):
    broker = start_local_broker(tmp_path / "broker", local_broker_kind)
    port = broker.port
    settings = settings.with_overrides(mqtt_url=broker.url, ack_timeout_s=3.0)
    seed_store(labels=16, stations=2)
    sims(stations=2, airtime=0.1, url=broker.url)
    worker = Worker(settings, engine).start()
    try:
        worker.refresh_changed()
        assert wait_until(lambda: acked(engine) >= 2)
        broker.stop()
        assert acked(engine) < 16
        broker = start_local_broker(tmp_path / "broker", broker.kind, port=port)
        assert wait_until(lambda: acked(engine) == 16, timeout=120)
    finally:
        worker.stop()
        broker.stop()


def test_station_that_goes_offline_gets_its_images_when_it_returns(
    engine, settings, seed_store, sims
):
    seed_store(labels=4, stations=1)
    sim = sims(stations=1)
    sim.go_offline("bs-01")
    worker = Worker(settings, engine).start()
    try:
        worker.refresh_changed()
        time.sleep(1.0)
        assert acked(engine) == 0
        sim.go_online("bs-01")
        assert wait_until(lambda: acked(engine) == 4)
    finally:
        worker.stop()


def test_a_sync_requested_from_the_dashboard_runs_in_the_worker_and_relabels(
    engine, settings, sims
):
    from datetime import timedelta

    from esl_controller.demo_seed import seed_demo_store
    from esl_controller.models import SyncRun
    from esl_controller.sims.erp import ErpSimulator

    erp = ErpSimulator(products=30, store_id=settings.store_id, token="t0k").start()
    settings = settings.with_overrides(erp_url=erp.url, erp_token="t0k", sync_interval_s=3600)
    seed_demo_store(engine, settings.store_id, products=30, stations=2)
    sims(stations=2)
    worker = Worker(settings, engine).start()
    try:
        assert wait_until(lambda: acked(engine) == 30)
        changed = erp.change_prices(3)
        with Session(engine) as s:
            s.add(
                SyncRun(
                    store_id=settings.store_id,
                    feed="json",
                    trigger="manual",
                    status="requested",
                    full=False,
                )
            )
            s.commit()

        def finished() -> SyncRun | None:
            with Session(engine) as s:
                run = s.scalars(select(SyncRun).where(SyncRun.trigger == "manual")).first()
                # the run's label counts are written right after its sync part finishes
                return run if run and run.labels_queued else None

        assert wait_until(lambda: finished() is not None)
        run = finished()
        assert (run.status, run.changed, run.labels_rendered, run.labels_queued) == (
            "succeeded",
            3,
            3,
            3,
        )
        with Session(engine) as s:
            prices = {
                p.gtin: p.price_minor
                for p in s.scalars(select(Product).where(Product.gtin.in_(changed)))
            }
        for gtin in changed:
            assert f"{prices[gtin] / 100:.2f}" == erp.product(gtin)["price"]
        assert wait_until(lambda: acked(engine) == 30)
        assert run.finished_at - run.started_at < timedelta(hours=1)  # sanity, not speed
    finally:
        worker.stop()
        erp.stop()


def test_a_promotion_flips_its_labels_at_its_start_without_a_sync(
    engine, settings, seed_store, sims
):
    from datetime import timedelta

    from esl_controller.clock import utcnow
    from esl_controller.esl.shelf_refresher import PROMOTION_CHECK_KEY, _set_meta_time, store_key
    from esl_controller.models import Promotion

    ids = seed_store(labels=3, stations=1)
    sims(stations=1)
    worker = Worker(settings, engine).start()
    try:
        worker.refresh_changed()
        assert wait_until(lambda: acked(engine) == 3)
        started = utcnow() - timedelta(seconds=30)
        checked_key = store_key(PROMOTION_CHECK_KEY, settings.store_id)
        _set_meta_time(engine, checked_key, started - timedelta(seconds=30))
        with Session(engine) as s:
            label = s.get(Label, ids[1])
            before = label.content_hash
            s.add(
                Promotion(
                    product_id=label.product_id,
                    price_minor=999,
                    starts_at=started,
                    ends_at=started + timedelta(days=3),
                )
            )
            s.commit()
        report = worker.flip_promotions()
        assert report.queued == 1
        with Session(engine) as s:
            assert s.get(Label, ids[1]).content_hash != before
        assert worker.flip_promotions().queued == 0  # already flipped
    finally:
        worker.stop()


def test_the_hourly_outbox_retention_keeps_what_each_label_was_last_sent(
    engine, settings, seed_store, sims
):
    ids = seed_store(labels=3, stations=1)
    sims(stations=1)
    worker = Worker(settings, engine).start()
    try:
        worker.refresh_changed()
        assert wait_until(lambda: acked(engine) == 3)
        with Session(engine) as s:
            for label_id in ids:
                repush_label(s, label_id, settings)
        assert wait_until(lambda: _shown_seq(engine, ids[0]) == 2 and acked(engine) == 3)
        with Session(engine) as s:
            long_ago = utcnow() - timedelta(days=settings.outbox_retention_days + 1)
            s.execute(update(OutboxMessage).values(done_at=long_ago))
            s.commit()
        worker._scheduler.get_job("outbox_retention").func()
    finally:
        worker.stop()
    with Session(engine) as s:
        left = s.execute(select(OutboxMessage.label_id, OutboxMessage.seq)).all()
    assert sorted(left) == sorted((label_id, 2) for label_id in ids)
