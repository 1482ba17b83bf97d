"""Schema step 16 (users of one store) on both databases: a version-15 database gains
user.store_id, its users stay head office (NULL), and a user can then be given a store."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData, Table, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import db
from esl_controller.models import Store, User
from esl_controller.web.auth import check_password, create_user

PASSWORD = "migrated-password-1"


def _back_to_version_15(engine: Engine) -> None:
    """Undo step 16, as a database written by the release before it looks. SQLite drops
    no column that has a foreign key, so there the table is rebuilt without it."""
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_user_store_id"))
        if conn.dialect.name == "postgresql":
            conn.execute(text('ALTER TABLE "user" DROP COLUMN store_id'))
        else:
            old = Table(
                "user_v13",
                MetaData(),
                *(column._copy() for column in User.__table__.columns if column.name != "store_id"),
            )
            old.create(conn)
            names = ", ".join(column.name for column in old.columns)
            conn.execute(text(f'INSERT INTO user_v13 ({names}) SELECT {names} FROM "user"'))
            conn.execute(text('DROP TABLE "user"'))
            conn.execute(text('ALTER TABLE user_v13 RENAME TO "user"'))
        conn.execute(text("UPDATE schema_meta SET value = '15' WHERE key = 'schema_version'"))


def _step_16_on(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        session.add(Store(id="north", name="North Mall"))
        create_user(session, "maria", PASSWORD, "admin")
    _back_to_version_15(engine)
    assert "store_id" not in {c["name"] for c in inspect(engine).get_columns("user")}
    assert db.init_db(engine) == db.SCHEMA_VERSION
    assert "store_id" in {c["name"] for c in inspect(engine).get_columns("user")}
    assert "ix_user_store_id" in {i["name"] for i in inspect(engine).get_indexes("user")}
    with db.session_scope(engine) as session:
        maria = check_password(session, "maria", PASSWORD)
        assert maria is not None and maria.store_id is None  # head office, as before
        create_user(session, "nora", PASSWORD, "manager", store_id="north")
    with Session(engine) as session:
        assert check_password(session, "nora", PASSWORD).store_id == "north"
    with pytest.raises(Exception, match=r"(?i)foreign key"), db.session_scope(engine) as session:
        session.execute(text("UPDATE \"user\" SET store_id = 'nowhere' WHERE username = 'maria'"))


def test_step_16_upgrades_sqlite(engine: Engine) -> None:
    _step_16_on(engine)


@pytest.mark.postgres
def test_step_16_upgrades_postgresql(pg_engine: Engine) -> None:
    _step_16_on(pg_engine)
