"""A store with labels a station has reported and products to link them to."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from esl_controller import db
from esl_controller.config import Settings
from esl_controller.models import BaseStation, Label, Product, Store

GTINS = ("5901234123457", "4006381333931", "9780201379624")


def seed_unlinked_store(engine: Engine, settings: Settings, labels: int = 5) -> list[str]:
    """`labels` new labels (state unbound, never shown anything) and three products."""
    with db.session_scope(engine) as s:
        s.add(Store(id=settings.store_id, name="Test store", locale="ro_RO", currency="RON"))
        s.flush()
        s.add(BaseStation(id="bs-1", store_id=settings.store_id))
        for n, gtin in enumerate(GTINS):
            s.add(
                Product(
                    store_id=settings.store_id,
                    gtin=gtin,
                    name=f"Product {n}",
                    net_quantity=400,
                    unit="g",
                    price_minor=1000 + n,
                    currency="RON",
                )
            )
        s.flush()
        ids = [f"NEW-{n}" for n in range(labels)]
        for label_id in ids:
            s.add(
                Label(
                    id=label_id, store_id=settings.store_id, model="2.9-bwr", base_station_id="bs-1"
                )
            )
    return ids
