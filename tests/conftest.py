"""Shared fixtures: settings in a temp dir, a real SQLite file (or PostgreSQL), a real broker.

MQTT tests use the Mosquitto on 127.0.0.1:1883 when one answers (CI and the dev machines
have it) and otherwise start the embedded broker, so they run everywhere and never skip.
Each test gets its own topic prefix, so tests sharing one broker never see each other.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from esl_controller import db
from esl_controller.broker import EmbeddedBroker
from esl_controller.config import Settings

MOSQUITTO = ("127.0.0.1", 1883)
POSTGRES_URL = os.environ.get(
    "ESL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def settings(tmp_path: Path, mqtt_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        mqtt_url=mqtt_url,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        secret_key="test-secret",
        ack_timeout_s=5.0,
        retry_base_s=0.2,
        retry_max_s=1.0,
        outbox_poll_s=0.05,
        render_workers=1,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = db.make_engine(settings.resolved_database_url)
    db.init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A clean schema on the local PostgreSQL; skipped (with how to enable) when none answers."""
    if not _port_open("127.0.0.1", 5432):
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 (set ESL_TEST_POSTGRES_URL to enable)")
    eng = db.make_engine(POSTGRES_URL)
    with eng.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS schema_meta"))
    db.init_db(eng)
    yield eng
    with eng.begin() as conn:
        SQLModel.metadata.drop_all(conn)
    eng.dispose()


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    if _port_open(*MOSQUITTO):
        yield f"mqtt://{MOSQUITTO[0]}:{MOSQUITTO[1]}"
        return
    broker = EmbeddedBroker().start()
    try:
        yield broker.url
    finally:
        broker.stop()
