"""Old outbox rows go; each label's newest row, undelivered work and other stores' rows stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.esl.outbox_retention import prune_outbox
from esl_controller.models import OutboxMessage
from tests.support.head_office_stores import NORTH, SOUTH, add_chain_stores
from tests.support.outbox_rows import outbox_row


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")


def _add(engine: Engine, rows: list[OutboxMessage]) -> dict[str, int]:
    """Adds the rows in order; returns their ids by a name made of label and seq."""
    with session_scope(engine) as session:
        for row in rows:
            session.add(row)
            session.flush()
        return {f"{row.label_id}#{row.seq}": row.id for row in rows}


def _left(engine: Engine) -> set[int]:
    with session_scope(engine) as session:
        return set(session.scalars(select(OutboxMessage.id)))


def test_done_rows_past_retention_go_but_each_labels_newest_and_the_waiting_ones_stay(
    any_engine: Engine,
):
    add_chain_stores(any_engine)
    now = utcnow()
    old, recent = now - timedelta(days=40), now - timedelta(days=2)
    first, second, third = (NORTH.label_id(n) for n in range(3))
    station = NORTH.station_id
    ids = _add(
        any_engine,
        [
            outbox_row(first, station, "acked", old, old, seq=1),
            outbox_row(first, station, "superseded", old, old, seq=2),
            outbox_row(first, station, "acked", recent, recent, seq=3),
            # the label's only, and so newest, row: it says what the label was last sent
            outbox_row(second, station, "acked", old, old, seq=1),
            # failed long ago, then a re-push that is still waiting
            outbox_row(third, station, "failed", old, old, seq=1),
            outbox_row(third, station, "pending", old, seq=2),
            outbox_row(third, station, "sent", old, seq=3),
            # another store's old history is its own worker's to prune
            outbox_row(SOUTH.label_id(0), SOUTH.station_id, "acked", old, old, seq=1),
            outbox_row(SOUTH.label_id(0), SOUTH.station_id, "acked", recent, recent, seq=2),
        ],
    )

    deleted = prune_outbox(any_engine, NORTH.id, now, retention_days=30)

    gone = {ids[f"{first}#1"], ids[f"{first}#2"], ids[f"{third}#1"]}
    assert deleted == 3
    assert _left(any_engine) == set(ids.values()) - gone


def test_a_row_written_without_a_store_is_pruned_as_its_labels(engine: Engine):
    add_chain_stores(engine)
    old = utcnow() - timedelta(days=40)
    label_id = NORTH.label_id(0)
    rows = [outbox_row(label_id, NORTH.station_id, "acked", old, old, seq=n) for n in (1, 2)]
    ids = _add(engine, rows)
    assert all(row.store_id is None for row in rows)

    assert prune_outbox(engine, NORTH.id, utcnow(), retention_days=30) == 1
    assert _left(engine) == {ids[f"{label_id}#2"]}


def test_a_backlog_goes_in_chunks_and_zero_days_keeps_everything(engine: Engine):
    add_chain_stores(engine)
    old = utcnow() - timedelta(days=400)
    label_id = NORTH.label_id(0)
    _add(
        engine,
        [outbox_row(label_id, NORTH.station_id, "acked", old, old, seq=n) for n in range(12)],
    )

    assert prune_outbox(engine, NORTH.id, utcnow(), retention_days=0) == 0
    # two chunks of 5 in this run, the rest in the next
    assert prune_outbox(engine, NORTH.id, utcnow(), 30, chunk=5, max_chunks=2) == 10
    assert prune_outbox(engine, NORTH.id, utcnow(), 30, chunk=5, max_chunks=2) == 1
    assert len(_left(engine)) == 1
