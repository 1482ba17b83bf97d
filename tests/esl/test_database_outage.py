"""The dispatcher when its database goes away (a PostgreSQL restart, a lost link to a
chain's database): delivery pauses, what stations report meanwhile is kept in order, and
all of it is booked when the database answers again. The real PostgreSQL, reached through
a proxy the test cuts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from esl_controller import db
from esl_controller.models import Incident
from tests.esl.test_dispatcher import ack, label, outbox, queue_each, status
from tests.support.mqtt_bus import mqtt_dispatcher
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def proxy(pg_engine: Engine) -> Iterator[TcpProxy]:
    url = pg_engine.url
    running = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    yield running
    running.close()


@pytest.fixture
def engine(pg_engine: Engine, proxy: TcpProxy) -> Iterator[Engine]:
    """The store's database as the worker reaches it: through the proxy."""
    through = make_url(pg_engine.url).set(host="127.0.0.1", port=proxy.port)
    eng = db.make_engine(through.render_as_string(hide_password=False))
    yield eng
    eng.dispose()


def two_on_air(engine, seed_store, settings, labels: int):
    """One online station with `labels` images queued, the first two (its window) sent."""
    dispatcher, bus = mqtt_dispatcher(engine, settings, stations=["bs-01"])
    ids = seed_store(labels=labels, stations=1)
    queue_each(engine, ids)
    status(bus, "bs-01", "online")
    assert dispatcher.step() == 2
    return dispatcher, bus, ids


def test_acks_during_an_outage_are_booked_when_the_database_returns(
    engine, seed_store, settings, proxy
):
    dispatcher, bus, ids = two_on_air(engine, seed_store, settings, labels=3)
    on_air = len(bus.sent)

    proxy.cut()
    ack(bus, "bs-01", ids[0], 1)
    ack(bus, "bs-01", ids[1], 1)
    for _ in range(3):
        assert dispatcher.step() == 0  # nothing sent that could not be booked
    assert dispatcher.waiting_for_database
    assert len(bus.sent) == on_air

    proxy.restore()
    assert dispatcher.step() == 1  # both acks booked, the third label takes the freed slot
    assert not dispatcher.waiting_for_database
    assert [label(engine, i).state for i in ids] == ["acked", "acked", "sent"]
    assert [row.state for row in outbox(engine, ids[0])] == ["acked"]
    assert dispatcher.stats.counts["poison_events"] == 0
    with Session(engine) as session:
        assert session.scalars(select(Incident.kind)).all() == []  # an outage is not bad input


def test_a_station_going_offline_during_the_outage_is_applied_after_its_acks(
    engine, seed_store, settings, proxy
):
    dispatcher, bus, ids = two_on_air(engine, seed_store, settings, labels=2)

    proxy.cut()
    ack(bus, "bs-01", ids[0], 1)
    status(bus, "bs-01", "offline")  # after confirming the first, before the second
    assert dispatcher.step() == 0
    proxy.restore()
    assert dispatcher.step() == 0  # the station is offline: its queue is held
    assert label(engine, ids[0]).state == "acked"
    [requeued] = outbox(engine, ids[1])
    assert (requeued.state, requeued.attempts) == ("pending", 0)  # not the image's fault
    status(bus, "bs-01", "online")
    assert dispatcher.step() == 1
