"""Put the demo store into a database: products, history, promotions, stations, labels, a user.

Idempotent: a database that already has the demo store is left as it is, so `make demo`
can be stopped and started again and picks up where it was.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.demo_data import DemoCatalogue, demo_catalogue
from esl_controller.labels.content import LabelContent, build_label_content
from esl_controller.labels.hardware import load_hardware_models
from esl_controller.labels.templates import load_templates
from esl_controller.models import (
    Advertiser,
    BaseStation,
    Campaign,
    Creative,
    Label,
    Player,
    PriceHistory,
    Product,
    Store,
    User,
    Zone,
)
from esl_controller.signage.media import store_media
from esl_controller.sims.erp import PROMOTION_ID_BASE

DEMO_USER = "manager"
DEMO_PASSWORD = "esl-demo"

# (hardware model, template) pairs the demo spreads its labels over: every size and colour
# mode, every template; promo labels go to products with an active promotion.
DEMO_MODELS = (
    "2.9-bwr",
    "2.13-bwr",
    "2.9-bw",
    "4.2-bwr",
    "2.13-bwy",
    "2.9-bwy",
    "4.2-bw",
    "1.54-bwr",
    "7.5-bwr",
    "2.13-bw",
    "4.2-bwy",
)


def station_ids(count: int) -> list[str]:
    return [f"bs-{n:02d}" for n in range(1, count + 1)]


def seed_demo_store(
    engine: Engine,
    store_id: str,
    products: int,
    stations: int,
    settings: Settings | None = None,
) -> list[str]:
    """Seed once; return the base-station ids of the demo store.

    With `settings`, also the signage side: zones, players, and an advertiser whose
    campaign targets shoppers counted by the dairy aisle's camera.
    """
    with session_scope(engine) as session:
        if session.get(Store, store_id) is None:
            _seed(session, demo_catalogue(store_id, n_products=products, now=utcnow()), stations)
            if settings is not None:
                _seed_signage(session, store_id, settings)
        _ensure_demo_user(session)
        return list(
            session.scalars(
                select(BaseStation.id)
                .where(BaseStation.store_id == store_id)
                .order_by(BaseStation.id)
            )
        )


def _seed(session: Session, catalogue: DemoCatalogue, stations: int) -> None:
    store = catalogue.store
    session.add(store)
    session.flush()
    for station in station_ids(stations):
        session.add(BaseStation(id=station, store_id=store.id, name=f"Aisle {station[-2:]}"))
    session.flush()
    product_ids: list[int] = []
    for product in catalogue.products:
        session.add(product)
        session.flush()
        product_ids.append(product.id)
    history_rows = [
        {
            "product_id": product_ids[index],
            "price_minor": point.price_minor,
            "effective_at": point.effective_at,
            "source": "demo",
        }
        for index, points in catalogue.history.items()
        for point in points
    ]
    if history_rows:
        session.execute(insert(PriceHistory), history_rows)
    promoted: set[int] = set()
    # As if the ERP had synced them already: same source and ids the ERP simulator serves,
    # so the first sync recognises them instead of adding duplicates.
    for number, (index, promotion) in enumerate(catalogue.promotions, start=1):
        promotion.product_id = product_ids[index]
        promotion.source = "erp:json"
        promotion.external_id = f"PR-{PROMOTION_ID_BASE + number}"
        promoted.add(index)
        session.add(promotion)
    session.flush()
    for index, product_id in enumerate(product_ids):
        session.add(_demo_label(store.id, index, product_id, index in promoted, stations))


def _demo_label(store_id: str, index: int, product_id: int, promoted: bool, stations: int) -> Label:
    if promoted:
        template = "promo"
    elif index % 7 == 3:
        template = "stock"
    else:
        template = "price"
    models = _models_with_layout(template)
    model = models[index % len(models)]
    return Label(
        id=f"{0xE5100000 + index:08X}",
        store_id=store_id,
        model=model,
        base_station_id=station_ids(stations)[index % stations],
        product_id=product_id,
        template=template,
        state="pending",
    )


# The emulated OpenEPaperLink access point: SoluM M2 tags of three sizes (tag types
# 01 2.9" BWR, 00 1.54" BWR, 02 4.2" BWR), which map to our 2.9-bwr, 1.54-bwr, 4.2-bwr.
DEMO_AP_STATION = "ap-1"
DEMO_AP_MAC_PREFIX = 0x0000A11C
DEMO_AP_TAG_TYPES = (0x01, 0x00, 0x02)
_AP_MODELS = {0x01: "2.9-bwr", 0x00: "1.54-bwr", 0x02: "4.2-bwr"}


def seed_access_point(
    engine: Engine, store_id: str, station_id: str, url: str, macs: list[str]
) -> None:
    """Register the AP at `url` (its port changes every run) and link its tags, i-th
    tag of tag type DEMO_AP_TAG_TYPES[i % 3], to demo products with the price layout."""
    with session_scope(engine) as session:
        station = session.get(BaseStation, station_id)
        if station is None:
            station = BaseStation(
                id=station_id, store_id=store_id, name="Front (OpenEPaperLink)", driver="oepl"
            )
        station.options = json.dumps({"url": url})
        session.add(station)
        session.flush()
        products = list(
            session.scalars(
                select(Product.id).where(Product.store_id == store_id).order_by(Product.id)
            )
        )
        for index, mac in enumerate(macs):
            if session.get(Label, mac) is not None:
                continue
            session.add(
                Label(
                    id=mac,
                    store_id=store_id,
                    model=_AP_MODELS[DEMO_AP_TAG_TYPES[index % len(DEMO_AP_TAG_TYPES)]],
                    base_station_id=station_id,
                    product_id=products[(index * 7) % len(products)],
                    template="price",
                    state="pending",
                )
            )


DEMO_ZONES = ("entrance", "dairy", "electronics", "checkout")
DEMO_PLAYERS = {
    "entrance-01": "entrance",
    "dairy-01": "dairy",
    "dairy-02": "dairy",
    "electronics-01": "electronics",
    "checkout-01": "checkout",
}


def _seed_signage(session: Session, store_id: str, settings: Settings) -> None:
    now = utcnow()
    for zone in DEMO_ZONES:
        session.add(Zone(id=zone, store_id=store_id, name=zone.title()))
    session.flush()
    for player, zone in DEMO_PLAYERS.items():
        session.add(
            Player(
                id=player,
                store_id=store_id,
                zone_id=zone,
                name=f"{zone.title()} screen",
                has_audience_sensor=zone == "dairy",
                declared_audience='{"07:00-10:00": 3.5, "17:00-20:00": 4.0, "*": 2.0}',
            )
        )
    advertiser = Advertiser(name="Lactate Carpați SA", contact_email="media@lactate.invalid")
    session.add(advertiser)
    session.flush()
    campaign = Campaign(
        advertiser_id=advertiser.id,
        name="Iaurt de casă: morning shoppers",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
        cpm_minor=850,
        currency="RON",
        priority=60,
        targeting='{"zones": ["dairy"], "triggers": ["audience"], "audience": {"min_count": 2}}',
        frequency_cap_per_hour=30,
        goal_kind="impressions",
        goal_value=50_000,
    )
    session.add(campaign)
    session.flush()
    image = settings.playlists_dir / "media" / "fresh-dairy.png"
    creative = Creative(campaign_id=campaign.id, name="Fresh dairy", duration_s=8.0)
    if image.is_file():
        asset = store_media(settings, image.read_bytes(), image.name, "image/png", session)
        creative.media_sha256 = asset.sha256
    session.add(creative)


@lru_cache(maxsize=8)
def _models_with_layout(template: str) -> tuple[str, ...]:
    """The demo's hardware models this template has a layout for (not every size has all)."""
    hardware = load_hardware_models()
    sizes = load_templates(models=hardware)[template].layouts
    return tuple(m for m in DEMO_MODELS if hardware[m].size_key in sizes)


def _ensure_demo_user(session: Session) -> None:
    from esl_controller.web.auth import create_user

    exists = session.scalars(select(User).where(User.username == DEMO_USER)).first()
    if exists is None:
        create_user(session, DEMO_USER, DEMO_PASSWORD, "admin")


@lru_cache(maxsize=1)
def _demo_products(store_id: str) -> DemoCatalogue:
    return demo_catalogue(store_id, now=utcnow())


def demo_label_content(store_id: str, gtin: str) -> LabelContent | None:
    """The demo catalogue's content for a GTIN, for previews without a database."""
    catalogue = _demo_products(store_id)
    for index, product in enumerate(catalogue.products):
        if product.gtin == gtin:
            promotions = [promo for i, promo in catalogue.promotions if i == index]
            history = catalogue.history.get(index, [])
            return build_label_content(product, catalogue.store, history, promotions, utcnow())
    return None
