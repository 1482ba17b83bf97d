"""A chain of three stores on one database, with chain campaigns, for the chain tests.

Each store has a dairy and an entrance zone (zone ids unique across the chain, kinds
shared: "dairy", "entrance") and a screen in each. Advertiser "Dairy Co" runs a campaign in
every store's dairy zones and one limited to the first two stores; "Coffee Co" runs one
everywhere. Plays go in through the real ingest, so billing follows the real rules.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from esl_controller.ads.ingest import IngestResult, PlayIngestor
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Advertiser, Campaign, Creative, Player, Store, Zone
from esl_controller.web.auth import create_user, issue_api_token

# store id -> (name, time zone); the last one is in another time zone on purpose.
CHAIN_STORES = {
    "buc-centre": ("Bucharest Centre", "Europe/Bucharest"),
    "buc-north": ("Bucharest North", "Europe/Bucharest"),
    "london": ("London Soho", "Europe/London"),
}
CREATIVE_S = 10.0
BUYER = ("dairy-buyer", "dairy-password-1")  # a buyer of Dairy Co


@dataclass(frozen=True)
class ChainWorld:
    stores: tuple[str, ...]
    advertiser_id: int
    other_advertiser_id: int
    dairy_campaign_id: int  # every store, dairy zones only
    two_store_campaign_id: int  # the first two stores, any zone
    other_campaign_id: int  # another advertiser's, every store
    creatives: dict[int, int]  # campaign id -> its creative id

    def dairy_screen(self, store: str) -> str:
        return f"{store}-dairy-screen"

    def entrance_screen(self, store: str) -> str:
        return f"{store}-entrance-screen"


def seed_chain(engine: Engine, now: datetime | None = None) -> ChainWorld:
    now = now or utcnow()
    with session_scope(engine) as session:
        for store_id, (name, tz) in CHAIN_STORES.items():
            session.add(Store(id=store_id, name=name, timezone=tz, currency="RON"))
        session.flush()
        for store_id in CHAIN_STORES:
            session.add_all(
                [
                    Zone(id=f"{store_id}-dairy", store_id=store_id, name="Dairy"),
                    Zone(id=f"{store_id}-entrance", store_id=store_id, name="Entrance"),
                ]
            )
        session.flush()
        for store_id in CHAIN_STORES:
            for kind in ("dairy", "entrance"):
                session.add(
                    Player(
                        id=f"{store_id}-{kind}-screen",
                        store_id=store_id,
                        zone_id=f"{store_id}-{kind}",
                        name=f"{CHAIN_STORES[store_id][0]} {kind}",
                        declared_audience=json.dumps({"*": 2.5}),
                    )
                )
        dairy_co, coffee_co = Advertiser(name="Dairy Co"), Advertiser(name="Coffee Co")
        session.add_all([dairy_co, coffee_co])
        session.flush()
        first_two = sorted(CHAIN_STORES)[:2]
        campaigns = [
            _campaign(dairy_co.id, "Milk chain-wide", now, {"zone_kinds": ["dairy"]}, 1237),
            _campaign(dairy_co.id, "Milk two stores", now, {"stores": first_two}, 999),
            _campaign(coffee_co.id, "Espresso chain-wide", now, {}, 801),
        ]
        session.add_all(campaigns)
        session.flush()
        creatives = {}
        for campaign in campaigns:
            creative = Creative(campaign_id=campaign.id, name="10 s", duration_s=CREATIVE_S)
            session.add(creative)
            session.flush()
            creatives[campaign.id] = creative.id
        return ChainWorld(
            stores=tuple(sorted(CHAIN_STORES)),
            advertiser_id=dairy_co.id,
            other_advertiser_id=coffee_co.id,
            dairy_campaign_id=campaigns[0].id,
            two_store_campaign_id=campaigns[1].id,
            other_campaign_id=campaigns[2].id,
            creatives=creatives,
        )


def _campaign(
    advertiser_id: int, name: str, now: datetime, targeting: dict, cpm_minor: int
) -> Campaign:
    return Campaign(
        advertiser_id=advertiser_id,
        name=name,
        starts_at=now - timedelta(days=5),
        ends_at=now + timedelta(days=5),
        cpm_minor=cpm_minor,
        currency="RON",
        targeting=json.dumps(targeting),
    )


def pop(
    world: ChainWorld, player: str, campaign_id: int, started: datetime, seconds: float = 9.5
) -> dict:
    """A proof of play in the wire shape, with the player's UTC offset."""
    return {
        "play_id": str(uuid.uuid4()),
        "player": player,
        "item": "milk",
        "campaign_id": campaign_id,
        "creative_id": world.creatives[campaign_id],
        "override_id": None,
        "trigger_id": None,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(seconds=seconds)).isoformat(),
    }


def play_everywhere(
    engine: Engine,
    settings: Settings,
    world: ChainWorld,
    campaign_id: int,
    plays_per_store: dict[str, int],
    *,
    start: datetime,
    players: str = "dairy",
) -> IngestResult:
    """`plays_per_store[store]` plays of the campaign on each store's dairy (or entrance)
    screen, 20 s apart from `start`, ingested as one trusted batch."""
    pops = []
    for store, count in plays_per_store.items():
        player = world.dairy_screen(store) if players == "dairy" else world.entrance_screen(store)
        pops += [
            pop(world, player, campaign_id, start + timedelta(seconds=20 * n)) for n in range(count)
        ]
    return PlayIngestor(engine, settings).ingest(pops, "test")


def add_buyer(engine: Engine, world: ChainWorld) -> str:
    """The Dairy Co buyer (`BUYER`); returns its API token."""
    with session_scope(engine) as session:
        create_user(session, *BUYER, "buyer", world.advertiser_id)
        return issue_api_token(session, BUYER[0])
