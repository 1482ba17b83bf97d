"""ERP sync runs, dead letters and feed watermarks."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from esl_controller.clock import utcnow


class SyncRun(SQLModel, table=True):
    """One ERP sync: what it fetched, changed and rejected, and where to resume it."""

    __tablename__ = "sync_run"
    id: int | None = Field(default=None, primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    feed: str  # json | csv | odoo
    trigger: str = "schedule"  # schedule | manual | cli | retry
    # requested (by the dashboard, picked up by the worker) | running | succeeded | failed
    status: str = Field(default="requested", index=True)
    requested_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    full: bool = True  # a full snapshot (absent products are delisted) or incremental
    since: datetime | None = None  # modified-since this run asked for
    phase: str | None = None  # products | promotions: the stream being read
    resume_cursor: str | None = None  # next page of `phase` to fetch after the last commit
    pages_done: int = 0
    fetched: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    delisted: int = 0
    labels_rendered: int = 0
    labels_queued: int = 0
    alert: str | None = None  # e.g. a refused mass delisting, for the manager
    error: str | None = None
    retry_of: int | None = Field(default=None, foreign_key="sync_run.id")
    # schema 6: who runs it (a sync lock holder), and how often a dead holder's run was taken
    # over; a run that continues a failed one names it in retry_of
    holder: str | None = None
    takeovers: int = 0
    # schema 18: records of a chain feed naming another store, passed over (not rejected)
    other_stores: int = 0


class FeedPageState(SQLModel, table=True):
    """Per feed, stream and cursor of an incremental read: the page's ETag and the cursor it
    pointed to, so a 304 for that page can be skipped without losing the pages after it."""

    __tablename__ = "feed_page_state"
    key: str = Field(primary_key=True)  # e.g. "store-1/json:products:<cursor>" ("" = first page)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    etag: str
    next_cursor: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class DeadLetter(SQLModel, table=True):
    """An ERP record that was refused, with the field and the reason; the rest still apply."""

    __tablename__ = "dead_letter"
    id: int | None = Field(default=None, primary_key=True)
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    run_id: int = Field(foreign_key="sync_run.id", index=True)
    kind: str = "product"  # product | promotion
    record_key: str = ""  # GTIN, promotion id or row number: what the manager searches for
    field: str = ""
    reason: str
    raw: str = ""  # the record as received (JSON), truncated
    created_at: datetime = Field(default_factory=utcnow)


class FeedState(SQLModel, table=True):
    """Per feed and stream: the modified-since watermark and the last ETag."""

    __tablename__ = "feed_state"
    key: str = Field(primary_key=True)  # e.g. "store-1/json:products"
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    watermark: datetime | None = None
    etag: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)
