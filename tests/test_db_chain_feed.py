"""Schema step 18 (one ERP feed for a chain) on both databases: a version-17 database's
stores gain a feed scope and an Odoo warehouse, left to the environment (None), and its
sync runs a count of other stores' records, 0 for the runs it already has."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, Table, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from esl_controller import db, stores
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.models import Store, SyncRun

STEP_18_COLUMNS = {
    "store": {"erp_feed_scope", "odoo_warehouse"},
    "sync_run": {"other_stores"},
}


def _create_version_17(engine: Engine) -> None:
    """The tables as step 17 left them: today's, without step 18's columns."""
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS schema_meta"))
    old = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        dropped = STEP_18_COLUMNS.get(table.name, set())
        columns: list[Column] = [c._copy() for c in table.columns if c.name not in dropped]
        Table(table.name, old, *columns)
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(text("INSERT INTO schema_meta (key, value) VALUES ('schema_version', '17')"))
        conn.execute(  # as step 2 made it: one row per feed and promotion id, chain-wide
            text(
                "CREATE UNIQUE INDEX uq_promotion_source_external ON promotion "
                "(source, external_id)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO store (id, name, locale, currency, timezone, erp_feed_url) "
                "VALUES ('north', 'North', 'ro_RO', 'RON', 'UTC', 'http://erp/north')"
            )
        )
        conn.execute(
            text(
                'INSERT INTO sync_run (store_id, feed, trigger, status, requested_at, "full", '
                "pages_done, fetched, changed, unchanged, rejected, delisted, labels_rendered, "
                "labels_queued, takeovers) VALUES ('north', 'json', 'schedule', 'succeeded', "
                ":now, true, 1, 4, 3, 1, 0, 0, 0, 0, 0)"
            ),
            {"now": utcnow()},
        )


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def _step_18_on(engine: Engine) -> None:
    _create_version_17(engine)
    assert not STEP_18_COLUMNS["store"] & _columns(engine, "store")
    assert db.init_db(engine) == db.SCHEMA_VERSION == 18
    for table, columns in STEP_18_COLUMNS.items():
        assert columns <= _columns(engine, table), table
    indexes = {index["name"] for index in inspect(engine).get_indexes("promotion")}
    assert "uq_promotion_source_external_product" in indexes
    assert "uq_promotion_source_external" not in indexes
    _two_stores_hold_one_promotion_id(engine)
    with Session(engine) as session:
        north = session.get(Store, "north")
        assert (north.erp_feed_url, north.erp_feed_scope, north.odoo_warehouse) == (
            "http://erp/north",
            None,
            None,
        )
        run = session.exec(select(SyncRun)).one()
        assert (run.fetched, run.other_stores) == (4, 0)
        # The new columns take what the store commands write, and the worker reads them.
        change = stores.StoreChange(erp_feed_scope="chain", odoo_warehouse=2**40)
        stores.update_store(session, "north", change, actor="cli")
        session.commit()
    with Session(engine) as session:
        effective = stores.effective_settings(session, Settings(), "north")
    assert (effective.erp_feed_scope, effective.odoo_warehouse) == ("chain", 2**40)


def _two_stores_hold_one_promotion_id(engine: Engine) -> None:
    """Head office's promotion PR-1 in two stores: two rows, where step 2's index refused
    the second."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO store (id, name, locale, currency, timezone) "
                "VALUES ('south', 'South', 'ro_RO', 'RON', 'UTC')"
            )
        )
        for number, store in enumerate(("north", "south"), start=1):
            conn.execute(
                text(
                    "INSERT INTO product (id, store_id, gtin, name, brand, price_minor, "
                    "currency, unit, status, low_stock_threshold, updated_at) VALUES (:id, "
                    ":store, '5940000000011', 'Telemea', '', 1299, 'RON', 'piece', 'active', "
                    "5, :now)"
                ),
                {"id": number, "store": store, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO promotion (product_id, price_minor, starts_at, ends_at, "
                    "source, external_id) VALUES (:id, 999, :now, :now, 'erp:json', 'PR-1')"
                ),
                {"id": number, "now": now},
            )
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM promotion WHERE external_id = 'PR-1'"))
        assert count.scalar() == 2


def test_step_18_upgrades_sqlite(engine: Engine) -> None:
    _step_18_on(engine)


def test_step_18_upgrades_postgresql(pg_engine: Engine) -> None:
    _step_18_on(pg_engine)
    kinds = {c["name"]: type(c["type"]).__name__ for c in inspect(pg_engine).get_columns("store")}
    assert kinds["odoo_warehouse"] == "BIGINT"  # 64-bit, as every other integer column


def _step_18_twice_on(engine: Engine) -> None:
    """A database wound back to 17 after step 18 (as the other schema tests do) goes
    through it again without adding a column twice or losing a value."""
    _create_version_17(engine)
    db.init_db(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE store SET erp_feed_scope = 'chain', odoo_warehouse = 7"))
        conn.execute(text("UPDATE schema_meta SET value = '17' WHERE key = 'schema_version'"))
    assert db.init_db(engine) == db.SCHEMA_VERSION
    with Session(engine) as session:
        north = session.get(Store, "north")
        assert (north.erp_feed_scope, north.odoo_warehouse) == ("chain", 7)


def test_step_18_runs_twice_on_sqlite(engine: Engine) -> None:
    _step_18_twice_on(engine)


def test_step_18_runs_twice_on_postgresql(pg_engine: Engine) -> None:
    _step_18_twice_on(pg_engine)
