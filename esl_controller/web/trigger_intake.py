"""Triggers posted over HTTP: validated by the privacy guard, then left for the worker.

Accepted triggers become `TriggerEvent(outcome="pending")` rows holding the validated trigger
(the worker decides and publishes overrides). Refused ones are recorded as outcome
"rejected" with the reason only: nothing of the refused payload is stored, not even the
sensor id it claims (the authenticated account stands in for it).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import TriggerEvent, Zone
from esl_controller.signage.triggers import (
    LoyaltyTrigger,
    Trigger,
    TriggerRejected,
    parse_trigger,
    trigger_kind,
)

KNOWN_KINDS = ("audience", "zone", "loyalty")
MAX_REASON_LENGTH = 300
# A field path worth keeping in the record: schema-like names only. A key that is itself
# personal data (an e-mail, a MAC, an IP) cannot match, since its segments start with a
# digit or hold '@', ':' or spaces.
_SAFE_FIELD_PATH = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*|\[\d+\])*$")


class TriggerRefused(Exception):
    """The trigger was refused and the refusal recorded as `event`."""

    def __init__(self, rejected: TriggerRejected, event: TriggerEvent) -> None:
        super().__init__(str(rejected))
        self.rejected = rejected
        self.event = event


def receive_trigger(
    session: Session, settings: Settings, body: bytes, account: str, now: datetime
) -> TriggerEvent:
    """Validate `body` (JSON) and record it; raise TriggerRefused after recording a refusal."""
    known_zones = set(session.scalars(select(Zone.id)))
    try:
        trigger = parse_trigger(
            body,
            now=now,
            max_age_s=settings.trigger_max_age_s,
            max_skew_s=settings.trigger_max_skew_s,
            known_zones=known_zones,
        )
    except TriggerRejected as rejected:
        event = TriggerEvent(
            sensor_id=account,
            kind=_claimed_kind(body),
            received_at=now,
            outcome="rejected",
            reason=recorded_reason(rejected),
        )
        session.add(event)
        session.flush()
        raise TriggerRefused(rejected, event) from rejected
    event = TriggerEvent(
        sensor_id=trigger.sensor,
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


def recorded_reason(rejected: TriggerRejected) -> str:
    """The reason as stored: a privacy refusal keeps its field path only when that path is a
    plain schema-like name, never a value or a key that carried personal data."""
    if rejected.privacy:
        field = rejected.field if _SAFE_FIELD_PATH.match(rejected.field or "") else ""
        text = f"privacy: {field}: {rejected.reason}" if field else f"privacy: {rejected.reason}"
    else:
        text = str(rejected)
    return text[:MAX_REASON_LENGTH]


def _claimed_kind(body: bytes) -> str:
    """The trigger type if it is one of the known words, else "unknown"; nothing else of
    the refused payload is kept."""
    try:
        claimed = json.loads(body).get("type")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return "unknown"
    return claimed if claimed in KNOWN_KINDS else "unknown"
