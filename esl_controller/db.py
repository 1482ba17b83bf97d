"""Engine, sessions and the versioned schema.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the web processes
can read while the worker writes. PostgreSQL works through ESL_DATABASE_URL.

The schema carries an explicit version in `schema_meta`. A fresh database is created at
SCHEMA_VERSION; an older one is brought forward step by step by MIGRATIONS; a newer one
(written by a later release) is refused rather than misread. Integer columns are BIGINT
on PostgreSQL (models: `_integers_are_64_bit`); a step adding one in SQL says BIGINT too.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine

from esl_controller import models
from esl_controller.config import Settings
from esl_controller.schema_history import v7_minor_units

SCHEMA_VERSION = 18


def _v2_erp_sync(conn: Connection) -> None:
    """ERP sync: run log, dead letters, feed watermarks; product listing dates; render
    fingerprints; promotions keyed by their ERP id."""
    SQLModel.metadata.create_all(
        conn,
        tables=[
            models.SyncRun.__table__,
            models.DeadLetter.__table__,
            models.FeedState.__table__,
        ],
    )
    timestamp = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    for table, column, sql_type in (
        ("product", "listed_at", timestamp),
        ("product", "delisted_at", timestamp),
        ("product", "erp_modified_at", timestamp),
        ("promotion", "external_id", "VARCHAR"),
        ("label", "render_fingerprint", "VARCHAR"),
    ):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
    conn.execute(
        text("CREATE UNIQUE INDEX uq_promotion_source_external ON promotion (source, external_id)")
    )


def _v3_signage(conn: Connection) -> None:
    """Signage: zones, players, playlists, media, advertisers, campaigns, creatives,
    overrides and trigger events (new tables only)."""
    SQLModel.metadata.create_all(
        conn,
        tables=[
            models.Zone.__table__,
            models.Player.__table__,
            models.PlaylistFile.__table__,
            models.MediaAsset.__table__,
            models.Advertiser.__table__,
            models.Campaign.__table__,
            models.Creative.__table__,
            models.Override.__table__,
            models.TriggerEvent.__table__,
            models.TriggerAggregate.__table__,
        ],
    )


def _v4_proof_of_play(conn: Connection) -> None:
    """Proof of play: plays, the hash-chained impression log, hourly roll-ups, rejected
    plays, report schedules and deliveries; buyers are users tied to an advertiser."""
    SQLModel.metadata.create_all(
        conn,
        tables=[
            models.Play.__table__,
            models.Impression.__table__,
            models.ImpressionHourly.__table__,
            models.RejectedPlay.__table__,
            models.ReportSchedule.__table__,
            models.ReportDelivery.__table__,
        ],
    )
    conn.execute(text('ALTER TABLE "user" ADD COLUMN advertiser_id INTEGER'))


def _v5_impression_hour_totals(conn: Connection) -> None:
    """Live hourly impression totals, filled from the raw log and the roll-ups so far."""
    SQLModel.metadata.create_all(conn, tables=[models.ImpressionHourTotal.__table__])
    fill_impression_hour_totals(conn)


def _v6_station_drivers(conn: Connection) -> None:
    """Base stations name their driver; the outbox keeps rendered planes, not MQTT frames;
    labels keep access-point telemetry."""
    timestamp = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    for table, column, sql_type in (
        ("base_station", "driver", "VARCHAR NOT NULL DEFAULT 'mqtt'"),
        ("base_station", "options", "VARCHAR NOT NULL DEFAULT '{}'"),
        ("base_station", "eta_s", "FLOAT"),
        ("label", "battery_mv", "INTEGER"),
        ("label", "lqi", "INTEGER"),
        ("label", "next_checkin", timestamp),
        ("outbox", "width", "INTEGER"),
        ("outbox", "height", "INTEGER"),
        ("outbox", "colour_mode", "VARCHAR"),
        ("outbox", "crc32", "BIGINT"),
        ("outbox", "params", "VARCHAR NOT NULL DEFAULT '{}'"),
        ("incident", "count", "INTEGER NOT NULL DEFAULT 1"),
    ):
        # Only what is missing: a database another branch of history already gave a
        # column (or a test that winds the version back) keeps it.
        if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
    _v6_rewrite_outbox_rows(conn)


_V5_HEADER = struct.Struct(">4sBBBBHHIII")
_V5_MODES = ("BW", "BWR", "BWY")


def _v6_rewrite_outbox_rows(conn: Connection) -> None:
    """Until schema 5 an image row held the 24-byte ESLF frame (header + zlib planes) and an
    LED or page row its JSON message; read those layouts here once, with their own constants."""
    rows = conn.execute(text("SELECT id, kind, payload FROM outbox")).all()
    for row_id, kind, payload in rows:
        payload = bytes(payload)
        if kind == "image":
            if len(payload) < _V5_HEADER.size or payload[:4] != b"ESLF":
                continue  # never written by schema 5; left for the dispatcher to refuse
            _, _, mode, _, _, width, height, _, crc, _ = _V5_HEADER.unpack_from(payload)
            conn.execute(
                text(
                    "UPDATE outbox SET payload = :planes, width = :w, height = :h, "
                    "colour_mode = :mode, crc32 = :crc WHERE id = :id"
                ),
                {
                    "planes": payload[_V5_HEADER.size :],
                    "w": width,
                    "h": height,
                    "mode": _V5_MODES[mode] if mode < len(_V5_MODES) else "BW",
                    "crc": crc,
                    "id": row_id,
                },
            )
        else:
            try:
                message = json.loads(payload)
            except ValueError:
                continue
            params = {k: v for k, v in message.items() if k != "seq"}
            conn.execute(
                text("UPDATE outbox SET payload = :empty, params = :params WHERE id = :id"),
                {"empty": b"", "params": json.dumps(params), "id": row_id},
            )


def _v7_minor_units_and_checkpoints(conn: Connection) -> None:
    """CPMs and spend in each currency's minor unit, the impression chain re-hashed at v2,
    the table of signed chain checkpoints, and report deliveries that keep their body."""
    SQLModel.metadata.create_all(conn, tables=[models.ImpressionCheckpoint.__table__])
    blob = "BYTEA" if conn.dialect.name == "postgresql" else "BLOB"
    # A database that reached v4 in this release already made the table with these columns.
    present = {column["name"] for column in inspect(conn).get_columns("report_delivery")}
    for column, sql_type in (
        ("body", blob),
        ("body_content_type", "VARCHAR NOT NULL DEFAULT ''"),
        ("body_filename", "VARCHAR NOT NULL DEFAULT ''"),
    ):
        if column not in present:
            conn.execute(text(f"ALTER TABLE report_delivery ADD COLUMN {column} {sql_type}"))
    v7_minor_units.migrate(conn, fill_impression_hour_totals)


def _v8_sync_trust(conn: Connection) -> None:
    """ERP sync runs name their lock holder and count takeovers; per-page ETags."""
    SQLModel.metadata.create_all(conn, tables=[models.FeedPageState.__table__])
    # A database that came through step 2 already has them: it creates sync_run as the
    # models describe it today.
    present = {column["name"] for column in inspect(conn).get_columns("sync_run")}
    for column, sql_type in (("holder", "VARCHAR"), ("takeovers", "INTEGER NOT NULL DEFAULT 0")):
        if column not in present:
            conn.execute(text(f"ALTER TABLE sync_run ADD COLUMN {column} {sql_type}"))


def _v9_trigger_rate_windows(conn: Connection) -> None:
    """Per-sensor rate-limit windows for triggers posted over HTTP, counted in the database
    so every web process sees the same count."""
    SQLModel.metadata.create_all(conn, tables=[models.TriggerRateWindow.__table__])


def _v10_audit_trail(conn: Connection) -> None:
    """The audit trail of who changed what (new table only)."""
    SQLModel.metadata.create_all(conn, tables=[models.AuditEntry.__table__])


def _v11_people(conn: Connection) -> None:
    """People: users can be disabled and logged out everywhere (a session epoch); failed
    logins are counted per username and per client address."""
    SQLModel.metadata.create_all(conn, tables=[models.LoginFailureWindow.__table__])
    # "user" is a reserved word in PostgreSQL, so the table name is quoted.
    present = {column["name"] for column in inspect(conn).get_columns("user")}
    for column, sql_type in (
        ("disabled", "BOOLEAN NOT NULL DEFAULT FALSE"),
        ("session_epoch", "INTEGER NOT NULL DEFAULT 0"),
    ):
        if column not in present:
            conn.execute(text(f'ALTER TABLE "user" ADD COLUMN {column} {sql_type}'))


def _v12_product_name_index(conn: Connection) -> None:
    """The catalogue page lists products by name within a store: an index, not a sort."""
    for index in models.Product.__table__.indexes:
        if index.name == "ix_product_store_name":
            index.create(conn, checkfirst=True)


def _v13_browser_screens(conn: Connection) -> None:
    """The browser player's mailboxes, pairings and health (new tables only)."""
    tables = [
        models.ScreenCommand.__table__,
        models.ScreenReport.__table__,
        models.ScreenPairing.__table__,
        models.ScreenHealth.__table__,
    ]
    SQLModel.metadata.create_all(conn, tables=tables)


def _v14_integers_64_bit(conn: Connection) -> None:
    """PostgreSQL databases made before this step hold 32-bit INTEGER columns and serial
    sequences (SQLite's integers were 64-bit all along). One ALTER per table, so each table
    is rewritten once."""
    if conn.dialect.name != "postgresql":
        return
    inspector = inspect(conn)
    for table in SQLModel.metadata.sorted_tables:
        live = {column["name"]: column["type"] for column in inspector.get_columns(table.name)}
        narrow = [
            column.name
            for column in table.columns
            if column.name in live and type(live[column.name]).__name__ == "INTEGER"
        ]
        if not narrow:
            continue
        widen = ", ".join(f'ALTER COLUMN "{name}" TYPE BIGINT' for name in narrow)
        conn.execute(text(f'ALTER TABLE "{table.name}" {widen}'))
        for name in narrow:
            sequence = conn.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": f'"{table.name}"', "column": name},
            ).scalar()
            if sequence:
                conn.execute(text(f"ALTER SEQUENCE {sequence} AS BIGINT"))


def _v15_zone_kinds(conn: Connection) -> None:
    """Chain campaigns: a zone kind shared across stores ("dairy"), each existing zone's
    from the slug of its name (or id)."""
    present = {column["name"] for column in inspect(conn).get_columns("zone")}
    if "kind" not in present:
        conn.execute(text("ALTER TABLE zone ADD COLUMN kind VARCHAR NOT NULL DEFAULT ''"))
    for zone_id, name in conn.execute(text("SELECT id, name FROM zone WHERE kind = ''")).all():
        conn.execute(
            text("UPDATE zone SET kind = :kind WHERE id = :id"),
            {"kind": models.zone_kind_from_name(name or zone_id), "id": zone_id},
        )
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_zone_kind ON zone (kind)"))


def _v16_user_store(conn: Connection) -> None:
    """Users belong to one store or (NULL) to head office, which sees every store."""
    present = {column["name"] for column in inspect(conn).get_columns("user")}
    if "store_id" not in present:
        # SQLite adds a column with a foreign key only when its default is NULL, as here.
        conn.execute(text('ALTER TABLE "user" ADD COLUMN store_id VARCHAR REFERENCES store (id)'))
    conn.execute(text('CREATE INDEX IF NOT EXISTS ix_user_store_id ON "user" (store_id)'))


# Per-store tables that had no store column until step 17, each with the query that finds
# the store of a row through what it belongs to (None: nothing to join through).
_V17_STORE_OF: dict[str, str | None] = {
    "outbox": "SELECT store_id FROM label WHERE label.id = outbox.label_id",
    "sync_run": None,
    "dead_letter": None,
    "feed_state": None,
    "feed_page_state": None,
    "incident": None,
    "override": "SELECT store_id FROM zone WHERE zone.id = override.zone_id",
    "play": "SELECT store_id FROM player WHERE player.id = play.player_id",
    "rejected_play": "SELECT store_id FROM player WHERE player.id = rejected_play.player_id",
    "trigger_event": "SELECT store_id FROM zone WHERE zone.id = trigger_event.zone_id",
    "trigger_aggregate": "SELECT store_id FROM zone WHERE zone.id = trigger_aggregate.zone_id",
    "trigger_rate_window": None,
    "screen_health": "SELECT store_id FROM player WHERE player.id = screen_health.player_id",
    "screen_pairing": "SELECT store_id FROM player WHERE player.id = screen_pairing.player_id",
    "audit_entry": None,
}
# Leases and bookmarks in schema_meta that belonged to the one store of the database.
_V17_STORE_KEYS = ("worker_lease", "sync_lock", "refresh_watermark", "promotions_checked_until")


def _v17_trigger_aggregate_per_store(conn: Connection) -> None:
    """Hourly trigger counts are unique per store. Only PostgreSQL needs it (a chain); a
    SQLite database holds one store and keeps its constraint, which SQLite cannot drop."""
    old = ["hour", "zone_id", "kind", "outcome"]
    constraints = inspect(conn).get_unique_constraints("trigger_aggregate")
    for constraint in constraints:
        if constraint["column_names"] == old and constraint["name"]:
            conn.execute(
                text(f'ALTER TABLE trigger_aggregate DROP CONSTRAINT "{constraint["name"]}"')
            )
    if any(c["column_names"] == ["store_id", *old] for c in constraints):
        return  # created at this version already, or the step ran before
    conn.execute(
        text(
            "ALTER TABLE trigger_aggregate ADD CONSTRAINT "
            "trigger_aggregate_store_id_hour_zone_id_kind_outcome_key "
            "UNIQUE (store_id, hour, zone_id, kind, outcome)"
        )
    )


def _v17_stores(conn: Connection) -> None:
    """A chain on one database: every per-store table names its store (found through the
    row's label, zone or player, otherwise the database's single store), stores carry their
    own ERP feed and delisting guard, and the worker's lease and bookmarks are per store."""
    present = {column["name"] for column in inspect(conn).get_columns("store")}
    for column, sql_type in (("erp_feed_url", "VARCHAR"), ("delisting_ratio", "FLOAT")):
        if column not in present:
            conn.execute(text(f"ALTER TABLE store ADD COLUMN {column} {sql_type}"))
    stores = conn.execute(text("SELECT id FROM store")).scalars().all()
    only_store = stores[0] if len(stores) == 1 else None
    for table, store_of in _V17_STORE_OF.items():
        if "store_id" not in {column["name"] for column in inspect(conn).get_columns(table)}:
            conn.execute(
                text(f"ALTER TABLE {table} ADD COLUMN store_id VARCHAR REFERENCES store (id)")
            )
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{table}_store_id ON {table} (store_id)"))
        if store_of:
            conn.execute(text(f"UPDATE {table} SET store_id = ({store_of}) WHERE store_id IS NULL"))
        if only_store is not None:
            conn.execute(
                text(f"UPDATE {table} SET store_id = :store WHERE store_id IS NULL"),
                {"store": only_store},
            )
    # Feed watermarks and page ETags are keyed by store too (stores may read feeds of one
    # name); `||` concatenates on both databases.
    for table in ("feed_state", "feed_page_state"):
        conn.execute(
            text(
                f"UPDATE {table} SET key = store_id || '/' || key WHERE store_id IS NOT NULL "
                "AND substr(key, 1, length(store_id) + 1) <> store_id || '/'"
            )
        )
    if conn.dialect.name == "postgresql":
        _v17_trigger_aggregate_per_store(conn)
    if only_store is not None:
        for key in _V17_STORE_KEYS:
            conn.execute(
                text("UPDATE schema_meta SET key = :scoped WHERE key = :key"),
                {"key": key, "scoped": f"{key}:{only_store}"},
            )


def _v18_chain_feed(conn: Connection) -> None:
    """A store reads head office's one feed or its own (`erp_feed_scope`) and may name its
    Odoo warehouse; a sync run counts the chain feed's records of other stores it passed
    over; a promotion id is unique per product, so stores may share one. Integers are
    64-bit on PostgreSQL, as step 14 made every other one."""
    integer = "BIGINT" if conn.dialect.name == "postgresql" else "INTEGER"
    additions = {
        "store": (("erp_feed_scope", "VARCHAR"), ("odoo_warehouse", integer)),
        "sync_run": (("other_stores", f"{integer} NOT NULL DEFAULT 0"),),
    }
    for table, columns in additions.items():
        present = {column["name"] for column in inspect(conn).get_columns(table)}
        for column, sql_type in columns:
            if column not in present:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
    # Stores may be sent one promotion id (head office's): unique per product, not per feed.
    conn.execute(text("DROP INDEX IF EXISTS uq_promotion_source_external"))
    conn.execute(
        text(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_promotion_source_external_product "
            "ON promotion (source, external_id, product_id)"
        )
    )


# version reached -> step that brings a database from (version - 1) to it
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    2: _v2_erp_sync,
    3: _v3_signage,
    4: _v4_proof_of_play,
    5: _v5_impression_hour_totals,
    6: _v6_station_drivers,
    7: _v7_minor_units_and_checkpoints,
    8: _v8_sync_trust,
    9: _v9_trigger_rate_windows,
    10: _v10_audit_trail,
    11: _v11_people,
    12: _v12_product_name_index,
    13: _v13_browser_screens,
    14: _v14_integers_64_bit,
    15: _v15_zone_kinds,
    16: _v16_user_store,
    17: _v17_stores,
    18: _v18_chain_feed,
}


class SchemaError(RuntimeError):
    """The database was written by a release this one cannot read."""


def make_engine(
    url: str, pool_size: int = 5, max_overflow: int = 5, pool_timeout_s: float = 30.0
) -> Engine:
    """An engine for `url`; on a server database at most `pool_size + max_overflow`
    connections, and a caller past that waits (up to `pool_timeout_s`) instead of opening
    more."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    pool: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "pool_timeout": pool_timeout_s,
    }
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgresql+psycopg://"):
        # A chain's database is across a network: a connect or a query on a link that died
        # without a word must fail within seconds (then the caller waits and retries), not
        # hang for the operating system's two-hour TCP timeout.
        return create_engine(url, **pool, connect_args=POSTGRES_CONNECT_ARGS)
    return create_engine(url, **pool)


POSTGRES_CONNECT_ARGS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 15,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


def is_database_unavailable(error: BaseException) -> bool:
    """The database could not be reached or did not answer (a restart, a lost link, a lock
    held too long, no free pooled connection): the same work can succeed later, so it is
    kept and retried, never dropped as if it were bad."""
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_db(engine: Engine) -> int:
    """Create or migrate the schema; return the version the database is now at."""
    with engine.begin() as conn:
        version = _stored_version(conn)
        if version is None:
            SQLModel.metadata.create_all(conn)
            _set_version(conn, SCHEMA_VERSION)
            return SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"database schema is version {version}, this release understands up to "
                f"{SCHEMA_VERSION}; upgrade esl-controller"
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](conn)
            _set_version(conn, step)
        return SCHEMA_VERSION


def _stored_version(conn: Connection) -> int | None:
    if not conn.dialect.has_table(conn, models.SchemaMeta.__tablename__):
        return None
    row = conn.execute(text("SELECT value FROM schema_meta WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else None


def _set_version(conn: Connection, version: int) -> None:
    conn.execute(text("DELETE FROM schema_meta WHERE key = 'schema_version'"))
    conn.execute(
        text("INSERT INTO schema_meta (key, value) VALUES ('schema_version', :v)"),
        {"v": str(version)},
    )


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def command_session() -> Iterator[tuple[Session, Settings]]:
    """For one CLI command: the settings from the environment and a session on the database
    they name, its schema brought up to date; the engine is disposed of afterwards."""
    settings = Settings.from_env()
    engine = make_engine(
        settings.resolved_database_url, settings.db_pool_size, settings.db_pool_overflow
    )
    init_db(engine)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session, settings
    finally:
        engine.dispose()


def fill_impression_hour_totals(conn: Connection) -> None:
    """Fill the (empty) live impression totals from the raw log and its roll-ups in one
    INSERT ... SELECT (the v5 migration, and the report benchmark after its bulk load).

    Plain SQL over the tables, so the schema's history does not depend on the ads code
    that keeps the totals up to date afterwards."""
    if conn.dialect.name == "sqlite":
        raw_hour = "substr(started_at, 1, 13) || ':00:00.000000'"
        rolled_hour = "substr(hour, 1, 13) || ':00:00.000000'"
    else:
        raw_hour = "date_trunc('hour', started_at)"
        rolled_hour = "hour"
    conn.execute(
        text(
            f"""
            INSERT INTO impression_hour_total (hour, campaign_id, advertiser_id, player_id,
                creative_id, zone_id, multiplier_source, campaign_name, creative_name,
                player_name, currency, plays, play_ms, impressions_milli, spend_basis)
            SELECT hour, campaign_id, advertiser_id, player_id, creative_id, zone_id,
                multiplier_source, max(campaign_name), max(creative_name), max(player_name),
                max(currency), sum(plays), sum(play_ms), sum(impressions_milli),
                sum(spend_basis)
            FROM (
                SELECT {raw_hour} AS hour, campaign_id, advertiser_id, player_id,
                    coalesce(creative_id, {models.NO_CREATIVE}) AS creative_id,
                    coalesce(zone_id, '') AS zone_id, multiplier_source, campaign_name,
                    creative_name, player_name, currency, 1 AS plays, play_ms,
                    impressions_milli, impressions_milli * cpm_minor AS spend_basis
                FROM impression
                UNION ALL
                SELECT {rolled_hour}, campaign_id, advertiser_id, player_id,
                    coalesce(creative_id, {models.NO_CREATIVE}), coalesce(zone_id, ''),
                    multiplier_source, campaign_name, creative_name, player_name, currency,
                    plays, play_ms, impressions_milli, spend_basis
                FROM impression_hourly
            ) AS billed
            GROUP BY hour, campaign_id, advertiser_id, player_id, creative_id, zone_id,
                multiplier_source
            """
        )
    )
