"""A failed ERP sync run with refused records, for the pages that show one."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import DeadLetter, SyncRun

__all__ = ["add_failed_run"]


def add_failed_run(engine: Engine, *, fetched: int, more_refused: int = 0) -> int:
    """A run that failed on a 503 after refusing a product with a bad check digit (and, with
    `more_refused`, that many promotions that end before they start); returns its id."""
    with session_scope(engine) as session:
        run = SyncRun(
            feed="json",
            trigger="schedule",
            status="failed",
            started_at=utcnow(),
            finished_at=utcnow(),
            fetched=fetched,
            rejected=1 + more_refused,
            error="ERP answered 503 after 3 retries",
        )
        session.add(run)
        session.flush()
        session.add(
            DeadLetter(
                run_id=run.id,
                record_key="5940000000018",
                field="gtin",
                reason="check digit is 8, expected 7",
                raw='{"gtin": "5940000000018"}',
            )
        )
        session.add_all(
            DeadLetter(
                run_id=run.id,
                kind="promotion",
                record_key=f"PR-{1007 + n}",
                field="ends_at",
                reason="the promotion ends before it starts",
            )
            for n in range(more_refused)
        )
        session.flush()
        return run.id
