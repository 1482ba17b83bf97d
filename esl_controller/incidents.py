"""Problems a manager should see: bad input and failed deliveries, logged and counted.

Each incident is a row (the dashboard lists and counts them by kind) and a log line.
Recording one never raises into the caller's main path beyond the session it shares.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

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
)


def record_incident(session: Session, kind: str, subject: str, message: str) -> None:
    log.warning("%s [%s]: %s", kind, subject, message)
    session.add(Incident(kind=kind, subject=subject[:200], message=message[:2000]))
