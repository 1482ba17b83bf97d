"""Raw trigger events end at the retention, whatever their outcome; counts per hour stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.db import session_scope
from esl_controller.models import Store, TriggerAggregate, TriggerEvent
from esl_controller.signage.retention import roll_up_triggers

NOW = datetime(2026, 11, 6, 10, 30, tzinfo=UTC)
STORE = "store-1"


def _event(received_at: datetime, outcome: str, store_id: str = STORE, **extra) -> TriggerEvent:
    return TriggerEvent(
        store_id=store_id,
        sensor_id="cam-1",
        kind="audience",
        zone_id="dairy",
        received_at=received_at,
        outcome=outcome,
        payload=json.dumps({"count": 2}),
        **extra,
    )


def test_every_raw_event_older_than_the_retention_goes_pending_ones_too(engine):
    old = NOW - timedelta(days=2)
    with session_scope(engine) as session:
        session.add(Store(id=STORE, name="Store"))
        session.add(Store(id="elsewhere", name="Another store of the chain"))
        session.flush()
        session.add(_event(old, "matched", store_id="elsewhere"))  # its worker's to roll up
        for outcome in ("matched", "rejected", "pending", "pending", "rate_limited"):
            session.add(_event(old, outcome))
        session.add(_event(NOW - timedelta(minutes=5), "pending"))  # the worker may act on it
    with session_scope(engine) as session:
        assert roll_up_triggers(session, NOW - timedelta(days=1), STORE, chunk=2) == 2
    with session_scope(engine) as session:
        while roll_up_triggers(session, NOW - timedelta(days=1), STORE, chunk=2):
            pass
    with Session(engine) as session:
        remaining = session.scalars(select(TriggerEvent)).all()
        totals = {a.outcome: a.count for a in session.scalars(select(TriggerAggregate)).all()}
    assert sorted((e.store_id, e.outcome, e.received_at > old) for e in remaining) == [
        ("elsewhere", "matched", False),
        (STORE, "pending", True),
    ]
    # a pending event that old can never be acted on (it is far past the maximum age)
    assert totals == {"matched": 1, "rejected": 1, "stale": 2, "rate_limited": 1}
