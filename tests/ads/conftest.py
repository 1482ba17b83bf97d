"""Fixtures for the proof-of-play tests: a store with zones, players (one with an audience
sensor), an advertiser with a campaign and its creatives, and a builder of pop documents in
the wire shape players send (`/tmp/issue4.md`: player local time with its offset)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Advertiser, Campaign, Creative, Player, Store, Zone

STORE_TZ = "Europe/Bucharest"
# The players' local offset in the pop messages (Bucharest in winter): +02:00.
PLAYER_OFFSET = timezone(timedelta(hours=2))


@dataclass(frozen=True)
class AdsWorld:
    campaign_id: int
    other_campaign_id: int
    creative_id: int
    second_creative_id: int
    advertiser_id: int
    declared_player: str  # no sensor; declared 2.0 all day, 3.5 in the morning
    sensor_player: str  # audience sensor in zone "dairy"
    cpm_minor: int


@pytest.fixture
def ads_world(engine: Engine, settings: Settings) -> AdsWorld:
    now = utcnow()
    with session_scope(engine) as session:
        store = session.get(Store, settings.store_id)  # the web tests' seed may have made it
        if store is None:
            store = Store(id=settings.store_id, name="Test store")
        store.timezone = STORE_TZ
        session.add(store)
        session.flush()
        session.add_all(
            [
                Zone(id="entrance", store_id=settings.store_id, name="Entrance"),
                Zone(id="dairy", store_id=settings.store_id, name="Dairy"),
            ]
        )
        session.flush()
        session.add_all(
            [
                Player(
                    id="screen-01",
                    store_id=settings.store_id,
                    zone_id="entrance",
                    name="Entrance left",
                    declared_audience=json.dumps({"07:00-10:00": 3.5, "*": 2.0}),
                ),
                Player(
                    id="screen-02",
                    store_id=settings.store_id,
                    zone_id="dairy",
                    name="Dairy end cap",
                    has_audience_sensor=True,
                    declared_audience=json.dumps({"*": 1.5}),
                ),
            ]
        )
        advertiser = Advertiser(name="Dairy Co")
        other = Advertiser(name="Coffee Co")
        session.add_all([advertiser, other])
        session.flush()
        campaign = Campaign(
            advertiser_id=advertiser.id,
            name="Milk winter",
            starts_at=now - timedelta(days=200),
            ends_at=now + timedelta(days=30),
            cpm_minor=1250,
            currency="RON",
        )
        other_campaign = Campaign(
            advertiser_id=other.id,
            name="Espresso",
            starts_at=now - timedelta(days=10),
            ends_at=now + timedelta(days=30),
            cpm_minor=900,
            currency="RON",
        )
        session.add_all([campaign, other_campaign])
        session.flush()
        creative = Creative(campaign_id=campaign.id, name="Milk 10s")
        second = Creative(campaign_id=campaign.id, name="Milk 15s", duration_s=15)
        session.add_all([creative, second])
        session.flush()
        return AdsWorld(
            campaign_id=campaign.id,
            other_campaign_id=other_campaign.id,
            creative_id=creative.id,
            second_creative_id=second.id,
            advertiser_id=advertiser.id,
            declared_player="screen-01",
            sensor_player="screen-02",
            cpm_minor=campaign.cpm_minor,
        )


PopFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def make_pop(ads_world: AdsWorld) -> PopFactory:
    """`make_pop(started=<aware dt>, seconds=10, player=..., campaign=...)` -> a pop dict.

    Without `started`, plays follow each other 15 s apart from an hour ago: a screen shows
    one thing at a time, and overlapping plays are billed once."""
    next_start = [utcnow() - timedelta(hours=1)]

    def make(
        started: datetime | None = None,
        seconds: float = 10.0,
        *,
        player: str | None = None,
        campaign: int | str | None = "default",
        creative: int | str | None = "default",
        play_id: str | None = None,
        offset: timezone = PLAYER_OFFSET,
    ) -> dict[str, Any]:
        if started is None:
            started = next_start[0]
            next_start[0] += timedelta(seconds=15)
        start = started.astimezone(offset)
        return {
            "play_id": play_id or str(uuid.uuid4()),
            "player": player or ads_world.declared_player,
            "item": "milk",
            "campaign_id": ads_world.campaign_id if campaign == "default" else campaign,
            "creative_id": ads_world.creative_id if creative == "default" else creative,
            "override_id": None,
            "trigger_id": None,
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(seconds=seconds)).isoformat(),
        }

    return make


@pytest.fixture(params=["sqlite", "postgresql"])
def chain_engine(request: pytest.FixtureRequest) -> Engine:
    """One database for a chain of stores: the SQLite file, then the local PostgreSQL."""
    return request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")
