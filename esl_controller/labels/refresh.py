"""Bring labels up to date: catalogue rows -> content -> render pool -> outbox.

This is the shell around the pure renderer. It reads a chunk of labels with everything
their content needs, renders them in the pool, and queues the images (which skips any
image the label already shows or has queued). Each chunk commits on its own, so the
dispatcher starts sending the first labels while later ones are still rendering, and a
crash mid-way keeps what was queued.

Each label is judged alone: whatever goes wrong building one label's content, fingerprint
or image marks that label (`last_error`, an incident of its kind) and every other label
goes on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.esl.outbox import Priority, QueuedImage, queue_images
from esl_controller.incidents import record_incident
from esl_controller.labels.content import (
    LabelContent,
    build_label_content,
    content_fingerprint,
)
from esl_controller.labels.render_pool import RenderJob, RenderPool
from esl_controller.models import Label, PriceHistory, Product, Promotion, Store

log = logging.getLogger(__name__)

PRIOR_PRICE_WINDOW = timedelta(days=30)

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class RefreshReport:
    considered: int = 0
    rendered: int = 0
    queued: int = 0
    unchanged: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: RefreshReport) -> None:
        self.considered += other.considered
        self.rendered += other.rendered
        self.queued += other.queued
        self.unchanged += other.unchanged
        for kind, count in other.errors.items():
            self.errors[kind] += count


def refresh_labels(
    engine: Engine,
    pool: RenderPool,
    *,
    label_ids: Sequence[str] | None = None,
    priority: int = Priority.ROUTINE,
    force: bool = False,
    resend: bool = False,
    progress: Progress | None = None,
    chunk_size: int = 1000,
    delisted_template: str = "not_for_sale",
) -> RefreshReport:
    """Render and queue the given labels (all bound labels when None).

    Labels whose render inputs are unchanged are skipped unless `force`; an image equal
    to what the label shows or has queued is not sent again unless `resend` (a manager's
    explicit re-push: the radio is the bottleneck).
    """
    with Session(engine) as session:
        ids = list(label_ids) if label_ids is not None else _bound_label_ids(session)
    report = RefreshReport()
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        report.add(_refresh_chunk(engine, pool, chunk, priority, force, resend, delisted_template))
        if progress:
            progress(min(start + chunk_size, len(ids)), len(ids))
    return report


def _bound_label_ids(session: Session) -> list[str]:
    return list(
        session.scalars(select(Label.id).where(Label.product_id.is_not(None)).order_by(Label.id))
    )


def _refresh_chunk(
    engine: Engine,
    pool: RenderPool,
    label_ids: Sequence[str],
    priority: int,
    force: bool,
    resend: bool,
    delisted_template: str,
) -> RefreshReport:
    report = RefreshReport(considered=len(label_ids))
    now = utcnow()
    with session_scope(engine) as session:
        candidates = _jobs_for(session, label_ids, now, report, delisted_template)
        jobs, fingerprints = _fresh_jobs(session, candidates, pool, force, report)
    queued: list[QueuedImage] = []
    failures: list[tuple[str, str, str]] = []
    for outcome in pool.encode_all(jobs):
        if outcome.encoded is None:
            failures.append((outcome.label_id, outcome.error_kind or "render_error", outcome.error))
            fingerprints.pop(outcome.label_id, None)  # retried when its inputs change
            continue
        report.rendered += 1
        queued.append(QueuedImage(outcome.label_id, outcome.encoded, priority, resend))
    with session_scope(engine) as session:
        for label_id, kind, error in failures:
            _label_problem(session, label_id, kind, error or "render failed", report)
        report.queued = queue_images(session, queued)
        _store_fingerprints(session, fingerprints)
    report.unchanged += report.rendered - report.queued
    return report


def _fresh_jobs(
    session: Session,
    candidates: Iterable[RenderJob],
    pool: RenderPool,
    force: bool,
    report: RefreshReport,
) -> tuple[list[RenderJob], dict[str, str]]:
    """The jobs whose inputs changed since their last render, and their new fingerprints.

    The fingerprint covers the content, template, hardware model and the template files
    themselves, so an unchanged label costs a hash instead of a render.
    """
    candidates = list(candidates)
    previous = dict(
        session.execute(
            select(Label.id, Label.render_fingerprint).where(
                Label.id.in_([job.label_id for job in candidates])
            )
        ).all()
    )
    jobs, fingerprints = [], {}
    for job in candidates:
        try:
            fingerprint = content_fingerprint(job.content, job.template, job.model)
        except Exception as exc:  # one label's odd content must not stop the chunk
            message = f"cannot fingerprint its content: {type(exc).__name__}: {exc}"
            _label_problem(session, job.label_id, "content_error", message, report)
            continue
        fingerprint = f"{fingerprint}:{pool.templates_digest}"
        if not force and previous.get(job.label_id) == fingerprint:
            report.unchanged += 1
            continue
        jobs.append(job)
        fingerprints[job.label_id] = fingerprint
    return jobs, fingerprints


def _store_fingerprints(session: Session, fingerprints: dict[str, str]) -> None:
    if fingerprints:
        session.connection().execute(
            update(Label.__table__)
            .where(Label.__table__.c.id == bindparam("b_id"))
            .values(render_fingerprint=bindparam("b_fp")),
            [{"b_id": label_id, "b_fp": fp} for label_id, fp in fingerprints.items()],
        )


class LabelProblem(ValueError):
    """Why a label cannot be rendered; `kind` is the incident kind the manager sees."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _jobs_for(
    session: Session,
    label_ids: Sequence[str],
    now: datetime,
    report: RefreshReport,
    delisted_template: str = "not_for_sale",
) -> Iterable[RenderJob]:
    labels = session.scalars(select(Label).where(Label.id.in_(label_ids))).all()
    for missing in sorted(set(label_ids) - {label.id for label in labels}):
        report.errors["unknown_label"] += 1
        record_incident(session, "unknown_label", missing, "refresh asked for an unknown label")
    catalogue = CatalogueSlice.load(session, labels, now, delisted_template)
    for label in labels:
        try:
            yield catalogue.job_for(label)
        except LabelProblem as problem:
            _label_problem(session, label.id, problem.kind, str(problem), report)
        except Exception as exc:  # e.g. a unit price out of range: this label only
            message = f"cannot build its content: {type(exc).__name__}: {exc}"
            _label_problem(session, label.id, "content_error", message, report)


@dataclass
class CatalogueSlice:
    """Everything the content of a set of labels depends on, loaded in a few queries."""

    now: datetime
    products: dict[int, Product]
    stores: dict[str, Store]
    promotions: dict[int, list[Promotion]]
    history: dict[int, list[PriceHistory]]
    delisted_template: str = "not_for_sale"

    @classmethod
    def load(
        cls,
        session: Session,
        labels: Sequence[Label],
        now: datetime,
        delisted_template: str = "not_for_sale",
    ) -> CatalogueSlice:
        products = _by_id(session, Product, {lb.product_id for lb in labels if lb.product_id})
        promotions = _promotions_by_product(session, products.keys(), now)
        return cls(
            now=now,
            products=products,
            stores={store.id: store for store in session.scalars(select(Store)).all()},
            promotions=promotions,
            history=_history_by_product(session, promotions.keys()),
            delisted_template=delisted_template,
        )

    def job_for(self, label: Label) -> RenderJob:
        if label.product_id is None:
            raise LabelProblem("unbound_label", "label is not bound to a product")
        product = self.products.get(label.product_id)
        if product is None:
            raise LabelProblem(
                "unknown_product", f"bound to product {label.product_id}, which does not exist"
            )
        try:
            validate_gtin(product.gtin)
        except InvalidGTIN as exc:
            raise LabelProblem(
                "invalid_gtin", f"product {product.name!r} has GTIN {product.gtin!r}: {exc}"
            ) from exc
        content = _content(
            product, self.stores.get(product.store_id), self.history, self.promotions, self.now
        )
        # A delisted product's label says so instead of showing a stale price.
        template = self.delisted_template if product.status == "delisted" else label.template
        return RenderJob(label.id, template, label.model, content)


def _content(
    product: Product,
    store: Store | None,
    history: dict[int, list[PriceHistory]],
    promotions: dict[int, list[Promotion]],
    now: datetime,
) -> LabelContent:
    store = store or Store(id=product.store_id, name=product.store_id)
    return build_label_content(
        product, store, history.get(product.id, []), promotions.get(product.id, []), now
    )


def _by_id(session: Session, model: type, ids: set) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids))).all()}


def _promotions_by_product(
    session: Session, product_ids: Iterable[int], now: datetime
) -> dict[int, list[Promotion]]:
    ids = list(product_ids)
    result: dict[int, list[Promotion]] = defaultdict(list)
    if not ids:
        return result
    rows = session.scalars(
        select(Promotion).where(
            Promotion.product_id.in_(ids),
            Promotion.starts_at <= now,
            # earlier promotions inside the 30-day window count for the prior-price rule
            Promotion.ends_at > now - PRIOR_PRICE_WINDOW,
        )
    )
    for promo in rows:
        result[promo.product_id].append(promo)
    return result


def _history_by_product(
    session: Session, product_ids: Iterable[int]
) -> dict[int, list[PriceHistory]]:
    """Price history only where a promotion needs the prior-price rule: keeps chunks light."""
    ids = list(product_ids)
    result: dict[int, list[PriceHistory]] = defaultdict(list)
    if not ids:
        return result
    rows = session.scalars(
        select(PriceHistory)
        .where(PriceHistory.product_id.in_(ids))
        .order_by(PriceHistory.effective_at)
    )
    for point in rows:
        result[point.product_id].append(point)
    return result


def _label_problem(
    session: Session, label_id: str, kind: str, message: str, report: RefreshReport
) -> None:
    report.errors[kind] += 1
    record_incident(session, kind, label_id, message)
    session.execute(update(Label).where(Label.id == label_id).values(last_error=message))
