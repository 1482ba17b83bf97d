"""A small chain on one database: stores beside the seeded one, each with its own station,
labels, product, zone and players, and users who belong to one store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import BaseStation, Label, Player, Product, Store, Zone
from esl_controller.web.auth import create_user, issue_api_token


@dataclass(frozen=True)
class ChainStore:
    id: str
    name: str
    timezone: str
    label_states: tuple[str, ...]  # one label per entry, in this state
    screens_online: int
    screens_offline: int
    gtin: str

    def label_id(self, index: int) -> str:
        return f"{self.id}-L{index}"

    @property
    def station_id(self) -> str:
        return f"{self.id}-bs"

    def player_id(self, index: int) -> str:
        return f"{self.id}-p{index}"


NORTH = ChainStore(
    "north", "North Mall", "Europe/Lisbon", ("acked", "acked", "failed"), 1, 1, "5940000000011"
)
SOUTH = ChainStore(
    "south", "South Station", "America/New_York", ("pending", "acked"), 0, 2, "5940000000028"
)
CHAIN = (NORTH, SOUTH)


def add_chain_stores(engine: Engine, stores: tuple[ChainStore, ...] = CHAIN) -> None:
    now = utcnow()
    with session_scope(engine) as session:
        for store in stores:
            session.add(Store(id=store.id, name=store.name, timezone=store.timezone))
        session.flush()
        for store in stores:
            session.add(BaseStation(id=store.station_id, store_id=store.id, online=True))
            session.add(Zone(id=f"{store.id}-entrance", store_id=store.id, name="Entrance"))
            product = Product(
                store_id=store.id,
                gtin=store.gtin,
                name=f"{store.name} bread",
                price_minor=350,
                currency="EUR",
            )
            session.add(product)
        session.flush()
        for store in stores:
            for index, state in enumerate(store.label_states):
                session.add(
                    Label(
                        id=store.label_id(index),
                        store_id=store.id,
                        model="2.9-bwr",
                        base_station_id=store.station_id,
                        state=state,
                        last_seen=now,
                    )
                )
            screens = [True] * store.screens_online + [False] * store.screens_offline
            for index, online in enumerate(screens):
                session.add(
                    Player(
                        id=store.player_id(index),
                        store_id=store.id,
                        zone_id=f"{store.id}-entrance",
                        online=online,
                    )
                )


def add_store_user(
    engine: Engine, username: str, password: str, role: str, store_id: str | None
) -> str:
    """A user of one store (or head office with `store_id` None); returns their API token."""
    with session_scope(engine) as session:
        create_user(session, username, password, role, store_id=store_id)
        return issue_api_token(session, username)
