"""Engine, sessions and the versioned schema.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the web processes
can read while the worker writes. PostgreSQL works through ESL_DATABASE_URL.

The schema carries an explicit version in `schema_meta`. A fresh database is created at
SCHEMA_VERSION; an older one is brought forward step by step by MIGRATIONS; a newer one
(written by a later release) is refused rather than misread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine

from esl_controller import models

SCHEMA_VERSION = 6


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
    from esl_controller.ads.hour_totals import fill_from_history  # ads imports db's models

    SQLModel.metadata.create_all(conn, tables=[models.ImpressionHourTotal.__table__])
    fill_from_history(conn)


def _v6_trigger_rate_windows(conn: Connection) -> None:
    """Per-sensor rate-limit windows for triggers posted over HTTP, counted in the database
    so every web process sees the same count."""
    SQLModel.metadata.create_all(conn, tables=[models.TriggerRateWindow.__table__])


# version reached -> step that brings a database from (version - 1) to it
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    2: _v2_erp_sync,
    3: _v3_signage,
    4: _v4_proof_of_play,
    5: _v5_impression_hour_totals,
    6: _v6_trigger_rate_windows,
}


class SchemaError(RuntimeError):
    """The database was written by a release this one cannot read."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


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
