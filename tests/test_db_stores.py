"""Schema step 17 (stores of a chain) on both databases: a version-13 database gains a
store column on every per-store table, filled from the row's label, zone or player or the
database's single store, and the worker's lease and bookmarks become that store's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Column, Integer, MetaData, Table, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from esl_controller import db
from esl_controller.clock import utcnow

NEW_COLUMNS = {table: {"store_id"} for table in db._V17_STORE_OF} | {
    "store": {"erp_feed_url", "delisting_ratio", "erp_feed_scope", "odoo_warehouse"},  # +18
    "zone": {"kind"},  # step 15
    "user": {"store_id"},  # step 16
}
NEW_COLUMNS["sync_run"] = NEW_COLUMNS["sync_run"] | {"other_stores"}  # step 18


def _create_version_13(engine: Engine) -> None:
    """The tables as the release before steps 14-17 created them."""
    old = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        dropped = NEW_COLUMNS.get(table.name, set())
        columns: list[Column] = [
            # a fresh PostgreSQL database got a 32-bit CRC column until step 14
            Column("crc32", Integer) if (table.name, c.name) == ("outbox", "crc32") else c._copy()
            for c in table.columns
            if c.name not in dropped
        ]
        Table(table.name, old, *columns)
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(text("INSERT INTO schema_meta (key, value) VALUES ('schema_version', '13')"))


def _seed(engine: Engine, stores: list[str]) -> None:
    now = utcnow()
    with engine.begin() as conn:
        for store in stores:
            conn.execute(
                text(
                    "INSERT INTO store (id, name, locale, currency, timezone) "
                    "VALUES (:s, :s, 'ro_RO', 'RON', 'Europe/Bucharest')"
                ),
                {"s": store},
            )
            conn.execute(
                text(
                    "INSERT INTO base_station (id, store_id, name, online, firmware, queue_depth, "
                    "driver, options) VALUES (:b, :s, '', false, '', 0, 'mqtt', '{}')"
                ),
                {"b": f"bs-{store}", "s": store},
            )
            conn.execute(
                text(
                    "INSERT INTO label (id, store_id, model, base_station_id, template, state, "
                    "seq, shown_seq, updated_at) VALUES (:l, :s, '2.9-bwr', :b, 'price', "
                    "'pending', 1, 0, :now)"
                ),
                {"l": f"L-{store}", "s": store, "b": f"bs-{store}", "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO outbox (label_id, base_station_id, kind, seq, priority, payload, "
                    "params, state, attempts, next_attempt_at, created_at) VALUES (:l, :b, "
                    "'image', 1, 0, :p, '{}', 'pending', 0, :now, :now)"
                ),
                {"l": f"L-{store}", "b": f"bs-{store}", "p": b"planes", "now": now},
            )
            conn.execute(
                text("INSERT INTO zone (id, store_id, name) VALUES (:z, :s, '')"),
                {"z": f"dairy-{store}", "s": store},
            )
            conn.execute(
                text(
                    "INSERT INTO player (id, store_id, zone_id, name, width, height, online, "
                    "has_audience_sensor, declared_audience, archived) VALUES (:p, :s, :z, '', "
                    "1920, 1080, false, false, '{}', false)"
                ),
                {"p": f"screen-{store}", "s": store, "z": f"dairy-{store}"},
            )
            conn.execute(
                text(
                    "INSERT INTO play (play_id, player_id, zone_id, item_id, started_at, "
                    "ended_at, local_offset_minutes, received_at) VALUES (:id, :p, :z, 'ad', "
                    ":start, :now, 0, :now)"
                ),
                {
                    "id": f"play-{store}",
                    "p": f"screen-{store}",
                    "z": f"dairy-{store}",
                    "start": now - timedelta(seconds=10),
                    "now": now,
                },
            )
        conn.execute(
            text(
                'INSERT INTO sync_run (feed, trigger, status, requested_at, "full", pages_done, '
                "fetched, changed, unchanged, rejected, delisted, labels_rendered, "
                "labels_queued, takeovers) VALUES ('json', 'schedule', 'succeeded', :now, true, "
                "1, 0, 0, 0, 0, 0, 0, 0, 0)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO incident (kind, subject, message, created_at, count) "
                "VALUES ('unknown_label', 'L-x', 'seen', :now, 1)"
            ),
            {"now": now},
        )
        for key in ("worker_lease", "refresh_watermark"):
            conn.execute(
                text("INSERT INTO schema_meta (key, value) VALUES (:k, :v)"),
                {"k": key, "v": f"{key}-value"},
            )


def _column(engine: Engine, sql: str) -> list:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).scalars())


def _step_17_on(engine: Engine) -> None:
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS schema_meta"))
    _create_version_13(engine)
    _seed(engine, ["s1"])
    assert db.init_db(engine) == db.SCHEMA_VERSION
    for table, columns in NEW_COLUMNS.items():
        assert columns <= {c["name"] for c in inspect(engine).get_columns(table)}, table
    for table in ("outbox", "play", "sync_run", "incident"):
        assert _column(engine, f"SELECT store_id FROM {table}") == ["s1"], table
    assert _column(engine, "SELECT erp_feed_url FROM store") == [None]
    keys = set(_column(engine, "SELECT key FROM schema_meta"))
    assert {"worker_lease:s1", "refresh_watermark:s1"} <= keys
    assert not keys & {"worker_lease", "refresh_watermark"}
    indexes = {index["name"] for index in inspect(engine).get_indexes("outbox")}
    assert "ix_outbox_store_id" in indexes
    with engine.begin() as conn:  # a CRC32 past 2**31, as half of all images have
        conn.execute(text("UPDATE outbox SET crc32 = 4173090064"))
    assert _column(engine, "SELECT crc32 FROM outbox") == [4173090064]


def test_step_17_upgrades_sqlite(engine: Engine) -> None:
    _step_17_on(engine)


def test_step_17_upgrades_postgresql(pg_engine: Engine) -> None:
    _step_17_on(pg_engine)


def test_step_17_finds_each_row_its_store_through_its_label_or_player(engine: Engine) -> None:
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS schema_meta"))
    _create_version_13(engine)
    _seed(engine, ["north", "south"])
    db.init_db(engine)
    assert sorted(_column(engine, "SELECT store_id FROM outbox")) == ["north", "south"]
    with engine.connect() as conn:
        plays = dict(conn.execute(text("SELECT play_id, store_id FROM play")).all())
    assert plays == {"play-north": "north", "play-south": "south"}
    # Nothing to join through and no single store: left for a person to say, not guessed.
    assert _column(engine, "SELECT store_id FROM sync_run") == [None]


def _step_17_twice_on(engine: Engine) -> None:
    """A database wound back past step 17 (as the people test does) goes through it again
    without doubling a key or a constraint."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO store (id, name, locale, currency, timezone) VALUES ('s1', 's1', "
                "'ro_RO', 'RON', 'UTC')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO feed_state (key, store_id, updated_at) "
                "VALUES ('s1/json:products', 's1', :now)"
            ),
            {"now": utcnow()},
        )
        conn.execute(text("UPDATE schema_meta SET value = '13' WHERE key = 'schema_version'"))
    assert db.init_db(engine) == db.SCHEMA_VERSION
    assert _column(engine, "SELECT key FROM feed_state") == ["s1/json:products"]


def test_step_17_runs_twice_on_sqlite(engine: Engine) -> None:
    _step_17_twice_on(engine)


def test_step_17_runs_twice_on_postgresql(pg_engine: Engine) -> None:
    _step_17_twice_on(pg_engine)
