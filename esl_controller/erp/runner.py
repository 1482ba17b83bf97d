"""Run ERP syncs for the worker and the CLI, and bring the labels along.

sync.py applies what the ERP says; this module decides when (schedule, a request from the
dashboard, an interrupted run to resume) and afterwards renders the labels of the changed
products, recording how many on the run so the manager sees the whole effect in one row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.feeds.base import Feed
from esl_controller.erp.run_status import SyncRunStatus
from esl_controller.erp.sync import (
    Progress,
    SyncOutcome,
    dead_runs,
    resume_interrupted,
    run_sync,
)
from esl_controller.models import SyncRun
from esl_controller.row_poll import RowPoll

log = logging.getLogger(__name__)


SYNC_REQUESTS_POLL_S = 2.0


class LabelsQueued(Protocol):
    """What a sync run records of the label refresh it caused."""

    rendered: int
    queued: int


# The labels of the products a run changed -> rendered and queued (the worker's shelf
# refresher; the ERP knows products, not labels).
RefreshProducts = Callable[[set[int]], LabelsQueued]


class SyncRunner:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        refresh_products: RefreshProducts,
        feed_factory: Callable[[Settings], Feed] = feed_from_settings,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.refresh_products = refresh_products
        self.feed_factory = feed_factory
        self.handover = RowPoll(
            "sync_requests", SYNC_REQUESTS_POLL_S, partial(_oldest_request, settings.store_id)
        )

    def run(
        self,
        trigger: str = "schedule",
        *,
        full: bool | None = None,
        run_id: int | None = None,
        progress: Progress | None = None,
    ) -> SyncOutcome:
        try:
            feed = self.feed_factory(self.settings)
        except ValueError as exc:  # no ERP configured: say so on the run the manager sees
            return self._refuse(trigger, run_id, str(exc))
        outcome = run_sync(
            self.engine,
            feed,
            self.settings,
            trigger=trigger,
            full=full,
            run_id=run_id,
            progress=progress,
        )
        self._follow_with_labels(outcome)
        return outcome

    def run_requested(self) -> SyncOutcome | None:
        """A dead run to take over first (so it never blocks "Sync now"), else the oldest
        sync the dashboard asked for, if any (the web never syncs itself)."""
        resumed = self.resume()
        if resumed is not None:
            return resumed
        with Session(self.engine) as session:
            requested = self.handover.fetch(session, utcnow())
        if not requested:
            return None
        first = requested[0]
        return self.run(first.trigger, full=first.full, run_id=first.id)

    def resume(self) -> SyncOutcome | None:
        """A run whose worker died continues from its last committed page; None when no run
        is dead (a live one is left alone)."""
        if not dead_runs(self.engine, self.settings.store_id):
            return None
        try:
            feed = self.feed_factory(self.settings)
        except ValueError as exc:
            log.error("cannot take over a dead sync run: %s", exc)
            return None
        outcome = resume_interrupted(self.engine, feed, self.settings)
        if outcome is not None:
            self._follow_with_labels(outcome)
        return outcome

    def _refuse(self, trigger: str, run_id: int | None, error: str) -> SyncOutcome:
        now = utcnow()
        with Session(self.engine) as session:
            run = session.get(SyncRun, run_id) if run_id else None
            run = run or SyncRun(
                store_id=self.settings.store_id, feed=self.settings.erp_feed, trigger=trigger
            )
            run.status, run.error = SyncRunStatus.FAILED, error
            run.started_at, run.finished_at = now, now
            session.add(run)
            session.commit()
            return SyncOutcome(run_id=run.id, status="failed", error=error)

    def _follow_with_labels(self, outcome: SyncOutcome) -> None:
        if outcome.status == SyncRunStatus.SKIPPED or not outcome.changed_product_ids:
            return
        report = self.refresh_products(set(outcome.changed_product_ids))
        with Session(self.engine) as session:
            session.execute(
                update(SyncRun)
                .where(SyncRun.id == outcome.run_id)
                .values(labels_rendered=report.rendered, labels_queued=report.queued)
            )
            session.commit()
        log.info(
            "sync run %s: %d products changed, %d labels rendered, %d queued",
            outcome.run_id,
            len(outcome.changed_product_ids),
            report.rendered,
            report.queued,
        )


def _oldest_request(store_id: str, session: Session, _now: datetime) -> Sequence[SyncRun]:
    """The oldest sync the dashboard asked for this store (one at a time: each run takes a
    while)."""
    return session.scalars(
        select(SyncRun)
        .where(SyncRun.status == SyncRunStatus.REQUESTED, SyncRun.store_id == store_id)
        .order_by(SyncRun.id)
        .limit(1)
    ).all()
