"""Incidents stay readable under a storm: one row per kind and minute past the first few."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.db import session_scope
from esl_controller.incidents import STORM_AFTER, STORM_SUBJECT, record_incident
from esl_controller.models import Incident
from esl_controller.web.queries import incident_counts


def test_a_storm_of_one_kind_folds_into_one_counted_row(engine):
    for n in range(STORM_AFTER + 500):
        with session_scope(engine) as s:
            record_incident(s, "unknown_label", f"GHOST{n}", "ack for a label we do not have")
    with session_scope(engine) as s:
        record_incident(s, "malformed_status", "bs-01", "not JSON")
    with Session(engine) as s:
        rows = s.scalars(select(Incident).where(Incident.kind == "unknown_label")).all()
        counts = incident_counts(s)
    # One minute boundary may fall inside the loop, which starts a second storm row.
    assert STORM_AFTER + 1 <= len(rows) <= 2 * STORM_AFTER + 2
    assert sum(row.count for row in rows) == STORM_AFTER + 500
    assert any(row.subject == STORM_SUBJECT and row.count > 1 for row in rows)
    assert counts == {"malformed_status": 1, "unknown_label": STORM_AFTER + 500}
