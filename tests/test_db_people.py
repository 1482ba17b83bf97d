"""Schema step 11 (people) on both databases: a version-10 database gains the user status
columns and the login failure table, and its users keep working."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import db
from esl_controller.web.auth import check_password, create_user

PASSWORD = "migrated-password-1"


def _back_to_version_10(engine: Engine) -> None:
    """Undo step 11, as a database written by the release before it looks."""
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE login_failure_window"))
        for column in ("disabled", "session_epoch"):
            conn.execute(text(f'ALTER TABLE "user" DROP COLUMN {column}'))
        conn.execute(text("UPDATE schema_meta SET value = '10' WHERE key = 'schema_version'"))


def _step_11_on(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        create_user(session, "maria", PASSWORD, "admin")
    _back_to_version_10(engine)
    assert "session_epoch" not in {c["name"] for c in inspect(engine).get_columns("user")}
    assert db.init_db(engine) == db.SCHEMA_VERSION
    columns = {c["name"] for c in inspect(engine).get_columns("user")}
    assert {"disabled", "session_epoch"} <= columns
    assert inspect(engine).has_table("login_failure_window")
    with Session(engine) as session:
        user = check_password(session, "maria", PASSWORD)
        assert user is not None
        assert (user.disabled, user.session_epoch) == (False, 0)


def test_step_11_upgrades_sqlite(engine: Engine) -> None:
    _step_11_on(engine)


def test_step_11_upgrades_postgresql(pg_engine: Engine) -> None:
    _step_11_on(pg_engine)
