"""The states of an ERP sync run and the streams it reads, as stored in `sync_run`."""

from __future__ import annotations

from enum import StrEnum


class SyncRunStatus(StrEnum):
    REQUESTED = "requested"  # asked for by the dashboard; the worker picks it up
    RUNNING = "running"  # a holder of the sync lock is reading pages
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the error says why; the next run continues from its cursor
    SKIPPED = "skipped"  # another sync held the lock


class SyncPhase(StrEnum):
    """The stream a run is reading; products come first (a promotion needs its product)."""

    PRODUCTS = "products"
    PROMOTIONS = "promotions"


ACTIVE_STATUSES = (SyncRunStatus.REQUESTED, SyncRunStatus.RUNNING)
