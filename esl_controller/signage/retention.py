"""Raw trigger events are kept for a limited time; what stays is counts per hour.

GDPR: audience data is aggregated anyway, but raw events (with their timestamps, sensors and
loyalty segments) are deleted after `trigger_retention_s`. Before deletion each is counted
into `TriggerAggregate(hour, zone, kind, outcome)`, with the audience counts summed, so the
dashboard's trends survive. Work is done in bounded chunks so the caller (the signage
service's loop) is never blocked for long; call `roll_up_triggers` until it returns 0.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session

from esl_controller.models import TriggerAggregate, TriggerEvent
from esl_controller.row_poll import Cadence

CHUNK = 2000
EVERY_S = 3600.0
STALE = "stale"  # what a pending event becomes when the retention reaches it


def hour_of(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def event_weight(outcome: str, payload: str) -> tuple[int, int]:
    """(events, audience) one row stands for: a rate-limited row stands for all it refused."""
    try:
        document = json.loads(payload or "{}")
    except json.JSONDecodeError:
        return 1, 0
    if not isinstance(document, dict):
        return 1, 0
    if outcome == "rate_limited":
        refused = document.get("refused")
        return (refused if isinstance(refused, int) and refused > 0 else 1), 0
    count = document.get("count")
    return 1, count if isinstance(count, int) and count > 0 else 0


def roll_up_triggers(
    session: Session, older_than: datetime, store_id: str, chunk: int = CHUNK
) -> int:
    """Aggregate and delete up to `chunk` of the store's events received before
    `older_than`; returns how many were rolled up. A pending event that old (posted over
    HTTP while no worker ran) can never be acted on, since it is far past the triggers'
    maximum age: it is counted as "stale", so the retention holds for every raw event."""
    rows = session.execute(
        select(
            TriggerEvent.id,
            TriggerEvent.received_at,
            TriggerEvent.zone_id,
            TriggerEvent.kind,
            TriggerEvent.outcome,
            TriggerEvent.payload,
        )
        .where(TriggerEvent.received_at < older_than, TriggerEvent.store_id == store_id)
        .order_by(TriggerEvent.id)
        .limit(chunk)
    ).all()
    if not rows:
        return 0
    totals: dict[tuple[datetime, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for _id, received_at, zone_id, kind, outcome, payload in rows:
        events, audience = event_weight(outcome, payload)
        outcome = STALE if outcome == "pending" else outcome
        total = totals[(hour_of(received_at), zone_id or "", kind, outcome)]
        total[0] += events
        total[1] += audience
    for (hour, zone_id, kind, outcome), (events, audience) in totals.items():
        aggregate = session.scalars(
            select(TriggerAggregate).where(
                TriggerAggregate.store_id == store_id,
                TriggerAggregate.hour == hour,
                TriggerAggregate.zone_id == zone_id,
                TriggerAggregate.kind == kind,
                TriggerAggregate.outcome == outcome,
            )
        ).first()
        if aggregate is None:
            aggregate = TriggerAggregate(
                store_id=store_id, hour=hour, zone_id=zone_id, kind=kind, outcome=outcome
            )
        aggregate.count += events
        aggregate.audience_sum += audience
        session.add(aggregate)
    session.execute(delete(TriggerEvent).where(TriggerEvent.id.in_([row[0] for row in rows])))
    session.flush()
    return len(rows)


class TriggerRetention:
    """Rolls up old events hourly; while a backlog remains, one chunk per turn of the loop
    (so triggers never wait long behind it)."""

    def __init__(self, retention_s: float, store_id: str, every_s: float = EVERY_S) -> None:
        self.retention_s = retention_s
        self.store_id = store_id
        self._cadence = Cadence(every_s)
        self._backlog = False

    def run(self, session: Session, now: datetime) -> int:
        if not (self._cadence.due(now) or self._backlog):
            return 0
        older_than = now - timedelta(seconds=self.retention_s)
        rolled = roll_up_triggers(session, older_than, self.store_id)
        self._backlog = rolled > 0
        return rolled
