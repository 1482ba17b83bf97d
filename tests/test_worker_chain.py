"""A chain on one PostgreSQL: three stores, three `esl-controller worker` processes, three
Mosquitto brokers each with the store's simulated base station.

The workers are subprocesses, not threads: each has its own process id in its lease (a
restarted worker takes back a killed one's lease on this host by its pid), its own MQTT
session and its own SIGKILL, as on a store's server; threads in the test process would
share one pid and could not be killed uncleanly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.broker import BrokerKind, LocalBroker, start_local_broker
from esl_controller.clock import utcnow
from esl_controller.models import Label, OutboxMessage, Product
from esl_controller.sims.base_station import BaseStationSim
from tests.support.brokers import require_broker
from tests.support.chain import WorkerProcess, seed_chain_store, start_worker
from tests.support.postgres import POSTGRES_URL

pytestmark = pytest.mark.mqtt

STORES = ("north", "south", "west")
LABELS_PER_STORE = 4


def wait_until(condition: Callable[[], bool], timeout: float = 90.0) -> bool:
    """Poll for an outcome; the bound is a safety net, never an assertion about speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def acked(engine: Engine, store_id: str) -> int:
    with Session(engine) as s:
        return s.scalar(
            select(func.count())
            .select_from(Label)
            .where(Label.store_id == store_id, Label.state == "acked")
        )


def shown_seq(engine: Engine, store_id: str) -> dict[str, int]:
    with Session(engine) as s:
        rows = s.execute(select(Label.id, Label.shown_seq).where(Label.store_id == store_id))
        return dict(rows.all())


def on_air(sim: BaseStationSim) -> set[str]:
    """The labels a simulated station put images on the air for."""
    return {transfer.label_id for transfer in sim.transfers if transfer.kind == "image"}


def reprice(engine: Engine, store_id: str) -> None:
    """The store's manager changes every price (what a sync would do)."""
    with Session(engine) as s:
        s.execute(
            update(Product)
            .where(Product.store_id == store_id)
            .values(price_minor=Product.price_minor + 100, updated_at=utcnow())
        )
        s.commit()


@pytest.fixture
def brokers(tmp_path) -> Iterator[dict[str, LocalBroker]]:
    require_broker(BrokerKind.MOSQUITTO)
    started = {}
    try:
        for store in STORES:
            started[store] = start_local_broker(tmp_path / f"broker-{store}", "mosquitto")
        yield started
    finally:
        for broker in started.values():
            broker.stop()


@pytest.fixture
def chain(pg_engine, brokers, tmp_path):
    """The stores seeded, each store's base station simulated on its own broker, and a
    `start(store)` that runs that store's worker; everything stopped afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    labels = {
        store: seed_chain_store(pg_engine, store, LABELS_PER_STORE, gtin_offset=100 * n)
        for n, store in enumerate(STORES)
    }
    sims = {
        store: BaseStationSim(brokers[store].url, prefix, store, [f"bs-{store}"]).start()
        for store in STORES
    }
    workers: list[WorkerProcess] = []

    def start(store: str, broker_of: str | None = None) -> WorkerProcess:
        broker = brokers[broker_of or store]
        worker = start_worker(POSTGRES_URL, store, broker.url, prefix, tmp_path / f"data-{store}")
        workers.append(worker)
        return worker

    yield labels, sims, start
    for worker in workers:
        worker.stop()
    for sim in sims.values():
        sim.stop()


def test_each_store_is_delivered_by_its_own_worker_and_survives_a_killed_neighbour(
    pg_engine, chain
) -> None:
    labels, sims, start = chain
    workers = {store: start(store) for store in STORES}
    for store in STORES:
        assert wait_until(lambda store=store: acked(pg_engine, store) == LABELS_PER_STORE), workers[
            store
        ].output()
        # Through its own broker and station only: no other store's label reached them.
        assert on_air(sims[store]) == set(labels[store])

    workers["south"].kill()
    before = {store: shown_seq(pg_engine, store) for store in STORES}
    for store in STORES:
        reprice(pg_engine, store)
    for store in ("north", "west"):
        assert wait_until(
            lambda store=store: all(
                seq > before[store][label] for label, seq in shown_seq(pg_engine, store).items()
            )
        ), workers[store].output()
    # The other workers neither rendered nor sent south's new prices: that is its worker's.
    with Session(pg_engine) as s:
        south_rows = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.store_id == "south")
        )
    assert south_rows == LABELS_PER_STORE  # the first images only
    assert shown_seq(pg_engine, "south") == before["south"]

    # Back after the crash: it takes its lease back from the dead process at once.
    returned = start("south")
    assert wait_until(
        lambda: all(
            seq > before["south"][label] for label, seq in shown_seq(pg_engine, "south").items()
        )
    ), returned.output()
    assert on_air(sims["south"]) == set(labels["south"])


def test_a_second_worker_for_a_store_and_a_worker_for_no_store_are_refused(
    pg_engine, chain
) -> None:
    _labels, _sims, start = chain
    first = start("north")
    assert wait_until(lambda: acked(pg_engine, "north") == LABELS_PER_STORE), first.output()

    second = start("north")
    assert second.process.wait(timeout=120) != 0
    assert "another worker" in second.output()
    assert "store 'north'" in second.output()
    assert first.process.poll() is None  # the first one carries on

    ghost = start("ghost", broker_of="north")
    assert ghost.process.wait(timeout=120) != 0
    said = ghost.output()
    assert "no store 'ghost'" in said
    assert "esl-controller store add ghost" in said
    assert "Traceback" not in said
