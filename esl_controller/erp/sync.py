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

Only one sync runs at a time per database (`sync_lock.SyncLock`, renewed by a thread while
the run lives); a second one is `skipped` and says why. A run whose holder died (its lock
expired, its process is gone, or another holder has the lock) is dead: the newest dead run
is taken over and continued (`takeovers` counts it), older ones are failed. A run that
follows a failed one continues from the failed run's committed cursor (`retry_of` names it)
instead of page 1. Label re-rendering is the caller's job: it gets
`SyncOutcome.changed_product_ids`.

Every record's `store` field is judged first (`feed_scope`): in a chain feed another
store's record is passed over and counted (`other_stores`), neither applied, nor rejected,
nor listed for delisting; in a store's own feed it is refused like any bad record.

A full snapshot also ends the feed's promotions it no longer lists; an incremental feed
cancels one with `"status": "cancelled"`. A feed whose ETags are per page
(`etag_scope = "page"`) gets each page's stored ETag back on an incremental run, and a 304
skips only that page.

Resumed runs, documented trade-offs:
- the changed products of the pages before the crash are found again as every product of
  the store with `updated_at >= run.started_at` (the apply step bumps `updated_at` exactly
  when a label-visible value changed);
- a resumed (or continued) FULL run does not delist absent products or end absent
  promotions (which ones the pages before the crash listed is not stored); the next full
  run does;
- duplicate-GTIN detection spans the pages read since the (re)start.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import lease
from esl_controller.catalogue.gtin import InvalidGTIN, gtin_key
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.erp import apply
from esl_controller.erp.feed_scope import FeedScope, OtherStore, judge_store, parse_feed_scope
from esl_controller.erp.feeds.base import Feed, FeedError, FeedPage, PageValidator
from esl_controller.erp.records import (
    ProductRecord,
    PromotionCancel,
    PromotionRecord,
    RecordError,
    parse_product,
    parse_promotion,
    storable_text,
)
from esl_controller.erp.run_status import SyncPhase, SyncRunStatus
from esl_controller.erp.sync_lock import (
    SYNC_LOCK_SECONDS,
    LockLost,
    SyncLock,
    holder_gone,
    new_holder,
    sync_lock_key,
)
from esl_controller.incidents import record_incident
from esl_controller.models import DeadLetter, FeedPageState, FeedState, Product, SyncRun

log = logging.getLogger(__name__)

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
    other_stores: int = 0  # a chain feed's records of other stores, passed over
    changed_product_ids: set[int] = field(default_factory=set)
    alert: str | None = None
    error: str | None = None


@dataclass
class _RunContext:
    """What one invocation knows beyond the run row: in memory, rebuilt on resume."""

    run: SyncRun
    feed: Feed
    settings: Settings
    lock: SyncLock
    progress: Progress | None
    resumed: bool  # the same run row, continued after its holder died
    catalogue: apply.Catalogue
    continued: bool = False  # a new run continuing a failed one from its cursor
    origin_started_at: datetime | None = None  # when the data this run completes began
    promotions: dict[str, apply.KnownPromotion] | None = None
    first_pages: dict[str, FeedPage] = field(default_factory=dict)
    first_seen_page: dict[str, int] = field(default_factory=dict)  # gtin -> page number
    # Every GTIN the snapshot listed, valid or not: a refused record is no reason to delist.
    listed_gtins: set[str] = field(default_factory=set)
    listed_promotions: set[str] = field(default_factory=set)
    rows_read: dict[str, int] = field(default_factory=dict)  # per stream, for "row N" keys
    scope: FeedScope = FeedScope.STORE
    # Per stream: a chain feed's records of other stores, which are not this store's
    # catalogue, so neither applied, nor refused, nor listed for delisting.
    other_stores: dict[str, int] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"erp:{self.feed.name}"

    @property
    def holder(self) -> str:
        return self.lock.holder

    @property
    def partial(self) -> bool:
        """Pages before this invocation were read by another: no snapshot judgements."""
        return self.resumed or self.continued


def run_sync(
    engine: Engine,
    feed: Feed,
    settings: Settings,
    *,
    trigger: str = "schedule",
    full: bool | None = None,
    run_id: int | None = None,
    progress: Progress | None = None,
    takeover: bool = False,
) -> SyncOutcome:
    """Run (or take over / resume, when `run_id` names a requested or running run) one sync.

    Never raises for feed or data problems: the outcome (and the run row) says `failed`
    with the error. A KeyboardInterrupt (or any BaseException) leaves the run `running`,
    to be taken over once its lock is dead. `takeover` takes the lock from a holder whose
    process is known to be gone, without waiting for its lease to expire."""
    lock = SyncLock(engine, new_holder(), SYNC_LOCK_SECONDS, store_id=settings.store_id)
    try:
        lock.take_over() if takeover else lock.acquire()
    except lease.LeaseHeld as held:
        return _skipped(engine, feed, settings.store_id, trigger, run_id, held)
    lock.start_renewing()
    try:
        context = _start(engine, feed, settings, lock, trigger, full, run_id, progress)
        return _execute(engine, context)
    finally:
        lock.release()


def dead_runs(
    engine: Engine, store_id: str, feed_name: str | None = None
) -> list[tuple[SyncRun, str]]:
    """The store's runs left `running` whose holder is dead, newest first, each with the
    reason (another store's runs are its own worker's to take over)."""
    query = select(SyncRun).where(
        SyncRun.status == SyncRunStatus.RUNNING, SyncRun.store_id == store_id
    )
    if feed_name is not None:
        query = query.where(SyncRun.feed == feed_name)
    with Session(engine) as session:
        runs = list(session.execute(query.order_by(SyncRun.id.desc())).scalars())
    if not runs:
        return []
    held = lease.current(engine, sync_lock_key(store_id))
    now = utcnow()
    dead = []
    for run in runs:
        reason = _death(run, held, now)
        if reason is not None:
            dead.append((run, reason))
    return dead


def _death(run: SyncRun, held: tuple[str, datetime] | None, now: datetime) -> str | None:
    if held is None:
        return "no process holds the sync lock"
    holder, until = held
    if until <= now:
        return f"the sync lock of {holder} expired at {until.isoformat()} UTC"
    if run.holder is not None and holder != run.holder:
        return f"its holder {run.holder} no longer holds the sync lock"
    if holder_gone(holder):
        return f"the process of {holder} is gone"
    return None


def resume_interrupted(engine: Engine, feed: Feed, settings: Settings) -> SyncOutcome | None:
    """Take over the newest dead run of this feed and continue it; fail older dead ones (the
    next run continues from their cursor). None when no run is dead."""
    dead = []
    for run, why in dead_runs(engine, settings.store_id):
        if run.feed == feed.name:
            dead.append((run, why))
        else:  # nobody will ever read that feed again here; it must not block "Sync now"
            _mark_interrupted(engine, run.id, f"interrupted: {why}; the feed is now {feed.name}")
    if not dead:
        return None
    (newest, reason), older = dead[0], dead[1:]
    for run, why in older:
        _mark_interrupted(engine, run.id, f"interrupted: {why}; superseded by run {newest.id}")
    log.info(
        "taking over sync run %s (%s) at %s cursor %r",
        newest.id,
        reason,
        newest.phase,
        newest.resume_cursor,
    )
    outcome = run_sync(
        engine, feed, settings, trigger=newest.trigger, run_id=newest.id, takeover=True
    )
    if outcome.status == SyncRunStatus.SKIPPED and newest.holder is not None:
        # A live holder is running another sync: this one will never be taken over, so it
        # ends as failed and the next run continues from its cursor.
        _mark_interrupted(engine, newest.id, f"interrupted: {reason}")
    return outcome


def _mark_interrupted(engine: Engine, run_id: int, error: str) -> None:
    with session_scope(engine) as session:
        run = session.get(SyncRun, run_id)
        if run is not None and run.status == SyncRunStatus.RUNNING:
            run.status, run.error, run.finished_at = SyncRunStatus.FAILED, error, utcnow()
            record_incident(
                session, "sync_interrupted", f"sync run {run_id}", error, store_id=run.store_id
            )


# --- starting ----------------------------------------------------------------------------


def _skipped(
    engine: Engine,
    feed: Feed,
    store_id: str,
    trigger: str,
    run_id: int | None,
    held: lease.LeaseHeld,
) -> SyncOutcome:
    reason = f"skipped: another sync is running ({held.holder}, lock until {held.until} UTC)"
    now = utcnow()
    with session_scope(engine) as session:
        run = session.get(SyncRun, run_id) if run_id is not None else None
        if run is None:
            run = SyncRun(store_id=store_id, feed=feed.name, trigger=trigger, requested_at=now)
            session.add(run)
        if run.status in (SyncRunStatus.REQUESTED, SyncRunStatus.SKIPPED):
            run.status, run.error, run.finished_at = SyncRunStatus.SKIPPED, reason, now
        session.flush()
        log.info("sync run %s %s", run.id, reason)
        return SyncOutcome(run_id=run.id, status=SyncRunStatus.SKIPPED, error=reason)


def _start(
    engine: Engine,
    feed: Feed,
    settings: Settings,
    lock: SyncLock,
    trigger: str,
    full: bool | None,
    run_id: int | None,
    progress: Progress | None,
) -> _RunContext:
    now = utcnow()
    continued = False
    with session_scope(engine) as session:
        run = session.get(SyncRun, run_id) if run_id is not None else None
        if run_id is not None and (run is None or run.store_id != settings.store_id):
            raise ValueError(f"sync run {run_id} does not exist in store {settings.store_id}")
        if run is not None and run.status not in (
            SyncRunStatus.REQUESTED,
            SyncRunStatus.RUNNING,
        ):
            raise ValueError(
                f"sync run {run_id} is {run.status}; only a requested or running run can be "
                "taken over (re-run a failed one as a new run with retry_of)"
            )
        resumed = run is not None and run.status == SyncRunStatus.RUNNING
        if run is None:
            run = SyncRun(
                store_id=settings.store_id, feed=feed.name, trigger=trigger, requested_at=now
            )
            session.add(run)
            session.flush()
        if resumed:
            # We hold the lock, so whoever ran it before is dead: say so on the run.
            previous_holder = run.holder or "a process that recorded no holder"
            run.takeovers += 1
            record_incident(
                session,
                "sync_takeover",
                f"sync run {run.id}",
                f"taken over from {previous_holder} at {run.phase} cursor {run.resume_cursor!r}",
                store_id=run.store_id,
            )
        else:
            _plan(session, run, feed, settings, full, now)
            continued = _continue_failed(session, run, full)
        run.holder = lock.holder
        catalogue = apply.Catalogue(settings.store_id)
        if run.full:
            catalogue.load_all(session)
        origin = _origin_started_at(session, run)
        session.flush()
    context = _RunContext(run, feed, settings, lock, progress, resumed, catalogue)
    context.continued, context.origin_started_at = continued, origin
    context.scope = parse_feed_scope(settings.erp_feed_scope)
    return context


def _continue_failed(session: Session, run: SyncRun, full: bool | None) -> bool:
    """When the feed's last finished run failed part-way, this run starts at its committed
    cursor (same mode, same `since`) rather than at page 1."""
    query = (
        select(SyncRun)
        .where(
            SyncRun.feed == run.feed,
            SyncRun.store_id == run.store_id,
            SyncRun.id < run.id,
            SyncRun.status.in_((SyncRunStatus.SUCCEEDED, SyncRunStatus.FAILED)),
        )
        .order_by(SyncRun.id.desc())
        .limit(1)
    )
    previous = session.execute(query).scalars().first()
    if previous is None or previous.status != SyncRunStatus.FAILED or previous.phase is None:
        return False
    if previous.phase == SyncPhase.PRODUCTS and previous.resume_cursor is None:
        return False  # it failed before committing a page: nothing to continue
    if full is not None and full != previous.full:
        return False  # the caller asked for the other mode
    run.full, run.since = previous.full, previous.since
    run.phase, run.resume_cursor = previous.phase, previous.resume_cursor
    run.retry_of = previous.id
    log.info("sync run %s continues failed run %s at %s", run.id, previous.id, run.phase)
    return True


def _origin_started_at(session: Session, run: SyncRun) -> datetime | None:
    """The earliest start along the runs this one continues: the next watermark must not
    skip changes made while any of them was reading."""
    origin, seen, current = run.started_at, {run.id}, run
    while current.retry_of is not None and current.retry_of not in seen and len(seen) < 50:
        seen.add(current.retry_of)
        current = session.get(SyncRun, current.retry_of)
        if current is None:
            break
        if current.started_at is not None and (origin is None or current.started_at < origin):
            origin = current.started_at
    return origin


def _plan(
    session: Session,
    run: SyncRun,
    feed: Feed,
    settings: Settings,
    full: bool | None,
    now: datetime,
) -> None:
    watermark = _feed_state(session, settings.store_id, feed.name, "products").watermark
    incremental = feed.supports_incremental and watermark is not None and full is not True
    run.status, run.started_at, run.finished_at = SyncRunStatus.RUNNING, now, None
    run.full = not incremental
    run.since = watermark - timedelta(seconds=settings.erp_overlap_s) if incremental else None
    run.phase, run.resume_cursor = SyncPhase.PRODUCTS, None
    run.error = run.alert = None


def feed_state_key(store_id: str, feed_name: str, stream: str) -> str:
    """Stores of a chain may read feeds of one name (each its own URL): the key names the
    store too."""
    return f"{store_id}/{feed_name}:{stream}"


def _feed_state(session: Session, store_id: str, feed_name: str, stream: str) -> FeedState:
    key = feed_state_key(store_id, feed_name, stream)
    return session.get(FeedState, key) or FeedState(key=key, store_id=store_id)


# --- running -----------------------------------------------------------------------------


def _execute(engine: Engine, context: _RunContext) -> SyncOutcome:
    run = context.run
    changed_ids: set[int] = set()
    try:
        for stream in _streams_from(run.phase):
            for page in _pages(engine, context, stream):
                changed_ids |= _commit_page(engine, context, stream, page)
                context.lock.renew()
                if context.progress:
                    context.progress(context.run)
        changed_ids |= _finish(engine, context)
    except LockLost as lost:
        # Presumed dead and taken over: the run is the new holder's now; write nothing.
        log.error("sync run %s: %s; leaving it to the new holder", run.id, lost)
        return _outcome(context.run, changed_ids)
    except Exception as exc:  # whatever went wrong ends this run, recorded; never the caller
        log.exception("sync run %s failed", run.id)
        _fail(engine, context, _describe(exc))
    if context.resumed:
        changed_ids |= _changed_since(engine, context)
    return _outcome(context.run, changed_ids)


def _streams_from(phase: str | None) -> Sequence[str]:
    if phase == SyncPhase.PROMOTIONS:
        return (SyncPhase.PROMOTIONS,)
    return (SyncPhase.PRODUCTS, SyncPhase.PROMOTIONS)


def _pages(engine: Engine, context: _RunContext, stream: str) -> Iterator[FeedPage]:
    run = context.run
    cursor = run.resume_cursor if run.phase == stream else None
    since, etag = _since_and_etag(engine, context, stream)
    if not _page_etags(context):
        return context.feed.pages(stream, since=since, cursor=cursor, etag=etag)
    validators = _page_validators(engine, context, stream) if not run.full else {}
    return context.feed.pages(stream, since=since, cursor=cursor, page_etags=validators)


def _page_etags(context: _RunContext) -> bool:
    return getattr(context.feed, "etag_scope", "stream") == "page"


def _page_key(context: _RunContext, stream: str, cursor: str | None) -> str:
    return f"{context.settings.store_id}/{context.feed.name}:{stream}:{cursor or ''}"


def _page_validators(engine: Engine, context: _RunContext, stream: str) -> dict[str, PageValidator]:
    prefix = _page_key(context, stream, None)
    query = select(FeedPageState).where(FeedPageState.key.startswith(prefix, autoescape=True))
    with Session(engine) as session:
        rows = session.execute(query).scalars().all()
    return {row.key[len(prefix) :]: PageValidator(row.etag, row.next_cursor) for row in rows}


def _since_and_etag(
    engine: Engine, context: _RunContext, stream: str
) -> tuple[datetime | None, str | None]:
    """A full run reads everything (the snapshot decides delisting), so no ETag either."""
    run = context.run
    if run.full:
        return None, None
    if stream == "products":
        with Session(engine) as session:
            return run.since, _feed_state(
                session, context.settings.store_id, context.feed.name, stream
            ).etag
    with Session(engine) as session:
        state = _feed_state(session, context.settings.store_id, context.feed.name, stream)
    if state.watermark is None:
        return None, None
    return state.watermark - timedelta(seconds=context.settings.erp_overlap_s), state.etag


def _commit_page(engine: Engine, context: _RunContext, stream: str, page: FeedPage) -> set[int]:
    """Validate, apply and dead-letter one page, with the run's progress, in one transaction."""
    now = utcnow()
    context.first_pages.setdefault(stream, page)
    with session_scope(engine) as session:
        run = session.get(SyncRun, context.run.id)
        if run.holder != context.holder or context.lock.lost.is_set():
            raise LockLost(f"{context.holder} no longer holds sync run {run.id}")
        page_number = run.pages_done + 1
        passed_over = context.other_stores.get(stream, 0)
        if page.not_modified:
            changes = apply.PageChanges()
        elif stream == "products":
            changes = _apply_product_page(session, context, page, page_number, now)
        else:
            changes = _apply_promotion_page(session, context, page, now)
        passed_over = context.other_stores.get(stream, 0) - passed_over
        run.fetched += len(page.records)
        run.changed += changes.changed
        run.unchanged += changes.unchanged
        run.other_stores += passed_over
        run.rejected += len(page.records) - passed_over - changes.changed - changes.unchanged
        run.pages_done = page_number
        run.phase, run.resume_cursor = stream, page.next_cursor
        if page.next_cursor is None and stream == SyncPhase.PRODUCTS:
            run.phase = SyncPhase.PROMOTIONS
        if _page_etags(context) and not run.full:
            _remember_page(session, context, stream, page, now)
        session.flush()
    context.run = run
    return changes.changed_ids


def _remember_page(
    session: Session, context: _RunContext, stream: str, page: FeedPage, now: datetime
) -> None:
    """This page's ETag and where it pointed, for the next incremental run's If-None-Match."""
    key = _page_key(context, stream, page.cursor)
    state = session.get(FeedPageState, key)
    if page.etag is None:
        if state is not None:
            session.delete(state)
        return
    state = state or FeedPageState(key=key, etag=page.etag, store_id=context.settings.store_id)
    state.etag, state.next_cursor, state.updated_at = page.etag, page.next_cursor, now
    session.add(state)


def _apply_product_page(
    session: Session, context: _RunContext, page: FeedPage, page_number: int, now: datetime
) -> apply.PageChanges:
    valid: list[ProductRecord] = []
    on_this_page: set[str] = set()
    for key, raw, parsed in _parse_all(context, page, parse_product):
        if isinstance(parsed, RecordError):
            context.listed_gtins.add(_listed_key(parsed.key))
            _dead_letter(session, context.run, "product", key, raw, parsed.field, parsed.reason)
            continue
        context.listed_gtins.add(parsed.key)
        first_page = context.first_seen_page.setdefault(parsed.key, page_number)
        if first_page != page_number or parsed.key in on_this_page:
            # Compared as 14 digits: "036000291452" and "0036000291452" are one product.
            reason = f"duplicate gtin in this feed (first seen on page {first_page})"
            _dead_letter(session, context.run, "product", parsed.gtin, raw, "gtin", reason)
            continue
        on_this_page.add(parsed.key)
        if parsed.stock_refused is not None:
            refused = parsed.stock_refused
            why = f"{refused.reason}; stock left as it was, the rest applied"
            _dead_letter(session, context.run, "product", parsed.gtin, raw, refused.field, why)
        if parsed.unit_refused is not None:
            refused = parsed.unit_refused
            why = f"{refused.reason}; the price applied"
            _dead_letter(session, context.run, "product", parsed.gtin, raw, refused.field, why)
        valid.append(parsed)
    return apply.apply_products(session, context.catalogue, valid, now=now, source=context.source)


def _listed_key(key: str) -> str:
    """The catalogue key a refused record's GTIN names (a refused record is no reason to
    delist its product), or the text as it came when it is no GTIN at all."""
    try:
        return gtin_key(key)
    except InvalidGTIN:
        return key


def _apply_promotion_page(
    session: Session, context: _RunContext, page: FeedPage, now: datetime
) -> apply.PageChanges:
    if context.promotions is None:
        context.promotions = apply.load_promotions(
            session, context.source, context.settings.store_id
        )
    valid: list[PromotionRecord] = []
    cancelled: list[str] = []
    raw_by_id: dict[str, Mapping[str, Any]] = {}
    for key, raw, parsed in _parse_all(context, page, parse_promotion):
        if isinstance(parsed, RecordError):
            if parsed.key:
                context.listed_promotions.add(parsed.key)
            _dead_letter(session, context.run, "promotion", key, raw, parsed.field, parsed.reason)
            continue
        promotion_id = parsed.external_id
        if promotion_id in raw_by_id:
            reason = "duplicate promotion id on this page; the first one was applied"
            _dead_letter(session, context.run, "promotion", promotion_id, raw, "id", reason)
            continue
        raw_by_id[promotion_id] = raw
        if isinstance(parsed, PromotionCancel):
            cancelled.append(promotion_id)
            continue
        context.listed_promotions.add(promotion_id)
        valid.append(parsed)
    changes = apply.apply_promotions(
        session, context.catalogue, context.promotions, valid, now=now, source=context.source
    )
    ended, product_ids = apply.end_promotions(session, context.promotions, cancelled, now=now)
    changes.changed_ids |= product_ids
    changes.changed += ended
    changes.unchanged += len(cancelled) - ended
    for rejection in changes.rejections:
        promotion_id = rejection.record.external_id
        _dead_letter(
            session,
            context.run,
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
    """(record key, raw, parsed record or the RecordError) for each record of the page that
    is this store's; a chain feed's records of other stores are only counted."""
    offset = context.rows_read.get(page.stream, 0)
    context.rows_read[page.stream] = offset + len(page.records)
    key_field = "gtin" if page.stream == SyncPhase.PRODUCTS else "id"
    for row_number, raw in enumerate(page.records, start=offset + 1):
        try:
            whose = judge_store(raw, context.scope, context.settings.store_id, key_field)
            if isinstance(whose, OtherStore):
                context.other_stores[page.stream] = context.other_stores.get(page.stream, 0) + 1
                continue
            parsed = parse(raw)
        except RecordError as error:
            yield error.key or f"row {row_number}", raw, error
            continue
        except Exception as exc:  # a parser bug must cost one record, not the run
            log.exception("sync run %s: parsing row %d failed", context.run.id, row_number)
            error = RecordError("record", f"could not be read ({type(exc).__name__})")
            yield f"row {row_number}", raw, error
            continue
        yield "", raw, parsed


def _dead_letter(
    session: Session,
    run: SyncRun,
    kind: str,
    key: str,
    raw: Any,
    field_name: str,
    reason: str,
) -> None:
    session.add(
        DeadLetter(
            store_id=run.store_id,
            run_id=run.id,
            kind=kind,
            record_key=storable_text(key[:200]),
            field=storable_text(field_name[:100]),
            reason=storable_text(reason[:1000]),
            raw=storable_text(_raw_text(raw)[:RAW_LIMIT]),
        )
    )


def _raw_text(raw: Any) -> str:
    """The refused record as JSON for the manager; a record JSON cannot even print (an
    integer of thousands of digits, nesting deeper than the recursion limit) is named only."""
    try:
        return json.dumps(raw, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError) as exc:
        return f"(not printable: {type(exc).__name__})"


# --- finishing -----------------------------------------------------------------------------


def _finish(engine: Engine, context: _RunContext) -> set[int]:
    """Delist what a full snapshot no longer lists (within the safety ratio), end the
    promotions it no longer lists, store the watermarks, mark the run succeeded; one
    transaction. A run that rejected every record it read fails instead, with an incident:
    a feed that went wrong wholesale must not look like a quiet success."""
    now = utcnow()
    changed: set[int] = set()
    with session_scope(engine) as session:
        run = session.get(SyncRun, context.run.id)
        if run.holder != context.holder:
            raise LockLost(f"{context.holder} no longer holds sync run {run.id}")
        run.phase, run.resume_cursor, run.finished_at = None, None, now
        own_records = run.fetched - run.other_stores
        if own_records > 0 and run.changed + run.unchanged == 0:
            message = (
                f"every one of the {own_records:,} records read was rejected, so nothing was "
                "applied; see the run's dead letters"
            )
            record_incident(
                session,
                "sync_all_rejected",
                f"sync run {run.id}",
                message,
                store_id=run.store_id,
            )
            run.status, run.error, run.alert = SyncRunStatus.FAILED, message, message
            session.flush()
            context.run = run
            return changed
        if run.full and not context.partial:
            changed |= set(_delist_absent(session, context, run, now))
            changed |= _end_absent_promotions(session, context, run, now)
        for stream in (SyncPhase.PRODUCTS, SyncPhase.PROMOTIONS):
            _store_watermark(session, context, stream, run)
        if _page_etags(context) and not run.full and not context.partial:
            _forget_unread_pages(session, context, run)
        run.status = SyncRunStatus.SUCCEEDED
        session.flush()
    context.run = run
    return changed


def _end_absent_promotions(
    session: Session, context: _RunContext, run: SyncRun, now: datetime
) -> set[int]:
    """A full snapshot lists every promotion in force or announced: one it no longer lists
    was withdrawn in the ERP, so it ends here too. A feed that served no promotions stream
    at all (a CSV without promotions.csv) says nothing about promotions."""
    if SyncPhase.PROMOTIONS not in context.first_pages:
        return set()
    known = context.promotions
    if known is None:
        known = context.promotions = apply.load_promotions(
            session, context.source, context.settings.store_id
        )
    absent = [pid for pid in known if pid not in context.listed_promotions]
    ended, product_ids = apply.end_promotions(session, known, absent, now=now)
    if ended:
        log.info("sync run %s ended %d promotions the feed no longer lists", run.id, ended)
        run.changed += ended
    return product_ids


def _forget_unread_pages(session: Session, context: _RunContext, run: SyncRun) -> None:
    """Page ETags of cursors this complete read never reached: the feed's pages moved on."""
    for stream in (SyncPhase.PRODUCTS, SyncPhase.PROMOTIONS):
        prefix = _page_key(context, stream, None)
        stale = select(FeedPageState).where(
            FeedPageState.key.startswith(prefix, autoescape=True),
            FeedPageState.updated_at < run.started_at,
        )
        for state in session.execute(stale).scalars():
            session.delete(state)


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
        # A chain feed's records of other stores are no products of this store.
        fetched=context.rows_read.get("products", 0) - context.other_stores.get("products", 0),
        safety_ratio=context.settings.delist_safety_ratio,
    )
    if refusal:
        run.alert = refusal
        record_incident(
            session, "delist_refused", f"sync run {run.id}", refusal, store_id=run.store_id
        )
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
    state = _feed_state(session, context.settings.store_id, context.feed.name, stream)
    from_first_page = first is not None and first.cursor is None
    started = context.origin_started_at or run.started_at
    state.watermark = (first.server_time if from_first_page else None) or started
    state.etag = first.etag if from_first_page else None
    state.updated_at = utcnow()
    session.add(state)


def _fail(engine: Engine, context: _RunContext, error: str) -> None:
    with session_scope(engine) as session:
        run = session.get(SyncRun, context.run.id)
        if run.holder != context.holder:
            return  # taken over meanwhile: the run is not ours to end
        run.status, run.error, run.finished_at = SyncRunStatus.FAILED, error, utcnow()
        session.flush()
    context.run = run


def _describe(exc: Exception) -> str:
    if isinstance(exc, FeedError):
        return storable_text(str(exc))
    return storable_text(f"{type(exc).__name__}: {exc}"[:2000])


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
        other_stores=run.other_stores,
        changed_product_ids=changed_ids,
        alert=run.alert,
        error=run.error,
    )
