"""A small signage store in the database: a store, zones and players."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Player, Store, Zone


def seed_signage_store(
    engine: Engine, settings: Settings, players: dict[str, str], timezone: str = "UTC"
) -> None:
    """`players`: player id -> zone id; every zone named is created."""
    with session_scope(engine) as session:
        session.add(Store(id=settings.store_id, name="Test", timezone=timezone))
        session.flush()
        for zone in sorted(set(players.values())):
            session.add(Zone(id=zone, store_id=settings.store_id))
        session.flush()
        for player, zone in players.items():
            session.add(Player(id=player, store_id=settings.store_id, zone_id=zone))
