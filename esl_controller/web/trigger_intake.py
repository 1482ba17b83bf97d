"""Triggers posted over HTTP: the same trust boundary as MQTT, then left for the worker.

Who sent a trigger is the credential, never the body: the account's user name is the sensor
id (it must be one, see `triggers.SENSOR_ID`), and a body naming another sensor is refused.
Every post counts against that sensor's rate limit in the database (web/trigger_rate.py),
before its body is even parsed, so a storm of bad posts is limited as well.

The body is read up to `MAX_TRIGGER_BYTES` + 1 bytes only and parsed by the same
`parse_trigger` the worker uses for MQTT. Accepted triggers become
`TriggerEvent(outcome="pending")` rows holding the validated trigger (the worker decides and
publishes overrides). Refused ones are recorded as outcome "rejected" with the refusal's
reason, which names a category and at most an allow-listed field: nothing of the refused
payload is stored, logged or sent back.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import TriggerEvent, Zone
from esl_controller.signage.triggers import (
    MAX_TRIGGER_BYTES,
    LoyaltyTrigger,
    Trigger,
    TriggerRejected,
    parse_trigger,
    recorded_reason,
    sensor_id_problem,
    trigger_kind,
)
from esl_controller.stores import existing_store_id
from esl_controller.web import trigger_rate


class TriggerRefused(Exception):
    """The trigger was refused and the refusal recorded as `event`."""

    def __init__(self, rejected: TriggerRejected, event: TriggerEvent) -> None:
        super().__init__(str(rejected))
        self.rejected = rejected
        self.event = event


class NotASensorAccount(Exception):
    """The account's user name cannot serve as a sensor id; nothing is recorded under it."""


class TriggerRateLimited(Exception):
    """Over the sensor's rate limit; `decision` says by how much and when to retry."""

    def __init__(self, decision: trigger_rate.RateDecision) -> None:
        super().__init__(
            f"rate limited: more than {decision.limit} triggers within "
            f"{decision.window_s:g} s from this sensor; retry in {decision.retry_after_s} s"
        )
        self.decision = decision


def read_body(stream: IO[bytes]) -> bytes:
    """At most one byte more than a trigger may have: enough to refuse a larger one."""
    return stream.read(MAX_TRIGGER_BYTES + 1)


def receive_trigger(
    session: Session, settings: Settings, body: bytes, account: str, now: datetime
) -> TriggerEvent:
    """Rate-limit, validate `body` (JSON) and record it.

    Raises NotASensorAccount, TriggerRateLimited, or TriggerRefused after recording a
    refusal (the caller commits the session to keep that record).
    """
    if sensor_id_problem(account) is not None:
        raise NotASensorAccount(
            "this account's user name is not a sensor id (1-64 lowercase letters, digits, "
            "'_' or '-', holding no personal data), so it cannot post triggers"
        )
    decision = trigger_rate.take(session.get_bind(), settings, account, now)
    if not decision.allowed:
        raise TriggerRateLimited(decision)
    zone_stores = dict(session.execute(select(Zone.id, Zone.store_id)).all())
    known_zones = set(zone_stores)
    try:
        trigger = parse_trigger(
            body,
            now=now,
            max_age_s=settings.trigger_max_age_s,
            max_skew_s=settings.trigger_max_skew_s,
            known_zones=known_zones,
            sensor=account,
        )
    except TriggerRejected as rejected:
        event = TriggerEvent(
            store_id=existing_store_id(session, settings.store_id),
            sensor_id=account,
            kind=rejected.claimed_kind,
            received_at=now,
            outcome="rejected",
            reason=recorded_reason(rejected),
        )
        session.add(event)
        session.flush()
        raise TriggerRefused(rejected, event) from None
    event = TriggerEvent(
        store_id=zone_stores[trigger.zone],  # that store's worker decides on it
        sensor_id=account,
        kind=trigger_kind(trigger),
        zone_id=trigger.zone,
        received_at=now,
        occurred_at=trigger.at,
        payload=json.dumps(trigger_document(trigger), sort_keys=True),
        outcome="pending",
    )
    session.add(event)
    session.flush()
    return event


def trigger_document(trigger: Trigger) -> dict[str, Any]:
    """The validated trigger in its wire shape, so the worker parses it like an MQTT one."""
    document: dict[str, Any] = {"type": trigger_kind(trigger)}
    for key, value in asdict(trigger).items():
        if value is None:
            continue
        document[key] = value.isoformat() if isinstance(value, datetime) else value
    if isinstance(trigger, LoyaltyTrigger):
        document["consent"] = True  # only consented members get past the guard
    return document
