"""Schema step 15 (zone kinds) on both databases: a version-14 database gains `zone.kind`,
each existing zone's from the slug of its name (or of its id when it has none)."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from esl_controller import db
from esl_controller.models import Store, Zone, zone_kind_from_name


def _back_to_version_14(engine: Engine) -> None:
    """Undo step 15, as a database written by the release before it looks."""
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_zone_kind"))
        conn.execute(text("ALTER TABLE zone DROP COLUMN kind"))
        conn.execute(text("UPDATE schema_meta SET value = '14' WHERE key = 'schema_version'"))


def _step_15_on(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        session.add(Store(id="store-1", name="Test"))
        session.flush()
        session.add_all(
            [
                Zone(id="z-1", store_id="store-1", name="Fresh Produce & Fruit"),
                Zone(id="Dairy_North", store_id="store-1", name=""),
            ]
        )
    _back_to_version_14(engine)
    assert "kind" not in {c["name"] for c in inspect(engine).get_columns("zone")}
    assert db.init_db(engine) == db.SCHEMA_VERSION
    with Session(engine) as session:
        kinds = dict(session.execute(select(Zone.id, Zone.kind)).all())
    assert kinds == {"z-1": "fresh-produce-fruit", "Dairy_North": "dairy-north"}
    assert "ix_zone_kind" in {index["name"] for index in inspect(engine).get_indexes("zone")}


def test_step_15_upgrades_sqlite(engine: Engine) -> None:
    _step_15_on(engine)


def test_step_15_upgrades_postgresql(pg_engine: Engine) -> None:
    _step_15_on(pg_engine)


def test_a_zone_added_without_a_kind_takes_its_names_slug(session: Session) -> None:
    session.add(Store(id="store-1", name="Test"))
    session.flush()
    session.add_all(
        [
            Zone(id="entrance-2", store_id="store-1", name="Entrance"),
            Zone(id="cold-3", store_id="store-1", name="Cold room", kind="dairy"),
        ]
    )
    session.commit()
    assert session.get(Zone, "entrance-2").kind == "entrance"
    assert session.get(Zone, "cold-3").kind == "dairy"  # a kind given is kept
    assert zone_kind_from_name("  Băuturi -- Reci ") == "bauturi-reci"
