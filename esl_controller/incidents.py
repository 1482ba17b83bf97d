"""Problems a manager should see: bad input and failed deliveries, logged and counted.

Each incident is a row (the dashboard lists and counts them by kind) and a log line.
Recording one never raises into the caller's main path beyond the session it shares.

Under a storm (a misconfigured station acking thousands of strangers a minute) the first
STORM_AFTER incidents of a kind in a minute are kept one by one; the rest of that minute
fold into one row per kind whose `count` says how many, and one log line.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.models import Incident

log = logging.getLogger("esl_controller.incidents")

# The kinds the controller records; the dashboard groups by these.
KINDS = (
    "invalid_gtin",
    "template_error",
    "unknown_product",
    "unbound_label",
    "malformed_ack",
    "malformed_status",
    "unknown_label",
    "unknown_station",
    "delivery_failed",
    "render_error",
    "delist_refused",
    "buyer_forbidden",
    "unknown_player",
    "promotion_not_a_reduction",
)


STORM_AFTER = 20
STORM_SUBJECT = "(more this minute)"


def record_incident(
    session: Session, kind: str, subject: str, message: str, store_id: str | None = None
) -> None:
    """`store_id`: the store whose manager should see it (None: not tied to one store).
    A storm is counted per store, so one store's storm never hides another's incidents."""
    now = utcnow()
    minute = now.replace(second=0, microsecond=0)
    recent = session.scalar(
        select(func.count())
        .select_from(Incident)
        .where(Incident.kind == kind, Incident.created_at >= minute, _same_store(store_id))
    )
    if recent < STORM_AFTER:
        log.warning("%s [%s]: %s", kind, subject, message)
        session.add(
            Incident(store_id=store_id, kind=kind, subject=subject[:200], message=message[:2000])
        )
        return
    _fold_into_storm(session, kind, minute, now, message, store_id)


def _same_store(store_id: str | None):
    if store_id is None:
        return Incident.store_id.is_(None)
    return Incident.store_id == store_id


def _fold_into_storm(
    session: Session,
    kind: str,
    minute: datetime,
    now: datetime,
    message: str,
    store_id: str | None,
) -> None:
    storm = session.scalars(
        select(Incident).where(
            Incident.kind == kind,
            Incident.subject == STORM_SUBJECT,
            Incident.created_at >= minute,
            _same_store(store_id),
        )
    ).first()
    if storm is None:
        log.warning("%s: more than %d this minute; counting the rest in one row", kind, STORM_AFTER)
        storm = Incident(
            store_id=store_id,
            kind=kind,
            subject=STORM_SUBJECT,
            message=f"and more like: {message[:1900]}",
            created_at=now,
            count=0,
        )
    storm.count += 1
    session.add(storm)
