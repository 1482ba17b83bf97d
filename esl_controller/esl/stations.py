"""Registering base stations: what the CLI, the dashboard and the API share.

These run in any process and only write rows; the worker's link reconciliation picks the
change up within seconds. A station's options are checked by its own driver, so adding
a kind of station needs no change here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.esl.registry import DriverContext, UnknownDriver, driver_class, driver_names
from esl_controller.models import BaseStation, Label, OutboxMessage
from esl_controller.topic_levels import TopicLevelError, validate_id


class StationError(ValueError):
    """A request about a station that cannot be carried out; the message is for people."""


def validated_options(settings: Settings, driver: str, options: Mapping[str, Any]) -> dict:
    try:
        cls = driver_class(driver)
    except UnknownDriver as exc:
        raise StationError(str(exc)) from None
    try:
        return cls(DriverContext(settings)).validate_options(dict(options))
    except ValueError as exc:
        raise StationError(f"{driver} station: {exc}") from None


def add_station(
    session: Session,
    settings: Settings,
    station_id: str,
    driver: str,
    options: Mapping[str, Any] | None = None,
    name: str = "",
) -> BaseStation:
    try:
        validate_id("base station", station_id)
    except TopicLevelError as exc:
        raise StationError(str(exc)) from None
    existing = session.get(BaseStation, station_id)
    if existing is not None:
        # Station ids are unique across the chain: say whose it is.
        raise StationError(
            f"base station {station_id!r} already exists in store {existing.store_id!r}"
        )
    checked = validated_options(settings, driver, options or {})
    station = BaseStation(
        id=station_id,
        store_id=settings.store_id,
        name=name[:120],
        driver=driver,
        options=json.dumps(checked, sort_keys=True),
    )
    session.add(station)
    session.commit()
    return station


def rename_station(session: Session, settings: Settings, station_id: str, name: str) -> BaseStation:
    station = _station(session, settings, station_id)
    station.name = name[:120]
    session.add(station)
    session.commit()
    return station


def remove_station(session: Session, settings: Settings, station_id: str) -> None:
    """Only a station without labels: its labels must move first (or be removed)."""
    station = _station(session, settings, station_id)
    labels = session.scalar(
        select(func.count()).select_from(Label).where(Label.base_station_id == station_id)
    )
    if labels:
        raise StationError(
            f"base station {station_id!r} still has {labels} labels; move or remove them first"
        )
    for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.base_station_id == station_id)
    ):
        session.delete(row)
    session.delete(station)
    session.commit()


def _station(session: Session, settings: Settings, station_id: str) -> BaseStation:
    station = session.get(BaseStation, station_id)
    if station is None or station.store_id != settings.store_id:
        raise LookupError(f"unknown base station {station_id!r}")
    return station


def known_drivers() -> list[str]:
    return driver_names()
