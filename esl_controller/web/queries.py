"""The read side shared by dashboard pages and API: counts, filtered pages, histories.

Every list is paged in SQL (LIMIT/OFFSET in a stable order) and every count is an
aggregate, so a store with 50,000 labels never loads them into memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.models import (
    BaseStation,
    DeadLetter,
    Incident,
    Label,
    OutboxMessage,
    Product,
    SyncRun,
)

LABEL_STATES = ("acked", "pending", "sent", "failed", "unbound")
UNDELIVERED_OUTBOX_STATES = ("pending", "sent")


@dataclass(frozen=True)
class LabelFilters:
    state: str | None = None
    base_station: str | None = None
    template: str | None = None
    q: str | None = None  # text in the label id, product name or GTIN


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


@dataclass(frozen=True)
class Summary:
    labels_by_state: dict[str, int]
    labels_total: int
    stations_online: int
    stations_offline: int
    outbox_queue: int
    incidents_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def labels_bound(self) -> int:
        return self.labels_total - self.labels_by_state["unbound"]

    @property
    def labels_up_to_date(self) -> int:
        return self.labels_by_state["acked"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "labels": {
                "by_state": self.labels_by_state,
                "total": self.labels_total,
                "bound": self.labels_bound,
                "up_to_date": self.labels_up_to_date,
            },
            "base_stations": {"online": self.stations_online, "offline": self.stations_offline},
            "outbox_queue": self.outbox_queue,
            "incidents_by_kind": self.incidents_by_kind,
        }


def summary(session: Session) -> Summary:
    by_state = dict.fromkeys(LABEL_STATES, 0)
    for state, count in session.execute(select(Label.state, func.count()).group_by(Label.state)):
        by_state[state] = count
    online = dict(
        session.execute(select(BaseStation.online, func.count()).group_by(BaseStation.online)).all()
    )
    queue = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.state.in_(UNDELIVERED_OUTBOX_STATES))
    )
    return Summary(
        labels_by_state=by_state,
        labels_total=sum(by_state.values()),
        stations_online=online.get(True, 0),
        stations_offline=online.get(False, 0),
        outbox_queue=queue or 0,
        incidents_by_kind=incident_counts(session),
    )


def incident_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Incident.kind, func.count()).group_by(Incident.kind).order_by(Incident.kind)
    )
    return {kind: count for kind, count in rows}


# --- labels ----------------------------------------------------------------------------


def _label_columns() -> Select:
    return select(
        Label.id,
        Label.state,
        Label.model,
        Label.template,
        Label.base_station_id,
        Label.product_id,
        Product.gtin,
        Product.name.label("product_name"),
        Label.battery,
        Label.signal,
        Label.temperature,
        Label.last_seen,
        Label.last_error,
        Label.shown_seq,
        Label.seq,
        Label.updated_at,
    ).outerjoin(Product, Product.id == Label.product_id)


def _apply_label_filters(query: Select, filters: LabelFilters) -> Select:
    if filters.state:
        query = query.where(Label.state == filters.state)
    if filters.base_station:
        query = query.where(Label.base_station_id == filters.base_station)
    if filters.template:
        query = query.where(Label.template == filters.template)
    if filters.q:
        pattern = f"%{_escape_like(filters.q)}%"
        query = query.where(
            or_(
                Label.id.ilike(pattern, escape="\\"),
                Product.name.ilike(pattern, escape="\\"),
                Product.gtin.ilike(pattern, escape="\\"),
            )
        )
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_labels(session: Session, filters: LabelFilters, limit: int, offset: int) -> Page:
    filtered = _apply_label_filters(_label_columns(), filters)
    total = session.scalar(select(func.count()).select_from(filtered.subquery())) or 0
    rows = session.execute(filtered.order_by(Label.id).limit(limit).offset(offset)).mappings()
    return Page(items=[dict(row) for row in rows], total=total, limit=limit, offset=offset)


def label_detail(session: Session, label_id: str) -> dict[str, Any] | None:
    row = session.execute(_label_columns().where(Label.id == label_id)).mappings().first()
    return dict(row) if row else None


def label_outbox_history(session: Session, label_id: str, limit: int = 10) -> list[dict]:
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.seq,
            OutboxMessage.priority,
            OutboxMessage.state,
            OutboxMessage.attempts,
            OutboxMessage.reason,
            OutboxMessage.created_at,
            OutboxMessage.done_at,
        )
        .where(OutboxMessage.label_id == label_id)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).mappings()
    return [dict(row) for row in rows]


def label_templates_in_use(session: Session) -> list[str]:
    return list(session.scalars(select(Label.template).distinct().order_by(Label.template)))


# --- base stations and incidents -------------------------------------------------------


def list_base_stations(session: Session) -> list[dict[str, Any]]:
    label_counts = (
        select(Label.base_station_id, func.count().label("labels"))
        .group_by(Label.base_station_id)
        .subquery()
    )
    rows = session.execute(
        select(
            BaseStation.id,
            BaseStation.name,
            BaseStation.online,
            BaseStation.last_seen,
            BaseStation.firmware,
            BaseStation.queue_depth,
            func.coalesce(label_counts.c.labels, 0).label("labels"),
        )
        .outerjoin(label_counts, label_counts.c.base_station_id == BaseStation.id)
        .order_by(BaseStation.id)
    ).mappings()
    return [dict(row) for row in rows]


def base_station_ids(session: Session) -> list[str]:
    return list(session.scalars(select(BaseStation.id).order_by(BaseStation.id)))


def list_incidents(session: Session, kind: str | None, limit: int, offset: int) -> Page:
    query = select(
        Incident.id, Incident.kind, Incident.subject, Incident.message, Incident.created_at
    )
    if kind:
        query = query.where(Incident.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit).offset(offset)
    ).mappings()
    return Page(items=[dict(row) for row in rows], total=total, limit=limit, offset=offset)


# --- ERP sync runs ---------------------------------------------------------------------

SYNC_RUN_STATUSES = ("requested", "running", "succeeded", "failed", "skipped")


def _sync_run_row(run: SyncRun) -> dict[str, Any]:
    row = run.model_dump()
    row["duration_s"] = _duration_s(run)
    return row


def _duration_s(run: SyncRun) -> float | None:
    """Seconds from start to finish; so far, for a run still going."""
    if run.started_at is None:
        return None
    end = run.finished_at or utcnow()
    return round((end - run.started_at).total_seconds(), 1)


def list_sync_runs(session: Session, status: str | None, limit: int, offset: int) -> Page:
    query = select(SyncRun)
    if status:
        query = query.where(SyncRun.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    runs = session.scalars(query.order_by(SyncRun.id.desc()).limit(limit).offset(offset))
    items = [_sync_run_row(run) for run in runs]
    return Page(items=items, total=total, limit=limit, offset=offset)


def sync_run_detail(session: Session, run_id: int) -> dict[str, Any] | None:
    run = session.get(SyncRun, run_id)
    return _sync_run_row(run) if run else None


def list_dead_letters(session: Session, run_id: int, limit: int, offset: int) -> Page:
    query = select(
        DeadLetter.id,
        DeadLetter.kind,
        DeadLetter.record_key,
        DeadLetter.field,
        DeadLetter.reason,
        DeadLetter.raw,
        DeadLetter.created_at,
    ).where(DeadLetter.run_id == run_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(DeadLetter.id).limit(limit).offset(offset)).mappings()
    return Page(items=[dict(row) for row in rows], total=total, limit=limit, offset=offset)
