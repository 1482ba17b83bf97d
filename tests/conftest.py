"""Shared fixtures: settings in a temp dir, a real SQLite file (or PostgreSQL), a real broker.

MQTT tests use the Mosquitto on 127.0.0.1:1883 when one answers (CI and the dev machines
have it) and otherwise start a local broker (esl_controller.broker: Mosquitto from PATH, else
the embedded rumqttd), so they run everywhere and never skip.
Each test gets its own topic prefix, so tests sharing one broker never see each other.
ESL_TEST_BROKER=mosquitto|rumqttd runs them on a local broker of that kind instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from esl_controller import db
from esl_controller.broker import BrokerKind, LocalBroker, start_local_broker
from esl_controller.config import Settings
from tests.support.brokers import require_broker
from tests.support.gtins import make_gtin
from tests.support.postgres import POSTGRES_URL

# Hypothesis' per-example deadline is an assertion on time: on a shared, loaded machine it
# fails correct code. Properties are judged on what they compute, never on how fast.
hypothesis_settings.register_profile(
    "esl", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("esl")

MOSQUITTO = ("127.0.0.1", 1883)
TEST_BROKER = os.environ.get("ESL_TEST_BROKER", "") or None


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
def local_broker_kind() -> str | None:
    """The kind of local broker a test starts itself (None: Mosquitto if installed)."""
    return TEST_BROKER


@pytest.fixture(scope="session", params=list(BrokerKind), ids=str)
def each_local_broker(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[LocalBroker]:
    """Every local broker this machine can start, in turn (absent ones skip, saying how)."""
    require_broker(request.param)
    with start_local_broker(tmp_path_factory.mktemp(str(request.param)), request.param) as b:
        yield b


@pytest.fixture(scope="session")
def mqtt_url(tmp_path_factory: pytest.TempPathFactory, local_broker_kind) -> Iterator[str]:
    if local_broker_kind is None and _port_open(*MOSQUITTO):
        yield f"mqtt://{MOSQUITTO[0]}:{MOSQUITTO[1]}"
        return
    with start_local_broker(tmp_path_factory.mktemp("broker"), local_broker_kind) as broker:
        yield broker.url


@pytest.fixture
def seed_store(engine: Engine, settings: Settings):
    """`seed_store(labels=10, stations=2)` -> label ids: a small store with bound labels."""
    from esl_controller.models import BaseStation, Label, Product, Store

    def seed(labels: int = 10, stations: int = 2, model: str = "2.9-bwr") -> list[str]:
        station_ids = [f"bs-{n:02d}" for n in range(1, stations + 1)]
        with db.session_scope(engine) as s:
            s.add(Store(id=settings.store_id, name="Test store", locale="ro_RO", currency="RON"))
            s.flush()
            for station in station_ids:
                s.add(BaseStation(id=station, store_id=settings.store_id))
            s.flush()
            ids = []
            for n in range(labels):
                product = Product(
                    store_id=settings.store_id,
                    gtin=make_gtin(n),
                    name=f"Brânză telemea de vacă {n}",
                    net_quantity=400,
                    unit="g",
                    price_minor=1299 + n,
                    currency="RON",
                    stock=20,
                )
                s.add(product)
                s.flush()
                label_id = f"LBL{n:05d}"
                s.add(
                    Label(
                        id=label_id,
                        store_id=settings.store_id,
                        model=model,
                        base_station_id=station_ids[n % stations],
                        product_id=product.id,
                        template="price",
                    )
                )
                ids.append(label_id)
        return ids

    return seed
