"""The one way a label gets a new image: say which labels are dirty and why, then
`ShelfRefresher.refresh` renders them and queues what differs from the shelf.

Labels become dirty in four ways, each a `DirtyLabels` built here: the ERP changed some
products (a sync), the catalogue changed since the last scan (a link, a manual price, a
label never rendered), a promotion started or ended (on the minute, ERP reachable or not),
and a manager asked for every label. They all meet in `refresh`, under one lock, with the
same priority rules and the same delisted template, so a label is never rendered twice at
once and every caller's count is its own:

    shelf.refresh(shelf.catalogue_changes)
    shelf.refresh(partial(shelf.products, changed_ids))
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.catalogue.prior_price import FakeDiscount
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.esl.outbox import Priority
from esl_controller.esl.refresh import Progress, RefreshReport, refresh_labels
from esl_controller.labels.render_pool import RenderPool
from esl_controller.models import Label, Product, Promotion

log = logging.getLogger(__name__)

WATERMARK_KEY = "refresh_watermark"
PROMOTION_CHECK_KEY = "promotions_checked_until"

# SQLite allows 32,766 bound parameters; stay far below it on every backend.
_ID_CHUNK = 5000

# A writer stamps `updated_at` before it commits. A scan running in between cannot see the
# row yet, and a watermark at the scan's start would step over it for good; so each scan
# re-reads this far behind its watermark (also covering clock skew between a chain's hosts)
# and skips the (label, updated_at) pairs it already handled.
SCAN_OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True)
class DirtyLabels:
    """Labels that may need a new image, why, and what to remember once they are queued."""

    why: str  # for the log: "products", "catalogue", "promotions", "everything"
    label_ids: list[str] | None  # None: every bound label
    priority: int = Priority.PRICE_CHANGE
    force: bool = False  # render even when the inputs look unchanged
    resend: bool = False  # send even an image the label already shows
    done: Callable[[], None] | None = None  # e.g. move the scan's watermark


class ShelfRefresher:
    def __init__(
        self,
        engine: Engine,
        pool: RenderPool,
        delisted_template: str,
        fake_discount: FakeDiscount = FakeDiscount.PLAIN,
        *,
        store_id: str,
        scan_overlap: timedelta = SCAN_OVERLAP,
    ) -> None:
        """Refreshes the labels of `store_id` only: in a chain each store's worker has its
        own refresher, scan watermark and promotion check."""
        self.engine = engine
        self.scan_overlap = scan_overlap
        # (label id, product updated_at) the scans handled within the overlap window.
        self._scanned: set[tuple[str, datetime]] = set()
        self.store_id = store_id
        self.pool = pool
        self.delisted_template = delisted_template
        self.fake_discount = fake_discount
        # Re-entrant: a sync holds it for the sync and its label refresh, so the periodic
        # scan cannot render those labels in between and the run counts them.
        self._lock = threading.RLock()

    @classmethod
    def for_store(cls, engine: Engine, pool: RenderPool, settings: Settings) -> ShelfRefresher:
        """The refresher of `settings.store_id`, with that store's label rules."""
        return cls(
            engine,
            pool,
            settings.delisted_template,
            settings.fake_discount,
            store_id=settings.store_id,
        )

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep every other refresh out while a caller (a sync run) works."""
        with self._lock:
            yield

    def refresh(
        self, select_dirty: Callable[[], DirtyLabels], progress: Progress | None = None
    ) -> RefreshReport:
        """Select the dirty labels and bring them up to date, both under the lock, so no
        other refresh renders them in between (and a scan never sees a sync half-done)."""
        with self._lock:
            dirty = select_dirty()
            report = RefreshReport()
            if dirty.label_ids is None or dirty.label_ids:
                report = refresh_labels(
                    self.engine,
                    self.pool,
                    label_ids=dirty.label_ids,
                    store_id=self.store_id,
                    priority=dirty.priority,
                    force=dirty.force,
                    resend=dirty.resend,
                    progress=progress,
                    delisted_template=self.delisted_template,
                    fake_discount=self.fake_discount,
                )
            if dirty.done:
                dirty.done()
        if report.considered:
            log.info(
                "%s: %d labels considered, %d rendered, %d queued",
                dirty.why,
                report.considered,
                report.rendered,
                report.queued,
            )
        return report

    # -- the ways a label becomes dirty -------------------------------------------------------

    def products(
        self, product_ids: Iterable[int], *, priority: int = Priority.PRICE_CHANGE
    ) -> DirtyLabels:
        """The labels of products a sync (or a manager, at `Priority.MANAGER`) changed."""
        return DirtyLabels(
            "products", labels_of_products(self.engine, product_ids, self.store_id), priority
        )

    def catalogue_changes(self, *, retry_errors: bool = False) -> DirtyLabels:
        """Labels whose product changed since the last scan, or that were never rendered.

        A label that could not be rendered (its incident says why) is retried when its
        product changes, and once at every worker start (`retry_errors`), not every tick.
        """
        never_rendered = or_(Label.content_hash.is_(None), Label.render_fingerprint.is_(None))
        if not retry_errors:
            never_rendered = and_(never_rendered, Label.last_error.is_(None))
        scan_started = utcnow()
        with Session(self.engine) as session:
            since = _meta_time(session, self._key(WATERMARK_KEY)) or datetime(
                1970, 1, 1, tzinfo=UTC
            )
            bound = (
                select(Label.id, Product.updated_at)
                .join(Product, Product.id == Label.product_id)
                .where(Label.store_id == self.store_id)
            )
            ids = {label_id for label_id, _ in session.execute(bound.where(never_rendered))}
            changed = session.execute(
                bound.where(Product.updated_at > since - self.scan_overlap)
            ).all()
        fresh = {(label_id, updated_at) for label_id, updated_at in changed} - self._scanned
        ids.update(label_id for label_id, _ in fresh)

        def remember() -> None:
            _set_meta_time(self.engine, self._key(WATERMARK_KEY), scan_started)
            horizon = _comparable(scan_started - self.scan_overlap)
            self._scanned = {
                pair for pair in self._scanned | fresh if _comparable(pair[1]) > horizon
            }

        return DirtyLabels("catalogue", sorted(ids), done=remember)

    def promotion_flips(self, now: datetime | None = None) -> DirtyLabels:
        """Labels of products whose promotion started or ended since the last check."""
        now = now or utcnow()
        with Session(self.engine) as session:
            since = _meta_time(session, self._key(PROMOTION_CHECK_KEY)) or now
            product_ids = set(
                session.scalars(
                    select(Promotion.product_id).where(
                        or_(
                            and_(Promotion.starts_at > since, Promotion.starts_at <= now),
                            and_(Promotion.ends_at > since, Promotion.ends_at <= now),
                        )
                    )
                )
            )
        return DirtyLabels(
            "promotions",
            labels_of_products(self.engine, product_ids, self.store_id),
            done=lambda: _set_meta_time(self.engine, self._key(PROMOTION_CHECK_KEY), now),
        )

    def _key(self, key: str) -> str:
        return store_key(key, self.store_id)

    @staticmethod
    def everything(
        *, priority: int = Priority.ROUTINE, rerender: bool = False, resend: bool = False
    ) -> DirtyLabels:
        """Every bound label; `rerender` even where the inputs look unchanged, `resend` even
        an image the label already shows (a manager's explicit re-push)."""
        return DirtyLabels("everything", None, priority=priority, force=rerender, resend=resend)


def labels_of_products(engine: Engine, product_ids: Iterable[int], store_id: str) -> list[str]:
    """The labels of `store_id` showing these products (a product belongs to one store, so
    the store only keeps a caller's stray id from reaching another store's shelf)."""
    ids = sorted(product_ids)
    labels: list[str] = []
    with Session(engine) as session:
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            labels.extend(
                session.scalars(
                    select(Label.id).where(Label.product_id.in_(chunk), Label.store_id == store_id)
                )
            )
    return labels


def store_key(key: str, store_id: str) -> str:
    """The schema_meta key of one store's bookmark (many stores share the table)."""
    return f"{key}:{store_id}"


def _comparable(moment: datetime) -> datetime:
    """SQLite hands back naive UTC, PostgreSQL aware: compare them as aware UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _meta_time(session: Session, key: str) -> datetime | None:
    row = session.execute(text("SELECT value FROM schema_meta WHERE key = :k"), {"k": key}).first()
    return datetime.fromisoformat(row[0]) if row else None


def _set_meta_time(engine: Engine, key: str, value: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM schema_meta WHERE key = :k"), {"k": key})
        conn.execute(
            text("INSERT INTO schema_meta (key, value) VALUES (:k, :v)"),
            {"k": key, "v": value.isoformat()},
        )
