"""Single-store SQLite databases as the app writes them, for importing several stores into
one chain database: each numbers its products, sync runs, overrides and the rest from 1, as
every store does, while its devices (station, labels, zone, screen) have ids of its own.

Each holds a demo catalogue (products, price history, and promotions with the ids head
office's ERP gives every store) with a label per product on the store's own station, two
sync runs (the second a retry of the first, with a refused record), a playlist, a manager
and a buyer of the store's advertiser, a campaign with a creative and a report schedule but
no impressions, a trigger event and the override it caused, the override waiting in the
screen's mailbox, and the audit trail of all that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from esl_controller import audit, db
from esl_controller.clock import utcnow
from esl_controller.demo_data import demo_catalogue
from esl_controller.models import (
    Advertiser,
    BaseStation,
    Campaign,
    Creative,
    Incident,
    Label,
    Override,
    Player,
    PlaylistFile,
    ReportSchedule,
    ScreenCommand,
    SyncRun,
    TriggerEvent,
    Zone,
)
from esl_controller.signage.override_ids import reserve_override_ids_in
from esl_controller.signage.protocol import OverrideCommand, ScreenItem, override_payload
from esl_controller.web.signage_actions import save_campaign
from esl_controller.web.users import add_user
from tests.support.sync_runs import add_failed_run


@dataclass(frozen=True)
class SingleStore:
    id: str
    seed: int  # of its demo catalogue: each store's products, names and prices differ
    products: int = 6

    @property
    def station(self) -> str:
        return f"{self.id}-bs-01"

    def label(self, index: int) -> str:
        return f"{self.id}-L{index:03d}"

    @property
    def zone(self) -> str:
        return f"{self.id}-dairy"

    @property
    def screen(self) -> str:
        return f"{self.id}-dairy-screen"

    @property
    def advertiser(self) -> str:
        return f"Dairy of {self.id}"

    @property
    def manager(self) -> str:
        return f"{self.id}-manager"

    @property
    def buyer(self) -> str:
        return f"{self.id}-buyer"

    @property
    def playlist(self) -> str:
        return f"{self.id}-morning"


def build_single_store_db(path: Path, store: SingleStore) -> Path:
    """Write `store`'s database at `path` (a new file) and return the path."""
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        db.init_db(engine)
        _catalogue_and_labels(engine, store)
        first = add_failed_run(engine, fetched=store.products)
        with db.session_scope(engine) as session:
            session.add(SyncRun(feed="json", trigger="retry", status="succeeded", retry_of=first))
            session.add(Incident(kind="invalid_gtin", subject="5940000000018", message="bad"))
        _signage_and_ads(engine, store)
    finally:
        engine.dispose()
    return path


def _catalogue_and_labels(engine: Engine, store: SingleStore) -> None:
    catalogue = demo_catalogue(store.id, n_products=store.products, seed=store.seed, now=utcnow())
    catalogue.store.name = f"Store {store.id}"
    with db.session_scope(engine) as session:
        session.add(catalogue.store)
        session.flush()
        session.add(BaseStation(id=store.station, store_id=store.id, name="Aisle 1"))
        session.add_all(catalogue.products)
        session.flush()
        ids = [product.id for product in catalogue.products]
        session.add_all(catalogue.history_rows(ids))
        promotions = catalogue.promotion_rows(ids)
        for number, promotion in enumerate(promotions):
            # head office's ERP sends every store the same promotion ids
            promotion.external_id = f"PR-{1001 + number}"
        session.add_all(promotions)
        for index, product_id in enumerate(ids):
            session.add(
                Label(
                    id=store.label(index),
                    store_id=store.id,
                    model="2.9-bwr",
                    base_station_id=store.station,
                    product_id=product_id,
                    state="pending",
                )
            )


def _signage_and_ads(engine: Engine, store: SingleStore) -> None:
    now = utcnow()
    with db.session_scope(engine) as session:
        session.add(Zone(id=store.zone, store_id=store.id, name="Dairy"))
        session.flush()
        session.add(Player(id=store.screen, store_id=store.id, zone_id=store.zone))
        session.add(
            PlaylistFile(name=store.playlist, source=f"name: {store.playlist}\n", digest="d")
        )
        advertiser = Advertiser(name=store.advertiser)
        session.add(advertiser)
        session.flush()
        assert advertiser.id is not None
        campaign = save_campaign(
            session,
            {
                "advertiser_id": advertiser.id,
                "name": f"Yoghurt at {store.id}",
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=30),
                "cpm_minor": 850,
                "currency": "RON",
                "targeting": json.dumps({"zones": [store.zone]}),
            },
            actor=store.manager,
        )
        creative = Creative(campaign_id=campaign.id, name="Yoghurt", duration_s=8.0)
        session.add(creative)
        session.add(ReportSchedule(advertiser_id=advertiser.id, campaign_id=campaign.id))
        add_user(session, "cli", store.manager, "manager-password-1", "manager")
        add_user(session, "cli", store.buyer, "buyer-password-1", "buyer", advertiser.id)
        session.flush()
        trigger = TriggerEvent(store_id=store.id, sensor_id="cam-1", kind="audience")
        session.add(trigger)
        session.flush()
        [override_id] = reserve_override_ids_in(session.connection(), 1)
        item = ScreenItem(id="yoghurt", type="image", duration_s=8.0, media="0" * 64)
        session.add(
            Override(
                id=override_id,
                store_id=store.id,
                zone_id=store.zone,
                content="{}",
                expires_at=now + timedelta(minutes=5),
                trigger_event_id=trigger.id,
                campaign_id=campaign.id,
                creative_id=creative.id,
            )
        )
        trigger.override_id = override_id
        trigger.outcome = "matched"
        command = OverrideCommand(
            override_id=override_id,
            item=item,
            priority=50,
            expires_at=now + timedelta(minutes=5),
            trigger_id=trigger.id,
            campaign_id=campaign.id,
            creative_id=creative.id,
        )
        session.add(
            ScreenCommand(
                store_id=store.id,
                player_id=store.screen,
                kind="override",
                payload=override_payload(command).decode(),
            )
        )
        audit.record(session, actor=store.manager, action="zone.add", target=f"zone:{store.zone}")
        assert session.scalars(select(Campaign.id)).one() == campaign.id
