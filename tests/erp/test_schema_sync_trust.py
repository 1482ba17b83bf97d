"""Schema step 8 (sync run holders and takeovers, per-page ETags) on a version-7 database."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlmodel import Session, select

from esl_controller import db
from esl_controller.models import FeedPageState, SyncRun


def as_version_7(engine) -> None:
    """A database as schema 7 left it: no feed_page_state, sync_run without the columns."""
    with db.session_scope(engine) as s:
        s.add(SyncRun(feed="json", status="succeeded", fetched=30))
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE feed_page_state"))
        conn.execute(text("ALTER TABLE sync_run DROP COLUMN holder"))
        conn.execute(text("ALTER TABLE sync_run DROP COLUMN takeovers"))
        conn.execute(text("UPDATE schema_meta SET value = '7' WHERE key = 'schema_version'"))


def test_step_8_adds_the_columns_and_the_table_and_keeps_the_runs(engine) -> None:
    as_version_7(engine)
    assert "holder" not in {c["name"] for c in inspect(engine).get_columns("sync_run")}

    assert db.init_db(engine) == db.SCHEMA_VERSION >= 8

    with Session(engine) as s:
        (run,) = s.exec(select(SyncRun)).all()
        assert (run.status, run.fetched, run.holder, run.takeovers) == ("succeeded", 30, None, 0)
        s.add(FeedPageState(key="json:products:", etag='"e1"', next_cursor="c1"))
        s.commit()
        assert s.get(FeedPageState, "json:products:").next_cursor == "c1"


def test_step_8_leaves_a_database_that_already_has_the_columns(engine) -> None:
    # A database that came through step 2 got sync_run as the models describe it today.
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE feed_page_state"))
        conn.execute(text("UPDATE schema_meta SET value = '7' WHERE key = 'schema_version'"))
    assert db.init_db(engine) == db.SCHEMA_VERSION
    assert "feed_page_state" in inspect(engine).get_table_names()
