"""Bring labels up to date: catalogue rows -> content -> render pool -> outbox.

The shell around the pure renderer. It reads a chunk of labels with everything their
content needs (`labels.catalogue_slice`), renders them in the pool, and queues the images
(which skips any image the label already shows or has queued). Each chunk commits on its
own, so the dispatcher starts sending the first labels while later ones are still
rendering, and a crash mid-way keeps what was queued.

Each label is judged alone: a label whose content, fingerprint or image cannot be made is
marked with its reason and every other label goes on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.catalogue.prior_price import FakeDiscount
from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.esl.outbox import Priority, QueuedImage, queue_images
from esl_controller.labels.catalogue_slice import mark_label_problem, render_jobs
from esl_controller.labels.content import content_fingerprint
from esl_controller.labels.render_pool import RenderJob, RenderPool
from esl_controller.models import Label

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
    fake_discount: FakeDiscount = FakeDiscount.PLAIN,
    store_id: str | None = None,
) -> RefreshReport:
    """Render and queue the given labels (when None: all bound labels of `store_id`, or
    of the whole database without one).

    Labels whose render inputs are unchanged are skipped unless `force`; an image equal
    to what the label shows or has queued is not sent again unless `resend` (a manager's
    explicit re-push: the radio is the bottleneck).
    """
    with Session(engine) as session:
        ids = list(label_ids) if label_ids is not None else _bound_label_ids(session, store_id)
    report = RefreshReport()
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        report.add(
            _refresh_chunk(
                engine, pool, chunk, priority, force, resend, delisted_template, fake_discount
            )
        )
        if progress:
            progress(min(start + chunk_size, len(ids)), len(ids))
    return report


def _bound_label_ids(session: Session, store_id: str | None) -> list[str]:
    query = select(Label.id).where(Label.product_id.is_not(None))
    if store_id is not None:
        query = query.where(Label.store_id == store_id)
    return list(session.scalars(query.order_by(Label.id)))


def _refresh_chunk(
    engine: Engine,
    pool: RenderPool,
    label_ids: Sequence[str],
    priority: int,
    force: bool,
    resend: bool,
    delisted_template: str,
    fake_discount: FakeDiscount,
) -> RefreshReport:
    report = RefreshReport(considered=len(label_ids))
    now = utcnow()
    with session_scope(engine) as session:
        candidates = render_jobs(
            session, label_ids, now, report.errors, delisted_template, fake_discount
        )
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
            mark_label_problem(session, label_id, kind, error or "render failed", report.errors)
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
            mark_label_problem(session, job.label_id, "content_error", message, report.errors)
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
