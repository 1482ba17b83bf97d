"""Two stores of a chain on one Odoo, each on its own warehouse: each store's row names its
warehouse, and each store's sync shows that warehouse's stock, through the Odoo stand-in,
the store rules and a real SQLite file."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from esl_controller import stores
from esl_controller.db import session_scope
from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.sync import run_sync
from esl_controller.models import Product

CHEESE = "5940000000011"
COLA = "5940000000028"


def stock_of(engine, store_id: str) -> dict[str, int | None]:
    with Session(engine) as session:
        query = select(Product.gtin, Product.stock).where(Product.store_id == store_id)
        return dict(session.execute(query).all())


def test_each_store_syncs_the_stock_of_its_own_warehouse(engine, odoo_settings, odoo_shop):
    odoo, shop = odoo_shop.odoo, odoo_shop
    environment = odoo_settings  # its warehouse, the environment's default: WH1
    with session_scope(engine) as session:
        stores.add_store(session, "north", stores.StoreChange(name="North"), actor="cli")
        on_wh2 = stores.StoreChange(name="South", odoo_warehouse=shop.other_warehouse)
        stores.add_store(session, "south", on_wh2, actor="cli")

    def sync(store_id: str) -> None:
        with Session(engine) as session:
            store_settings = stores.effective_settings(session, environment, store_id)
        outcome = run_sync(engine, feed_from_settings(store_settings), store_settings)
        assert outcome.status == "succeeded", outcome.error

    sync("north")
    sync("south")
    # build_shop put 12 cheeses and 5 colas in WH1, 30 cheeses and no cola in WH2.
    assert stock_of(engine, "north")[CHEESE] == 12
    assert stock_of(engine, "south")[CHEESE] == 30
    assert (stock_of(engine, "north")[COLA], stock_of(engine, "south")[COLA]) == (5, 0)

    odoo.move(shop.variants["cola"], 8, to=shop.other_stock)  # south receives colas
    sync("north")
    sync("south")
    assert (stock_of(engine, "north")[COLA], stock_of(engine, "south")[COLA]) == (5, 8)
