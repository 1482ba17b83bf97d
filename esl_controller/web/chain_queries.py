"""The head-office read side: one row of health per store and the chain's totals.

Every figure is one grouped aggregate over the whole chain (never a query per store), so
the page costs the same for three stores or three hundred.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller.esl.station_health import (
    StationHealth,
    StoreDelivery,
    load_all_health,
    store_delivery,
)
from esl_controller.models import BaseStation, Incident, Label, Player, Store, SyncRun
from esl_controller.web.queries import LABEL_STATES

RECENT_INCIDENTS = timedelta(hours=24)


@dataclass
class StoreHealth:
    store_id: str
    name: str
    timezone: str
    labels_by_state: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABEL_STATES, 0))
    stations_online: int = 0
    stations_offline: int = 0
    screens_online: int = 0
    screens_offline: int = 0
    incidents_recent: int = 0
    last_sync_status: str | None = None
    last_sync_at: datetime | None = None
    # what its stations still have to send (a head-office price change, as it goes)
    delivery: StoreDelivery = field(default_factory=lambda: store_delivery(()))

    @property
    def labels_total(self) -> int:
        return sum(self.labels_by_state.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "name": self.name,
            "timezone": self.timezone,
            "labels": {"by_state": self.labels_by_state, "total": self.labels_total},
            "base_stations": {"online": self.stations_online, "offline": self.stations_offline},
            "screens": {"online": self.screens_online, "offline": self.screens_offline},
            "incidents_recent": self.incidents_recent,
            "last_sync": {"status": self.last_sync_status, "at": _iso(self.last_sync_at)},
            "delivery": _delivery_dict(self.delivery),
        }


def _delivery_dict(delivery: StoreDelivery) -> dict[str, Any]:
    progress = delivery.progress
    return {
        "waiting": delivery.waiting,
        "done": progress.done if progress else 0,
        "total": progress.total if progress else 0,
        "percent": progress.percent if progress else 100,
        "eta_s": delivery.eta.seconds,
        "eta_source": str(delivery.eta.source),
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


@dataclass(frozen=True)
class ChainHealth:
    stores: list[StoreHealth]
    stations: list[StationHealth] = field(default_factory=list)  # those with work waiting

    @property
    def totals(self) -> StoreHealth:
        """The chain as one row: every count the sum of the stores' counts."""
        total = StoreHealth(store_id="", name="", timezone="UTC")
        for row in self.stores:
            for state, count in row.labels_by_state.items():
                total.labels_by_state[state] += count
            total.stations_online += row.stations_online
            total.stations_offline += row.stations_offline
            total.screens_online += row.screens_online
            total.screens_offline += row.screens_offline
            total.incidents_recent += row.incidents_recent
        total.delivery = store_delivery(self.stations)
        return total

    def as_dict(self) -> dict[str, Any]:
        totals = self.totals.as_dict()
        for per_store_only in ("store_id", "name", "timezone", "last_sync"):
            totals.pop(per_store_only)
        return {"stores": [row.as_dict() for row in self.stores], "totals": totals}


def chain_health(session: Session, now: datetime) -> ChainHealth:
    """Health of every store, one grouped query per table."""
    stores = {
        store.id: StoreHealth(store.id, store.name, store.timezone)
        for store in session.scalars(select(Store).order_by(Store.name, Store.id))
    }
    by_state = select(Label.store_id, Label.state, func.count()).group_by(
        Label.store_id, Label.state
    )
    for store_id, state, count in session.execute(by_state):
        if store_id in stores:
            stores[store_id].labels_by_state[state] = count
    stations = select(BaseStation.store_id, BaseStation.online, func.count()).group_by(
        BaseStation.store_id, BaseStation.online
    )
    for store_id, online, count in session.execute(stations):
        if store_id in stores:
            row = stores[store_id]
            if online:
                row.stations_online = count
            else:
                row.stations_offline = count
    screens = (
        select(Player.store_id, Player.online, func.count())
        .where(Player.archived.is_(False))
        .group_by(Player.store_id, Player.online)
    )
    for store_id, online, count in session.execute(screens):
        if store_id in stores:
            row = stores[store_id]
            if online:
                row.screens_online = count
            else:
                row.screens_offline = count
    incidents = (
        select(Incident.store_id, func.sum(Incident.count))
        .where(Incident.created_at >= now - RECENT_INCIDENTS)
        .group_by(Incident.store_id)
    )
    for store_id, count in session.execute(incidents):
        if store_id in stores:
            stores[store_id].incidents_recent = int(count or 0)
    newest_runs = select(func.max(SyncRun.id)).group_by(SyncRun.store_id)
    for run in session.scalars(select(SyncRun).where(SyncRun.id.in_(newest_runs))):
        if run.store_id in stores:
            row = stores[run.store_id]
            row.last_sync_status = run.status
            row.last_sync_at = run.finished_at or run.started_at or run.requested_at
    busy: dict[str, list[StationHealth]] = defaultdict(list)
    for store_id, health in load_all_health(session).values():
        if store_id in stores:
            busy[store_id].append(health)
    for store_id, stations_of_store in busy.items():
        stores[store_id].delivery = store_delivery(stations_of_store)
    return ChainHealth(list(stores.values()), [h for hs in busy.values() for h in hs])
