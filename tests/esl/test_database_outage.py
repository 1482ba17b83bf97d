"""The dispatcher when its database goes away (a PostgreSQL restart, a lost link to a
chain's database): delivery pauses, what stations report meanwhile is kept in order, and
all of it is booked when the database answers again. The real PostgreSQL, reached through
a proxy the test cuts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from esl_controller import db
from esl_controller.clock import utcnow
from esl_controller.esl.shelf_refresher import ShelfRefresher
from esl_controller.labels.render_pool import RenderPool
from esl_controller.models import Incident, Label, OutboxMessage, Promotion
from tests.support.mqtt_bus import mqtt_dispatcher
from tests.support.outbox_rows import label, outbox, queue_each
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
    bus.status("bs-01", "online")
    assert dispatcher.step() == 2
    return dispatcher, bus, ids


def test_acks_during_an_outage_are_booked_when_the_database_returns(
    engine, seed_store, settings, proxy
):
    dispatcher, bus, ids = two_on_air(engine, seed_store, settings, labels=3)
    on_air = len(bus.sent)

    proxy.cut()
    bus.ack("bs-01", ids[0], 1)
    bus.ack("bs-01", ids[1], 1)
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
    bus.ack("bs-01", ids[0], 1)
    bus.status("bs-01", "offline")  # after confirming the first, before the second
    assert dispatcher.step() == 0
    proxy.restore()
    assert dispatcher.step() == 0  # the station is offline: its queue is held
    assert label(engine, ids[0]).state == "acked"
    [requeued] = outbox(engine, ids[1])
    assert (requeued.state, requeued.attempts) == ("pending", 0)  # not the image's fault
    bus.status("bs-01", "online")
    assert dispatcher.step() == 1


def test_a_promotion_due_during_the_outage_flips_when_the_database_returns(
    engine, seed_store, settings, proxy
):
    ids = seed_store(labels=2, stations=1)
    with RenderPool(workers=1) as pool:
        shelf = ShelfRefresher(engine, pool, "not_for_sale", store_id=settings.store_id)
        shelf.refresh(shelf.everything)
        checked = utcnow() - timedelta(minutes=10)
        shelf.refresh(partial(shelf.promotion_flips, checked))  # the last check before
        starts = checked + timedelta(minutes=5)  # due while the database was away
        with Session(engine) as session:
            product_id = session.get_one(Label, ids[1]).product_id
            session.add(
                Promotion(
                    product_id=product_id,
                    price_minor=99,
                    starts_at=starts,
                    ends_at=starts + timedelta(days=2),
                )
            )
            session.commit()

        proxy.cut()  # the minute it starts, the database is away
        with pytest.raises(OperationalError):
            shelf.refresh(partial(shelf.promotion_flips, starts + timedelta(seconds=1)))
        proxy.restore()
        back = shelf.refresh(shelf.promotion_flips)
    assert (back.considered, back.queued) == (1, 1)  # the flip it missed, that label only
    assert [row.label_id for row in all_outbox(engine)].count(ids[1]) == 2


def all_outbox(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.scalars(select(OutboxMessage)))
