"""The devices registered in the store database, for the ACL and passwd generator."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.models import BaseStation, Player, User
from esl_controller.web.auth import SENSOR_ROLE


def registered_devices(session: Session, store: str) -> dict[str, list[str]]:
    """Base stations and (not archived) players of `store`, and the sensor accounts."""
    stations = session.scalars(select(BaseStation.id).where(BaseStation.store_id == store))
    players = session.scalars(
        select(Player.id).where(Player.store_id == store, Player.archived.is_(False))
    )
    sensors = session.scalars(select(User.username).where(User.role == SENSOR_ROLE))
    return {"stations": list(stations), "players": list(players), "sensors": list(sensors)}
