"""What is recorded of a trigger: the columns of its trigger_event row, written in bulk.

A refused trigger keeps only the category of its refusal, never a value (see
`triggers.recorded_reason`, the one place that says what a refusal records, with the claimed
kind the parser reports); an accepted one keeps its validated document (`trigger_document`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from esl_controller.models import TriggerEvent
from esl_controller.signage.states import TriggerOutcome, first_trigger_outcome, trigger_move
from esl_controller.signage.triggers import LoyaltyTrigger, Trigger

MAX_REASON_LENGTH = 300


def event_row(
    sensor: str,
    kind: str,
    received_at: datetime,
    *,
    store_id: str,
    zone_id: str | None = None,
    occurred_at: datetime | None = None,
    payload: str = "{}",
    outcome: TriggerOutcome = TriggerOutcome.NO_MATCH,
    reason: str | None = None,
) -> dict[str, Any]:
    """The columns of a new trigger_event row (every row of one insert has the same keys)."""
    outcome = first_trigger_outcome(outcome)
    return {
        "store_id": store_id,
        "sensor_id": sensor,
        "kind": kind,
        "zone_id": zone_id,
        "received_at": received_at,
        "occurred_at": occurred_at,
        "payload": payload,
        "outcome": outcome,
        "reason": reason,
        "override_id": None,
    }


def insert_trigger_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """One multi-row insert; each row gets its `id`."""
    if not rows:
        return
    table = TriggerEvent.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.connection().execute(statement, rows).scalars().all()
    for row, event_id in zip(rows, ids, strict=True):
        row["id"] = event_id


def copy_outcome(event: dict[str, Any], row: TriggerEvent) -> None:
    """The decision on a row the web wrote (outcome pending), as an allowed move."""
    if "outcome" in event:
        row.outcome = trigger_move(TriggerOutcome(row.outcome), event["outcome"]).target
    row.reason = event.get("reason", row.reason)
    row.override_id = event.get("override_id", row.override_id)


def trigger_document(trigger: Trigger) -> dict:
    """The validated trigger in its wire shape (what TriggerEvent.payload holds)."""
    document: dict = {"type": trigger.kind}
    for key, value in asdict(trigger).items():
        if value is not None:
            document[key] = value.isoformat() if isinstance(value, datetime) else value
    if isinstance(trigger, LoyaltyTrigger):
        document["consent"] = True  # only consented members get past the guard
    return document
