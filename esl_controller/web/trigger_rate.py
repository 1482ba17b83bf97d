"""The per-sensor rate limit of triggers posted over HTTP, counted in the database.

Any number of web processes serve `/api/v1/triggers`, so a count in process memory would
let a sensor multiply its limit by the number of processes. Each post instead adds one to
its sensor's row in `trigger_rate_window` with a single INSERT ... ON CONFLICT DO UPDATE
... RETURNING, which SQLite and PostgreSQL both run atomically, in a transaction of its own
(its first statement is the write, so on SQLite it waits for the lock instead of failing on
a stale read). The count holds whether the trigger is then accepted or refused.

The first refusal of a window books one `trigger_event` row (outcome "rate_limited"), and
each later refusal of that window updates its refused count, as the worker books MQTT storms:
a storm costs one row, not one row per post.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from esl_controller.config import Settings
from esl_controller.models import TriggerEvent, TriggerRateWindow
from esl_controller.signage.rate_limit import FixedWindow


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    count: int  # posts of this sensor in the window so far, this one included
    limit: int
    window_s: float
    retry_after_s: int


def window_of(settings: Settings) -> FixedWindow:
    return FixedWindow(settings.trigger_rate_per_s, settings.trigger_burst)


def take(engine: Engine, settings: Settings, sensor: str, now: datetime) -> RateDecision:
    """Count one post of `sensor` at `now` and say whether it is within the limit."""
    window = window_of(settings)
    epoch_s = now.timestamp()
    index = window.index(epoch_s)
    with engine.begin() as conn:
        count, event_id = _count(conn, sensor, index)
        if count == 1:  # a new window: the sensor's older ones are done with
            conn.execute(
                delete(TriggerRateWindow).where(
                    TriggerRateWindow.sensor_id == sensor, TriggerRateWindow.window_index < index
                )
            )
        allowed = window.allows(count)
        if not allowed:
            _book_refusal(conn, window, sensor, index, count, event_id, now)
    return RateDecision(
        allowed=allowed,
        count=count,
        limit=window.burst,
        window_s=window.length_s,
        retry_after_s=window.retry_after_s(epoch_s),
    )


def _count(conn: Connection, sensor: str, index: int) -> tuple[int, int | None]:
    table = TriggerRateWindow.__table__
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .values(sensor_id=sensor, window_index=index, count=1)
        .on_conflict_do_update(
            index_elements=["sensor_id", "window_index"], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count, table.c.event_id)
    )
    count, event_id = conn.execute(statement).one()
    return count, event_id


def _book_refusal(
    conn: Connection,
    window: FixedWindow,
    sensor: str,
    index: int,
    count: int,
    event_id: int | None,
    now: datetime,
) -> None:
    refused = count - window.burst
    payload = json.dumps({"refused": refused})
    if event_id is not None:
        booked = update(TriggerEvent).where(TriggerEvent.id == event_id)
        conn.execute(booked.values(payload=payload))
        return
    table = TriggerEvent.__table__
    new_id = conn.execute(
        insert(table)
        .values(
            sensor_id=sensor,
            kind="unknown",
            received_at=now,
            payload=payload,
            outcome="rate_limited",
            reason=(
                f"rate limited over HTTP: more than {window.burst} triggers within "
                f"{window.length_s:g} s"
            ),
        )
        .returning(table.c.id)
    ).scalar_one()
    conn.execute(
        update(TriggerRateWindow)
        .where(TriggerRateWindow.sensor_id == sensor, TriggerRateWindow.window_index == index)
        .values(event_id=new_id)
    )
