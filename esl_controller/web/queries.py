"""The read side shared by dashboard pages and API: counts, filtered pages, histories.

Every list is paged in SQL (LIMIT/OFFSET in a stable order) and every count is an
aggregate, so a store with 50,000 labels never loads them into memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from esl_controller.ads.currency import to_major
from esl_controller.clock import utcnow
from esl_controller.esl import station_health
from esl_controller.models import (
    Advertiser,
    BaseStation,
    Campaign,
    Creative,
    DeadLetter,
    Incident,
    Label,
    MediaAsset,
    OutboxMessage,
    Override,
    Player,
    PlaylistFile,
    Product,
    SyncRun,
    TriggerEvent,
    Zone,
)
from esl_controller.web.store_scope import scoped, scoped_or_chain_wide

LABEL_STATES = ("acked", "pending", "sent", "failed", "unbound")
UNDELIVERED_OUTBOX_STATES = ("pending", "sent")


@dataclass(frozen=True)
class LabelFilters:
    state: str | None = None
    base_station: str | None = None
    template: str | None = None
    q: str | None = None  # text in the label id, product name or GTIN
    new: bool = False  # only labels a station reported that were never linked


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


# A "new" label: reported by a station, never linked, never sent an image. An unlinked
# label that once showed a product has a sequence number and is not new.
IS_NEW_LABEL = and_(Label.state == "unbound", Label.product_id.is_(None), Label.seq == 0)


@dataclass(frozen=True)
class Summary:
    labels_by_state: dict[str, int]
    labels_total: int
    stations_online: int
    stations_offline: int
    outbox_queue: int
    incidents_by_kind: dict[str, int] = field(default_factory=dict)
    labels_new: int = 0

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
                "new": self.labels_new,
            },
            "base_stations": {"online": self.stations_online, "offline": self.stations_offline},
            "outbox_queue": self.outbox_queue,
            "incidents_by_kind": self.incidents_by_kind,
        }


def summary(session: Session, store_id: str | None = None) -> Summary:
    """Counts for one store (`store_id`), or for the whole database when it is None."""
    by_state = dict.fromkeys(LABEL_STATES, 0)
    label_states = scoped(select(Label.state, func.count()), Label, store_id)
    for state, count in session.execute(label_states.group_by(Label.state)):
        by_state[state] = count
    station_states = scoped(select(BaseStation.online, func.count()), BaseStation, store_id)
    online = dict(session.execute(station_states.group_by(BaseStation.online)).all())
    undelivered = (
        select(func.count())
        .select_from(OutboxMessage)
        .join(Label, Label.id == OutboxMessage.label_id)  # a row's store is its label's
        .where(OutboxMessage.state.in_(UNDELIVERED_OUTBOX_STATES))
    )
    queue = session.scalar(scoped(undelivered, Label, store_id))
    return Summary(
        labels_by_state=by_state,
        labels_total=sum(by_state.values()),
        stations_online=online.get(True, 0),
        stations_offline=online.get(False, 0),
        outbox_queue=queue or 0,
        incidents_by_kind=incident_counts(session, store_id),
        labels_new=session.scalar(
            scoped(select(func.count()).select_from(Label).where(IS_NEW_LABEL), Label, store_id)
        )
        or 0,
    )


def incident_counts(session: Session, store_id: str | None = None) -> dict[str, int]:
    counts = scoped_or_chain_wide(
        select(Incident.kind, func.sum(Incident.count)), Incident, store_id
    )
    rows = session.execute(counts.group_by(Incident.kind).order_by(Incident.kind))
    return {kind: int(count) for kind, count in rows}


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
        IS_NEW_LABEL.label("is_new"),
    ).outerjoin(Product, Product.id == Label.product_id)


def _apply_label_filters(query: Select, filters: LabelFilters) -> Select:
    if filters.state:
        query = query.where(Label.state == filters.state)
    if filters.base_station:
        query = query.where(Label.base_station_id == filters.base_station)
    if filters.template:
        query = query.where(Label.template == filters.template)
    if filters.new:
        query = query.where(IS_NEW_LABEL)
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


def list_labels(
    session: Session, filters: LabelFilters, limit: int, offset: int, store_id: str | None = None
) -> Page:
    filtered = scoped(_apply_label_filters(_label_columns(), filters), Label, store_id)
    total = session.scalar(select(func.count()).select_from(filtered.subquery())) or 0
    rows = session.execute(filtered.order_by(Label.id).limit(limit).offset(offset)).mappings()
    return Page(items=[dict(row) for row in rows], total=total, limit=limit, offset=offset)


def label_detail(
    session: Session, label_id: str, store_id: str | None = None
) -> dict[str, Any] | None:
    query = scoped(_label_columns().where(Label.id == label_id), Label, store_id)
    row = session.execute(query).mappings().first()
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


def label_templates_in_use(session: Session, store_id: str | None = None) -> list[str]:
    query = scoped(select(Label.template).distinct(), Label, store_id)
    return list(session.scalars(query.order_by(Label.template)))


# --- base stations and incidents -------------------------------------------------------


def list_base_stations(session: Session, store_id: str | None = None) -> list[dict[str, Any]]:
    label_counts = (
        select(Label.base_station_id, func.count().label("labels"))
        .group_by(Label.base_station_id)
        .subquery()
    )
    query = scoped(
        select(
            BaseStation.id,
            BaseStation.name,
            BaseStation.online,
            BaseStation.last_seen,
            BaseStation.firmware,
            BaseStation.queue_depth,
            BaseStation.driver,
            BaseStation.eta_s,
            func.coalesce(label_counts.c.labels, 0).label("labels"),
        )
        .outerjoin(label_counts, label_counts.c.base_station_id == BaseStation.id)
        .order_by(BaseStation.id),
        BaseStation,
        store_id,
    )
    rows = session.execute(query).mappings()
    return [_with_health(session, dict(row)) for row in rows]


def _with_health(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    health = station_health.load_health(session, row["id"], row["eta_s"])
    progress = health.progress
    row.update(
        pending=health.pending,
        sent=health.sent,
        queue_eta_s=health.eta.seconds,
        eta_source=str(health.eta.source),
        seconds_per_image=health.seconds_per_image,
        progress_done=progress.done if progress else None,
        progress_total=progress.total if progress else None,
        progress_percent=progress.percent if progress else None,
    )
    return row


def base_station_ids(session: Session, store_id: str | None = None) -> list[str]:
    query = scoped(select(BaseStation.id), BaseStation, store_id)
    return list(session.scalars(query.order_by(BaseStation.id)))


def list_incidents(
    session: Session, kind: str | None, limit: int, offset: int, store_id: str | None = None
) -> Page:
    query = scoped_or_chain_wide(
        select(Incident.id, Incident.kind, Incident.subject, Incident.message, Incident.created_at),
        Incident,
        store_id,
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


def list_sync_runs(
    session: Session, status: str | None, limit: int, offset: int, store_id: str | None = None
) -> Page:
    query = scoped_or_chain_wide(select(SyncRun), SyncRun, store_id)
    if status:
        query = query.where(SyncRun.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    runs = session.scalars(query.order_by(SyncRun.id.desc()).limit(limit).offset(offset))
    items = [_sync_run_row(run) for run in runs]
    return Page(items=items, total=total, limit=limit, offset=offset)


def sync_run_detail(
    session: Session, run_id: int, store_id: str | None = None
) -> dict[str, Any] | None:
    """One run; another store's is None, as an unknown one is."""
    run = session.get(SyncRun, run_id)
    if run is None or (store_id is not None and run.store_id not in (None, store_id)):
        return None
    return _sync_run_row(run)


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


# --- signage ---------------------------------------------------------------------------


def active_overrides_by_zone(
    session: Session, now: datetime, store_id: str | None = None
) -> dict[str, list[Override]]:
    """Overrides in force (highest priority first), per zone."""
    active = select(Override).where(Override.state == "active", Override.expires_at > now)
    rows = session.scalars(
        scoped_or_chain_wide(active, Override, store_id).order_by(
            Override.priority.desc(), Override.id.desc()
        )
    )
    by_zone: dict[str, list[Override]] = {}
    for override in rows:
        by_zone.setdefault(override.zone_id, []).append(override)
    return by_zone


def _override_summary(override: Override) -> dict[str, Any]:
    try:
        item = json.loads(override.content).get("id")
    except (ValueError, AttributeError):
        item = None
    return {
        "id": override.id,
        "kind": override.kind,
        "item": item,
        "priority": override.priority,
        "expires_at": override.expires_at,
    }


def list_players(
    session: Session, include_archived: bool = False, store_id: str | None = None
) -> list[dict[str, Any]]:
    """Players by zone, each with the override it should be showing now (if any)."""
    now = utcnow()
    overrides = active_overrides_by_zone(session, now, store_id)
    query = scoped(select(Player).order_by(Player.zone_id, Player.id), Player, store_id)
    if not include_archived:
        query = query.where(Player.archived.is_(False))
    result = []
    for player in session.scalars(query):
        mine = [o for o in overrides.get(player.zone_id, []) if o.player_id in (None, player.id)]
        row = player.model_dump(
            include={
                "id", "name", "zone_id", "online", "last_seen", "now_playing",
                "last_pop_at", "archived",
            }
        )  # fmt: skip
        row["active_override"] = _override_summary(mine[0]) if mine else None
        result.append(row)
    return result


def list_zones(session: Session, store_id: str | None = None) -> list[str]:
    return list(session.scalars(scoped(select(Zone.id), Zone, store_id).order_by(Zone.id)))


def zone_rows(session: Session, store_id: str | None = None) -> list[dict[str, Any]]:
    """Each zone with its name, kind and how many players (not archived) it holds."""
    players = (
        select(Player.zone_id, func.count().label("players"))
        .where(Player.archived.is_(False))
        .group_by(Player.zone_id)
        .subquery()
    )
    query = scoped(
        select(Zone.id, Zone.name, Zone.kind, func.coalesce(players.c.players, 0).label("players"))
        .outerjoin(players, players.c.zone_id == Zone.id)
        .order_by(Zone.id),
        Zone,
        store_id,
    )
    return [dict(row) for row in session.execute(query).mappings()]


def playlist_summary(row: PlaylistFile | None, name: str, on_disk: bool) -> dict[str, Any]:
    status = "not loaded" if row is None else "error" if row.error else "ok"
    return {
        "name": name,
        "status": status,
        "on_disk": on_disk,
        "digest": row.digest if row else None,
        "loaded_at": row.loaded_at if row else None,
        "error": row.error if row else None,
        "error_at": row.error_at if row else None,
    }


def list_playlists(session: Session, file_names: list[str]) -> list[dict[str, Any]]:
    """The files in the playlists folder and every PlaylistFile row, merged by name."""
    rows = {row.name: row for row in session.scalars(select(PlaylistFile))}
    on_disk = set(file_names)
    return [
        playlist_summary(rows.get(name), name, name in on_disk)
        for name in sorted(on_disk | rows.keys())
    ]


def media_url(base_url: str, sha256: str) -> str:
    return f"{base_url.rstrip('/')}/media/{sha256}"


def list_media(session: Session, base_url: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(MediaAsset).order_by(MediaAsset.created_at.desc(), MediaAsset.sha256).limit(limit)
    )
    return [media_row(asset, base_url) for asset in rows]


def media_row(asset: MediaAsset, base_url: str) -> dict[str, Any]:
    row = asset.model_dump()
    row["url"] = media_url(base_url, asset.sha256)
    return row


def list_advertisers(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Advertiser).order_by(Advertiser.name))
    return [row.model_dump(include={"id", "name", "contact_email"}) for row in rows]


def campaign_row(
    campaign: Campaign, advertiser_name: str, creatives: list[Creative]
) -> dict[str, Any]:
    row = campaign.model_dump()
    row["advertiser"] = advertiser_name
    row["cpm"] = str(to_major(campaign.cpm_minor, campaign.currency))
    try:
        row["targeting"] = json.loads(campaign.targeting or "{}")
    except ValueError:
        row["targeting"] = {}
    row["creatives"] = [creative.model_dump() for creative in creatives]
    return row


def list_campaigns(session: Session, include_archived: bool = True) -> list[dict[str, Any]]:
    query = (
        select(Campaign, Advertiser.name)
        .join(Advertiser, Advertiser.id == Campaign.advertiser_id)
        .order_by(Campaign.id.desc())
    )
    if not include_archived:
        query = query.where(Campaign.status != "archived")
    pairs = session.execute(query).all()
    creatives: dict[int, list[Creative]] = {}
    ids = [campaign.id for campaign, _name in pairs]
    if ids:
        for creative in session.scalars(
            select(Creative).where(Creative.campaign_id.in_(ids)).order_by(Creative.id)
        ):
            creatives.setdefault(creative.campaign_id, []).append(creative)
    return [campaign_row(c, name, creatives.get(c.id, [])) for c, name in pairs]


def campaign_detail(session: Session, campaign_id: int) -> dict[str, Any] | None:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    advertiser = session.get(Advertiser, campaign.advertiser_id)
    creatives = list(
        session.scalars(
            select(Creative).where(Creative.campaign_id == campaign_id).order_by(Creative.id)
        )
    )
    return campaign_row(campaign, advertiser.name if advertiser else "", creatives)


@dataclass(frozen=True)
class TriggerFilters:
    outcome: str | None = None
    kind: str | None = None
    zone: str | None = None
    sensor: str | None = None


def list_trigger_events(
    session: Session,
    filters: TriggerFilters,
    limit: int,
    offset: int,
    store_id: str | None = None,
) -> Page:
    query = select(
        TriggerEvent.id,
        TriggerEvent.sensor_id,
        TriggerEvent.kind,
        TriggerEvent.zone_id,
        TriggerEvent.received_at,
        TriggerEvent.occurred_at,
        TriggerEvent.outcome,
        TriggerEvent.reason,
        TriggerEvent.override_id,
    )
    for column, value in (
        (TriggerEvent.outcome, filters.outcome),
        (TriggerEvent.kind, filters.kind),
        (TriggerEvent.zone_id, filters.zone),
        (TriggerEvent.sensor_id, filters.sensor),
    ):
        if value:
            query = query.where(column == value)
    query = scoped_or_chain_wide(query, TriggerEvent, store_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(TriggerEvent.received_at.desc(), TriggerEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    return Page(items=[dict(row) for row in rows], total=total, limit=limit, offset=offset)


def trigger_outcome_counts(
    session: Session, since: datetime, store_id: str | None = None
) -> dict[str, int]:
    """Raw events by outcome since `since` (raw events are kept for the retention only)."""
    counted = select(TriggerEvent.outcome, func.count()).where(TriggerEvent.received_at >= since)
    rows = session.execute(
        scoped_or_chain_wide(counted, TriggerEvent, store_id)
        .group_by(TriggerEvent.outcome)
        .order_by(TriggerEvent.outcome)
    )
    return {outcome: count for outcome, count in rows}


def trigger_counts(session: Session, store_id: str | None = None) -> dict[str, dict[str, int]]:
    now = utcnow()
    return {
        "last_hour": trigger_outcome_counts(session, now - timedelta(hours=1), store_id),
        "last_24h": trigger_outcome_counts(session, now - timedelta(hours=24), store_id),
    }


def recent_overrides(
    session: Session, limit: int = 20, store_id: str | None = None
) -> list[Override]:
    recent = scoped_or_chain_wide(select(Override), Override, store_id)
    return list(session.scalars(recent.order_by(Override.id.desc()).limit(limit)))
