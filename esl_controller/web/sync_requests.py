"""Asking for an ERP sync from the web process: it only writes a `requested` SyncRun row.

The web process never runs a sync; the worker picks requested rows up (`erp.sync.run_sync`
with `run_id`). One sync at a time: a request while another is requested or running is
refused, so a manager double-clicking "Sync now" does not queue two.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import SyncRun
from esl_controller.stores import existing_store_id

ACTIVE_STATUSES = ("requested", "running")
RETRYABLE_STATUSES = ("failed", "skipped")  # skipped: another sync held the lock


class SyncAlreadyActive(Exception):
    """A sync is already requested or running; the message names it."""

    def __init__(self, run: SyncRun) -> None:
        super().__init__(f"sync run #{run.id} is already {run.status}; wait for it to finish")
        self.run_id = run.id


def active_sync_run(session: Session) -> SyncRun | None:
    query = select(SyncRun).where(SyncRun.status.in_(ACTIVE_STATUSES)).order_by(SyncRun.id)
    return session.scalars(query.limit(1)).first()


def request_sync(
    session: Session, settings: Settings, *, full: bool = True, trigger: str = "manual"
) -> SyncRun:
    """A new requested run for the configured feed, committed; `SyncAlreadyActive` if busy."""
    store_id = existing_store_id(session, settings.store_id)
    run = SyncRun(store_id=store_id, feed=settings.erp_feed, trigger=trigger, full=full)
    return _add_request(session, run)


def request_retry(session: Session, run_id: int) -> SyncRun:
    """A requested re-run of a failed or skipped run (same feed, full/incremental, since).

    `LookupError` for an unknown run, `ValueError` for one that did not fail.
    """
    failed = session.get(SyncRun, run_id)
    if failed is None:
        raise LookupError(f"there is no sync run #{run_id}")
    if failed.status not in RETRYABLE_STATUSES:
        raise ValueError(
            f"sync run #{run_id} is {failed.status}; only a failed or skipped run is re-run"
        )
    retry = SyncRun(
        store_id=failed.store_id,
        feed=failed.feed,
        trigger="retry",
        full=failed.full,
        since=failed.since,
        retry_of=run_id,
    )
    return _add_request(session, retry)


def _add_request(session: Session, run: SyncRun) -> SyncRun:
    # Check and insert in one transaction; the worker takes requested rows one at a time,
    # so even two web workers racing here cannot make two syncs run at once.
    busy = active_sync_run(session)
    if busy is not None:
        session.rollback()
        raise SyncAlreadyActive(busy)
    session.add(run)
    session.commit()
    return run
