"""One ERP sync run: read the feed page by page, validate, apply, dead-letter, resume.

Each page is one transaction holding everything it did: the applied records, the dead
letters of its refused records, the run's counters and where to continue (`phase` and
`resume_cursor` = the page's `next_cursor`). So a worker that dies mid-run leaves a run in
`running` whose committed pages are complete; `resume_interrupted` continues it from the
next page, and nothing is applied twice or lost.

Order: products first, then promotions (a promotion needs its product). A full snapshot
ends by delisting the store's active products the feed no longer lists, unless that would
delist more than `settings.delist_safety_ratio` of them (a truncated or empty feed must
not blank the store): then nothing is delisted and the run carries an alert and an
incident, while its price changes still apply.

Only one sync runs at a time per database (a lease row, `SYNC_LOCK_KEY`); a second one is
`skipped` and says why. Label re-rendering is the caller's job: it gets
`SyncOutcome.changed_product_ids`.

Resumed runs, documented trade-offs:
- the changed products of the pages before the crash are found again as every product of
  the store with `updated_at >= run.started_at` (the apply step bumps `updated_at` exactly
  when a label-visible value changed);
- a resumed FULL run does not delist absent products (which GTINs the pages before the
  crash listed is not stored); the next full run does;
- duplicate-GTIN detection spans the pages read since the (re)start.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import lease
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.erp import apply
from esl_controller.erp.feeds.base import Feed, FeedError, FeedPage
from esl_controller.erp.records import (
    ProductRecord,
    PromotionRecord,
    RecordError,
    parse_product,
    parse_promotion,
)
from esl_controller.incidents import record_incident
from esl_controller.models import DeadLetter, FeedState, Product, SyncRun

log = logging.getLogger(__name__)

SYNC_LOCK_KEY = "sync_lock"
# Renewed after every page; a crashed worker's lock frees itself after this long.
SYNC_LOCK_SECONDS = 120.0
RAW_LIMIT = 2048  # characters of a refused record kept in its dead letter

Progress = Callable[[SyncRun], None]


@dataclass
class SyncOutcome:
    run_id: int
    status: str  # succeeded | failed | skipped
    fetched: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    delisted: int = 0
    changed_product_ids: set[int] = field(default_factory=set)
    alert: str | None = None
    error: str | None = None


@dataclass
class _RunContext:
    """What one invocation knows beyond the run row: in memory, rebuilt on resume."""

    run: SyncRun
    feed: Feed
    settings: Settings
    holder: str
    progress: Progress | None
    resumed: bool
    catalogue: apply.Catalogue
    promotions: dict[str, apply.KnownPromotion] | None = None
    first_pages: dict[str, FeedPage] = field(default_factory=dict)
    first_seen_page: dict[str, int] = field(default_factory=dict)  # gtin -> page number
    # Every GTIN the snapshot listed, valid or not: a refused record is no reason to delist.
    listed_gtins: set[str] = field(default_factory=set)
    rows_read: dict[str, int] = field(default_factory=dict)  # per stream, for "row N" keys

    @property
    def source(self) -> str:
        return f"erp:{self.feed.name}"


def run_sync(
    engine: Engine,
    feed: Feed,
    settings: Settings,
    *,
    trigger: str = "schedule",
    full: bool | None = None,
    run_id: int | None = None,
    progress: Progress | None = None,
) -> SyncOutcome:
    """Run (or take over / resume, when `run_id` names a requested or running run) one sync.

    Never raises for feed or data problems: the outcome (and the run row) says `failed`
    with the error. A KeyboardInterrupt (or any BaseException) leaves the run `running`,
    to be resumed."""
    holder = f"{lease.holder_name()}:{uuid.uuid4().hex[:8]}"
    try:
        lease.acquire(engine, SYNC_LOCK_KEY, holder, SYNC_LOCK_SECONDS)
    except lease.LeaseHeld as held:
        return _skipped(engine, feed, trigger, run_id, held)
    try:
        context = _start(engine, feed, settings, holder, trigger, full, run_id, progress)
        return _execute(engine, context)
    finally:
        lease.release(engine, SYNC_LOCK_KEY, holder)


def resume_interrupted(engine: Engine, feed: Feed, settings: Settings) -> SyncOutcome | None:
    """Continue the newest run left `running` by a worker that stopped; None when none is."""
    query = (
        select(SyncRun)
        .where(SyncRun.status == "running", SyncRun.feed == feed.name)
        .order_by(SyncRun.id.desc())
    )
    with Session(engine) as session:
        run = session.execute(query).scalars().first()
    if run is None:
        return None
    log.info("resuming sync run %s at %s cursor %r", run.id, run.phase, run.resume_cursor)
    return run_sync(engine, feed, settings, trigger=run.trigger, run_id=run.id)


# --- starting ----------------------------------------------------------------------------


def _skipped(
    engine: Engine, feed: Feed, trigger: str, run_id: int | None, held: lease.LeaseHeld
) -> SyncOutcome:
    reason = f"skipped: another sync is running ({held.holder}, lock until {held.until} UTC)"
    now = utcnow()
    with session_scope(engine) as session:
        run = session.get(SyncRun, run_id) if run_id is not None else None
        if run is None:
            run = SyncRun(feed=feed.name, trigger=trigger, requested_at=now)
            session.add(run)
        if run.status in ("requested", "skipped"):
            run.status, run.error, run.finished_at = "skipped", reason, now
        session.flush()
        log.info("sync run %s %s", run.id, reason)
        return SyncOutcome(run_id=run.id, status="skipped", error=reason)


def _start(
    engine: Engine,
    feed: Feed,
    settings: Settings,
    holder: str,
    trigger: str,
    full: bool | None,
    run_id: int | None,
    progress: Progress | None,
) -> _RunContext:
    now = utcnow()
    with session_scope(engine) as session:
        run = session.get(SyncRun, run_id) if run_id is not None else None
        if run_id is not None and run is None:
            raise ValueError(f"sync run {run_id} does not exist")
        if run is not None and run.status not in ("requested", "running"):
            raise ValueError(
                f"sync run {run_id} is {run.status}; only a requested or running run can be "
                "taken over (re-run a failed one as a new run with retry_of)"
            )
        resumed = run is not None and run.status == "running"
        if run is None:
            run = SyncRun(feed=feed.name, trigger=trigger, requested_at=now)
            session.add(run)
        if not resumed:
            _plan(session, run, feed, settings, full, now)
        catalogue = apply.Catalogue(settings.store_id)
        if run.full:
            catalogue.load_all(session)
        session.flush()
    return _RunContext(run, feed, settings, holder, progress, resumed, catalogue)


def _plan(
    session: Session,
    run: SyncRun,
    feed: Feed,
    settings: Settings,
    full: bool | None,
    now: datetime,
) -> None:
    watermark = _feed_state(session, feed.name, "products").watermark
    incremental = feed.supports_incremental and watermark is not None and full is not True
    run.status, run.started_at, run.finished_at = "running", now, None
    run.full = not incremental
    run.since = watermark - timedelta(seconds=settings.erp_overlap_s) if incremental else None
    run.phase, run.resume_cursor = "products", None
    run.error = run.alert = None


def _feed_state(session: Session, feed_name: str, stream: str) -> FeedState:
    key = f"{feed_name}:{stream}"
    return session.get(FeedState, key) or FeedState(key=key)


# --- running -----------------------------------------------------------------------------


def _execute(engine: Engine, context: _RunContext) -> SyncOutcome:
    run = context.run
    changed_ids: set[int] = set()
    try:
        for stream in _streams_from(run.phase):
            for page in _pages(engine, context, stream):
                changed_ids |= _commit_page(engine, context, stream, page)
                lease.acquire(engine, SYNC_LOCK_KEY, context.holder, SYNC_LOCK_SECONDS)
                if context.progress:
                    context.progress(context.run)
        changed_ids |= _finish(engine, context)
    except Exception as exc:  # whatever went wrong ends this run, recorded; never the caller
        log.exception("sync run %s failed", run.id)
        _fail(engine, context, _describe(exc))
    if context.resumed:
        changed_ids |= _changed_since(engine, context)
    return _outcome(context.run, changed_ids)


def _streams_from(phase: str | None) -> Sequence[str]:
    return ("promotions",) if phase == "promotions" else ("products", "promotions")


def _pages(engine: Engine, context: _RunContext, stream: str) -> Iterator[FeedPage]:
    run = context.run
    cursor = run.resume_cursor if run.phase == stream else None
    since, etag = _since_and_etag(engine, context, stream)
    return context.feed.pages(stream, since=since, cursor=cursor, etag=etag)


def _since_and_etag(
    engine: Engine, context: _RunContext, stream: str
) -> tuple[datetime | None, str | None]:
    """A full run reads everything (the snapshot decides delisting), so no ETag either."""
    run = context.run
    if run.full:
        return None, None
    if stream == "products":
        with Session(engine) as session:
            return run.since, _feed_state(session, context.feed.name, stream).etag
    with Session(engine) as session:
        state = _feed_state(session, context.feed.name, stream)
    if state.watermark is None:
        return None, None
    return state.watermark - timedelta(seconds=context.settings.erp_overlap_s), state.etag


def _commit_page(engine: Engine, context: _RunContext, stream: str, page: FeedPage) -> set[int]:
    """Validate, apply and dead-letter one page, with the run's progress, in one transaction."""
    now = utcnow()
    context.first_pages.setdefault(stream, page)
    with session_scope(engine) as session:
        run = session.get(SyncRun, context.run.id)
        page_number = run.pages_done + 1
        if page.not_modified:
            changes = apply.PageChanges()
        elif stream == "products":
            changes = _apply_product_page(session, context, page, page_number, now)
        else:
            changes = _apply_promotion_page(session, context, page, now)
        run.fetched += len(page.records)
        run.changed += changes.changed
        run.unchanged += changes.unchanged
        run.rejected += len(page.records) - changes.changed - changes.unchanged
        run.pages_done = page_number
        run.phase, run.resume_cursor = stream, page.next_cursor
        if page.next_cursor is None and stream == "products":
            run.phase = "promotions"
        session.flush()
    context.run = run
    return changes.changed_ids


def _apply_product_page(
    session: Session, context: _RunContext, page: FeedPage, page_number: int, now: datetime
) -> apply.PageChanges:
    valid: list[ProductRecord] = []
    on_this_page: set[str] = set()
    for key, raw, parsed in _parse_all(context, page, parse_product):
        if isinstance(parsed, RecordError):
            context.listed_gtins.add(parsed.key)
            _dead_letter(session, context.run.id, "product", key, raw, parsed.field, parsed.reason)
            continue
        context.listed_gtins.add(parsed.gtin)
        first_page = context.first_seen_page.setdefault(parsed.gtin, page_number)
        if first_page != page_number or parsed.gtin in on_this_page:
            reason = f"duplicate gtin in this feed (first seen on page {first_page})"
            _dead_letter(session, context.run.id, "product", parsed.gtin, raw, "gtin", reason)
            continue
        on_this_page.add(parsed.gtin)
        valid.append(parsed)
    return apply.apply_products(session, context.catalogue, valid, now=now, source=context.source)


def _apply_promotion_page(
    session: Session, context: _RunContext, page: FeedPage, now: datetime
) -> apply.PageChanges:
    if context.promotions is None:
        context.promotions = apply.load_promotions(session, context.source)
    valid: list[PromotionRecord] = []
    raw_by_id: dict[str, Mapping[str, Any]] = {}
    for key, raw, parsed in _parse_all(context, page, parse_promotion):
        if isinstance(parsed, RecordError):
            _dead_letter(
                session, context.run.id, "promotion", key, raw, parsed.field, parsed.reason
            )
            continue
        valid.append(parsed)
        raw_by_id[parsed.external_id] = raw
    changes = apply.apply_promotions(
        session, context.catalogue, context.promotions, valid, now=now, source=context.source
    )
    for rejection in changes.rejections:
        promotion_id = rejection.record.external_id
        _dead_letter(
            session,
            context.run.id,
            "promotion",
            promotion_id,
            raw_by_id[promotion_id],
            rejection.field,
            rejection.reason,
        )
    return changes


def _parse_all(
    context: _RunContext, page: FeedPage, parse: Callable[[Any], Any]
) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    """(record key, raw, parsed record or the RecordError) for each record of the page."""
    offset = context.rows_read.get(page.stream, 0)
    context.rows_read[page.stream] = offset + len(page.records)
    for row_number, raw in enumerate(page.records, start=offset + 1):
        try:
            parsed = parse(raw)
        except RecordError as error:
            yield error.key or f"row {row_number}", raw, error
            continue
        yield "", raw, parsed


def _dead_letter(
    session: Session,
    run_id: int,
    kind: str,
    key: str,
    raw: Any,
    field_name: str,
    reason: str,
) -> None:
    text = json.dumps(raw, ensure_ascii=False, default=str)
    session.add(
        DeadLetter(
            run_id=run_id,
            kind=kind,
            record_key=key[:200],
            field=field_name,
            reason=reason,
            raw=text[:RAW_LIMIT],
        )
    )


# --- finishing -----------------------------------------------------------------------------


def _finish(engine: Engine, context: _RunContext) -> set[int]:
    """Delist what a full snapshot no longer lists (within the safety ratio), store the
    watermarks, mark the run succeeded; one transaction."""
    now = utcnow()
    delisted_ids: list[int] = []
    with session_scope(engine) as session:
        run = session.get(SyncRun, context.run.id)
        if run.full and not context.resumed:
            delisted_ids = _delist_absent(session, context, run, now)
        for stream in ("products", "promotions"):
            _store_watermark(session, context, stream, run)
        run.status, run.finished_at = "succeeded", now
        run.phase, run.resume_cursor = None, None
        session.flush()
    context.run = run
    return set(delisted_ids)


def _delist_absent(
    session: Session, context: _RunContext, run: SyncRun, now: datetime
) -> list[int]:
    active = context.catalogue.active_gtins()
    absent = sorted(active - context.listed_gtins)
    if not absent:
        return []
    refusal = delist_refusal(
        len(absent),
        len(active),
        fetched=context.rows_read.get("products", 0),
        safety_ratio=context.settings.delist_safety_ratio,
    )
    if refusal:
        run.alert = refusal
        record_incident(session, "delist_refused", f"sync run {run.id}", refusal)
        return []
    ids = [context.catalogue.by_gtin[gtin].id for gtin in absent]
    apply.delist_products(session, ids, now=now)
    run.delisted += len(ids)
    run.changed += len(ids)
    return ids


def delist_refusal(absent: int, active: int, *, fetched: int, safety_ratio: float) -> str | None:
    """Why delisting `absent` of `active` products must not happen, or None when it may."""
    if absent == 0:
        return None
    share = absent / active
    if fetched == 0:
        why = "the feed returned no products"
    elif share > safety_ratio:
        why = "the feed looks truncated"
    else:
        return None
    return (
        f"refused to delist {absent:,} of {active:,} products ({share * 100:.0f} %): {why}; "
        f"safety ratio {safety_ratio * 100:.0f} %"
    )


def _store_watermark(session: Session, context: _RunContext, stream: str, run: SyncRun) -> None:
    """The next incremental run asks for changes since the first page's server time (or the
    run's start when the stream was resumed mid-way); a 304 leaves the state as it was."""
    first = context.first_pages.get(stream)
    if first is not None and first.not_modified:
        return
    state = _feed_state(session, context.feed.name, stream)
    from_first_page = first is not None and first.cursor is None
    state.watermark = (first.server_time if from_first_page else None) or run.started_at
    state.etag = first.etag if from_first_page else None
    state.updated_at = utcnow()
    session.add(state)


def _fail(engine: Engine, context: _RunContext, error: str) -> None:
    with session_scope(engine) as session:
        run = session.get(SyncRun, context.run.id)
        run.status, run.error, run.finished_at = "failed", error, utcnow()
        session.flush()
    context.run = run


def _describe(exc: Exception) -> str:
    if isinstance(exc, FeedError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _changed_since(engine: Engine, context: _RunContext) -> set[int]:
    """A resumed run's changed products include those of the pages before the crash: every
    product of the store whose label-visible values changed since the run started."""
    query = select(Product.id).where(
        Product.store_id == context.settings.store_id,
        Product.updated_at >= context.run.started_at,
    )
    with Session(engine) as session:
        return set(session.execute(query).scalars())


def _outcome(run: SyncRun, changed_ids: set[int]) -> SyncOutcome:
    return SyncOutcome(
        run_id=run.id,
        status=run.status,
        fetched=run.fetched,
        changed=run.changed,
        unchanged=run.unchanged,
        rejected=run.rejected,
        delisted=run.delisted,
        changed_product_ids=changed_ids,
        alert=run.alert,
        error=run.error,
    )
