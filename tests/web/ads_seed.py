"""Test fixture for the reports tests: two advertisers with a campaign each, a buyer of
the first with an API token, and five chained impressions in March 2026."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Advertiser, Campaign, Player, Zone
from esl_controller.web.auth import create_user, issue_api_token
from tests.ads.billing_log import Billed, append_impressions
from tests.web.conftest import Seed

FLIGHT_START = datetime(2026, 3, 1, tzinfo=UTC)
FLIGHT_END = datetime(2026, 4, 1, tzinfo=UTC)
BUYER = ("dairy-buyer", "dairy-password-1")


@dataclass(frozen=True)
class Ads:
    campaign_id: int
    other_campaign_id: int
    advertiser_id: int
    buyer_token: str


@pytest.fixture(name="ads")
def ads_fixture(engine: Engine, seed: Seed, settings: Settings) -> Ads:
    with session_scope(engine) as session:
        # The screens that played, in the seeded store: revenue counts a store's screens.
        if session.get(Zone, "ads-dairy") is None:
            session.add(Zone(id="ads-dairy", store_id=settings.store_id, name="Dairy"))
            session.flush()
        for player in ("s1", "s2"):
            if session.get(Player, player) is None:
                session.add(
                    Player(
                        id=player,
                        store_id=settings.store_id,
                        zone_id="ads-dairy",
                        name=f"Screen {player}",
                    )
                )
        dairy, coffee = Advertiser(name="Dairy Co"), Advertiser(name="Coffee Co")
        session.add_all([dairy, coffee])
        session.flush()
        milk = Campaign(
            advertiser_id=dairy.id,
            name="Milk spring",
            starts_at=FLIGHT_START,
            ends_at=FLIGHT_END,
            cpm_minor=1250,
            currency="RON",
            goal_kind="plays",
            goal_value=10,
        )
        espresso = Campaign(
            advertiser_id=coffee.id,
            name="Espresso",
            starts_at=FLIGHT_START,
            ends_at=FLIGHT_END,
            cpm_minor=900,
            currency="RON",
        )
        session.add_all([milk, espresso])
        session.flush()
        create_user(session, *BUYER, "buyer", advertiser_id=dairy.id)
        token = issue_api_token(session, BUYER[0])
        ids = (milk.id, espresso.id, dairy.id, coffee.id)
    plays = [
        Billed(
            started_at=FLIGHT_START + timedelta(days=day, hours=hour),
            campaign_id=ids[0],
            advertiser_id=ids[2],
            player_id=player,
            player_name=f"Screen {player}",
            campaign_name="Milk spring",
            multiplier_milli=2500,
            cpm_minor=1250,
        )
        for day, hour, player in ((0, 9, "s1"), (0, 10, "s2"), (1, 9, "s1"), (5, 12, "s2"))
    ]
    plays.append(
        Billed(
            started_at=FLIGHT_START + timedelta(days=1),
            campaign_id=ids[1],
            advertiser_id=ids[3],
            player_id="s1",
            campaign_name="Espresso",
            cpm_minor=900,
        )
    )
    append_impressions(engine, plays)
    return Ads(ids[0], ids[1], ids[2], token)
