from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc, text
from sqlmodel import Session, select

from esl_controller import db
from esl_controller.config import Settings
from esl_controller.models import BaseStation, Label, Store


def test_sqlite_runs_in_wal_with_foreign_keys(engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(Store(id="s1", name="Store"))
    session.commit()
    session.add(Label(id="L1", store_id="s1", model="2.9-bwr", base_station_id="no-such-station"))
    with pytest.raises(Exception, match="FOREIGN KEY"):
        session.commit()


def test_fresh_database_records_schema_version(settings: Settings) -> None:
    engine = db.make_engine(settings.resolved_database_url)
    assert db.init_db(engine) == db.SCHEMA_VERSION
    path = settings.resolved_database_url.removeprefix("sqlite:///")
    row = (
        sqlite3.connect(path)
        .execute("SELECT value FROM schema_meta WHERE key = 'schema_version'")
        .fetchone()
    )
    assert row == (str(db.SCHEMA_VERSION),)


def test_init_is_idempotent_and_keeps_data(engine) -> None:
    with db.session_scope(engine) as session:
        session.add(Store(id="s1", name="Kept"))
    assert db.init_db(engine) == db.SCHEMA_VERSION
    with Session(engine) as session:
        assert session.get(Store, "s1").name == "Kept"


def test_database_from_a_newer_release_is_refused(engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE schema_meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(db.SCHEMA_VERSION + 1)},
        )
    with pytest.raises(db.SchemaError, match="upgrade esl-controller"):
        db.init_db(engine)


def test_migrations_run_in_order_from_an_older_version(engine, monkeypatch) -> None:
    ran: list[int] = []
    target = db.SCHEMA_VERSION + 2
    monkeypatch.setattr(db, "SCHEMA_VERSION", target)
    monkeypatch.setattr(
        db,
        "MIGRATIONS",
        {target - 1: lambda conn: ran.append(target - 1), target: lambda conn: ran.append(target)},
    )
    assert db.init_db(engine) == target
    assert ran == [target - 1, target]
    assert db.init_db(engine) == target  # nothing left to run
    assert ran == [target - 1, target]


def test_session_scope_rolls_back_on_error(engine) -> None:
    with pytest.raises(RuntimeError), db.session_scope(engine) as session:
        session.add(Store(id="gone", name="Rolled back"))
        session.flush()
        raise RuntimeError("boom")
    with Session(engine) as session:
        assert session.get(Store, "gone") is None


@pytest.mark.postgres
def test_same_schema_works_on_postgresql(pg_engine) -> None:
    with db.session_scope(pg_engine) as session:
        session.add(Store(id="pg", name="PG store"))
        session.flush()
        session.add(BaseStation(id="bs-1", store_id="pg"))
        session.flush()
        session.add(Label(id="L1", store_id="pg", model="2.9-bwr", base_station_id="bs-1"))
    with Session(pg_engine) as session:
        label = session.exec(select(Label)).one()
        assert (label.store_id, label.state, label.seq) == ("pg", "unbound", 0)
    assert db.init_db(pg_engine) == db.SCHEMA_VERSION


def test_a_stored_version_1_database_is_migrated_and_keeps_its_data(tmp_path) -> None:
    import shutil
    from pathlib import Path

    from esl_controller.models import Product, Promotion, SyncRun

    old = tmp_path / "v1.db"
    shutil.copy(Path(__file__).parent / "fixtures" / "schema_v1.db", old)
    engine = db.make_engine(f"sqlite:///{old}")
    assert db.init_db(engine) == db.SCHEMA_VERSION
    with db.session_scope(engine) as session:
        label = session.get(Label, "E5100001")
        assert (label.state, label.seq, label.shown_hash) == ("acked", 3, "abc")
        assert label.render_fingerprint is None
        product = session.exec(select(Product)).one()
        assert (product.gtin, product.price_minor, product.listed_at) == (
            "5941234567899",
            799,
            None,
        )
        promotion = session.exec(select(Promotion)).one()
        promotion.external_id = "P-1"
        session.add(SyncRun(feed="json"))
    with Session(engine) as session:
        assert session.exec(select(SyncRun)).one().status == "requested"
    engine.dispose()


def test_schema_6_turns_stored_mqtt_frames_into_rendered_planes(engine, seed_store):
    """Rows queued by schema 5 held finished MQTT messages; after the step they are the
    rendered planes and arguments every driver starts from, and send the same bytes."""
    from PIL import Image

    from esl_controller.esl.drivers.mqtt import protocol
    from esl_controller.esl.outbox import command_from_row
    from esl_controller.labels.planes import pack_image
    from esl_controller.models import OutboxMessage

    (label_id,) = seed_store(labels=1, stations=1)
    picture = Image.new("P", (24, 8), 0)
    picture.putpixel((3, 2), 1)
    picture.putpixel((9, 5), 2)
    packed = pack_image(picture, "BWR")
    old_frame = protocol.frame_bytes(packed, 7)
    with Session(engine) as s:
        s.add(OutboxMessage(label_id=label_id, base_station_id="bs-01", seq=7, payload=old_frame))
        s.add(
            OutboxMessage(
                label_id=label_id,
                base_station_id="bs-01",
                kind="led",
                seq=8,
                payload=protocol.led_payload(8, "red", "blink", 5),
            )
        )
        s.commit()
    with engine.begin() as conn:
        db._v6_rewrite_outbox_rows(conn)
    with Session(engine) as s:
        image_row, led_row = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    fields = ("id", "label_id", "base_station_id", "kind", "seq", "payload", "width", "height")
    rest = ("colour_mode", "crc32", "params", "content_hash")
    image = command_from_row(*(getattr(image_row, f) for f in (*fields, *rest)))
    assert image.image is not None and image.planes == packed.planes()
    assert protocol.frame_bytes(image.image, 7) == old_frame
    led = command_from_row(*(getattr(led_row, f) for f in (*fields, *rest)))
    assert dict(led.params) == {"colour": "red", "pattern": "blink", "seconds": 5}


def test_version_9_adds_the_trigger_rate_windows(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE trigger_rate_window"))
        conn.execute(text("UPDATE schema_meta SET value = '8' WHERE key = 'schema_version'"))
    assert db.init_db(engine) >= 9
    with engine.connect() as conn:
        assert conn.dialect.has_table(conn, "trigger_rate_window")
        conn.execute(
            text("SELECT sensor_id, window_index, count, event_id FROM trigger_rate_window")
        )


def test_the_v1_fixture_gains_the_product_name_index_on_the_way_up(tmp_path) -> None:
    import shutil
    from pathlib import Path

    from sqlalchemy import inspect

    old = tmp_path / "v1.db"
    shutil.copy(Path(__file__).parent / "fixtures" / "schema_v1.db", old)
    engine = db.make_engine(f"sqlite:///{old}")
    db.init_db(engine)
    names = {index["name"] for index in inspect(engine).get_indexes("product")}
    engine.dispose()
    assert "ix_product_store_name" in names


@pytest.mark.postgres
def test_a_postgresql_pool_is_bounded_by_the_settings(pg_engine, monkeypatch) -> None:
    monkeypatch.setenv("ESL_DB_POOL_SIZE", "2")
    monkeypatch.setenv("ESL_DB_POOL_OVERFLOW", "1")
    settings = Settings.from_env()
    bounded = db.make_engine(
        pg_engine.url.render_as_string(hide_password=False),
        settings.db_pool_size,
        settings.db_pool_overflow,
        pool_timeout_s=0.2,
    )
    try:
        held = [bounded.connect() for _ in range(3)]
        assert (bounded.pool.size(), bounded.pool.checkedout()) == (2, 3)
        with pytest.raises(exc.TimeoutError):  # the fourth waits for a free one, then gives up
            bounded.connect()
        for connection in held:
            connection.close()
    finally:
        bounded.dispose()
