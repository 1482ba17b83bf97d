"""Builders for a chain database that already holds a store, and readers that compare one
store's rows between two databases."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from esl_controller.db import session_scope
from esl_controller.models import BaseStation, Label, MediaAsset, Player, Store, Zone
from esl_controller.store_import.tables import imported_tables


def add_store_with_devices(
    engine: Engine,
    store_id: str,
    *,
    station: str = "bs-hq-01",
    labels: Iterable[str] = ("L-HQ-0001",),
    shared_media: MediaAsset | None = None,
) -> None:
    """A store set up at head office: a station with labels (no catalogue yet), a zone and
    a screen; optionally a media file it shares with the store being imported."""
    with session_scope(engine) as session:
        session.add(Store(id=store_id, name=f"Store {store_id}", currency="RON"))
        session.flush()
        session.add(BaseStation(id=station, store_id=store_id, name="Front"))
        session.add(Zone(id=f"zone-{store_id}", store_id=store_id, name="Front"))
        session.flush()
        for label in labels:
            session.add(
                Label(id=label, store_id=store_id, model="2.9-bwr", base_station_id=station)
            )
        session.add(Player(id=f"screen-{store_id}", store_id=store_id, zone_id=f"zone-{store_id}"))
        if shared_media is not None:
            session.add(MediaAsset(**shared_media.model_dump()))


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.scalar(select(func.count()).select_from(table)) or 0
            for table in imported_tables()
        }


def rows_of(
    engine: Engine,
    model: type[SQLModel],
    order: Any,
    *where: Any,
    leave_out: Iterable[str] = (),
) -> list[dict]:
    """Every column (but those to `leave_out`) of the rows of `model` that match `where`, in
    `order` (a column, or a tuple of them)."""
    with Session(engine) as session:
        query = (
            select(model).where(*where).order_by(*(order if isinstance(order, tuple) else (order,)))
        )
        return [row.model_dump(exclude=set(leave_out)) for row in session.scalars(query)]
