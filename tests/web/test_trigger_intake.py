# ruff: noqa: F811 -- pytest fixtures imported from signage_support are requested by name
"""Triggers over HTTP: the sensor is the credential, the rate limit is counted in the
database (so it holds across web processes), and nothing refused is stored, logged or
sent back."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.broker import free_port
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Store, TriggerEvent, TriggerRateWindow, Zone
from esl_controller.signage.triggers import RULES
from esl_controller.web import create_app
from esl_controller.web.auth import create_user, issue_api_token
from tests.support import pii_corpus
from tests.support.db_dump import all_stored_text
from tests.web.conftest import bearer
from tests.web.signage_support import SENSOR, Signage, signage  # noqa: F401 (fixtures)

SENSOR_ID = SENSOR[0]  # "cam-entrance": the account's user name is the sensor id


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    # The corpus posts hundreds of triggers from one sensor; the limit has its own tests.
    return settings.with_overrides(
        playlists_dir=tmp_path / "signage_playlists", trigger_burst=100_000
    )


def post(client: FlaskClient, signage: Signage, body: bytes | dict) -> tuple[int, bytes, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.post(
        "/api/v1/triggers",
        data=data,
        content_type="application/json",
        headers=bearer(signage.sensor_token),
    )
    return response.status_code, response.get_data(), dict(response.headers)


def events(engine: Engine) -> list[TriggerEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(TriggerEvent).order_by(TriggerEvent.id)).all())


def test_the_personal_data_corpus_over_http_is_refused_and_found_nowhere(
    client: FlaskClient, signage: Signage, engine: Engine, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    corpus = pii_corpus.cases()
    for case in corpus:
        status, body, _ = post(client, signage, case.build(SENSOR_ID, "dairy", datetime.now(UTC)))
        assert status == 422, case.name
        assert case.secret.encode() not in body, case.name
        assert json.loads(body)["field"] in {"", *RULES}  # a schema field's name at most
    stored = all_stored_text(engine)
    for case in corpus:
        assert case.secret not in stored, case.name
        assert case.secret not in caplog.text, case.name
    refused = events(engine)
    assert len(refused) == len(corpus)
    assert {(e.outcome, e.payload, e.sensor_id) for e in refused} == {("rejected", "{}", SENSOR_ID)}


def test_a_body_naming_another_sensor_is_refused(
    client: FlaskClient, signage: Signage, engine: Engine
):
    status, body, _ = post(client, signage, pii_corpus.audience("cam-other", "dairy", _now()))
    assert status == 422
    assert json.loads(body)["field"] == "sensor"
    assert b"cam-other" not in body
    [event] = events(engine)
    assert (event.sensor_id, event.outcome) == (SENSOR_ID, "rejected")
    assert "cam-other" not in all_stored_text(engine)

    status, _, _ = post(client, signage, pii_corpus.audience(SENSOR_ID, "dairy", _now()))
    assert status == 202
    assert events(engine)[-1].outcome == "pending"


def test_an_account_whose_name_is_not_a_sensor_id_may_not_post(
    client: FlaskClient, signage: Signage, engine: Engine
):
    name = "ana.pop@example.ro"
    with session_scope(engine) as session:
        create_user(session, name, "sensor-password-2", "sensor")
        token = issue_api_token(session, name)
    response = client.post(
        "/api/v1/triggers",
        json=pii_corpus.audience("ana-pop", "dairy", _now()),
        headers=bearer(token),
    )
    assert response.status_code == 403
    assert "not a sensor id" in response.get_json()["error"]
    assert name.encode() not in response.get_data()
    assert events(engine) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"type": "audience", "pad": "' + b"x" * 9000 + b'"}', "larger than 8192 bytes"),
        (b"[" * 100_000 + b"]" * 100_000, "larger than 8192 bytes"),
        (b"[" * 3000 + b"]" * 3000, "nested deeper than"),
    ],
)
def test_oversized_and_deep_bodies_are_refused_by_the_same_caps(
    client: FlaskClient, signage: Signage, engine: Engine, body: bytes, says: str
):
    status, answer, _ = post(client, signage, body)
    assert status == 422
    assert says in json.loads(answer)["error"]
    [event] = events(engine)
    assert (event.outcome, event.payload, event.kind) == ("rejected", "{}", "unknown")


def test_a_storm_is_answered_429_and_booked_as_one_row(
    settings: Settings, engine: Engine, signage: Signage
):
    limited = settings.with_overrides(trigger_burst=3, trigger_rate_per_s=0.001)
    client = create_app(limited, engine).test_client()
    statuses = []
    for _ in range(8):
        status, body, headers = post(
            client, signage, pii_corpus.audience(SENSOR_ID, "dairy", _now())
        )
        statuses.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
            assert "rate limited" in json.loads(body)["error"]
    assert statuses == [202] * 3 + [429] * 5
    outcomes = [(e.outcome, json.loads(e.payload).get("refused")) for e in events(engine)]
    assert outcomes == [("pending", None)] * 3 + [("rate_limited", 5)]


# --- several web processes, one limit ------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _seed_sensor(engine: Engine, settings: Settings) -> str:
    with session_scope(engine) as session:
        session.add(Store(id=settings.store_id, name="Store"))
        session.flush()
        session.add(Zone(id="dairy", store_id=settings.store_id))
        create_user(session, SENSOR_ID, "sensor-password-1", "sensor")
        return issue_api_token(session, SENSOR_ID)


def _start_web(database_url: str, tmp_path: Path, burst: int) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "ESL_DATABASE_URL": database_url,
        "ESL_DATA_DIR": str(tmp_path / f"web-{port}"),
        "ESL_SECRET_KEY": "9c41e07b5fd2a863e1b07c94d5a2f86e3b1c07d94a5e2f8b",  # 48: long enough
        "ESL_TRIGGER_BURST": str(burst),
        "ESL_TRIGGER_RATE": "0.001",  # one window lasts the whole test
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "esl_controller.cli", "web", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/login", timeout=2)
            break
        except requests.ConnectionError:
            assert process.poll() is None, "the web process exited"
            assert time.monotonic() < deadline, "the web process did not start"
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request, engine: Engine, settings: Settings) -> tuple[str, Engine]:
    if request.param == "sqlite":
        return settings.resolved_database_url, engine
    from tests.support.postgres import POSTGRES_URL

    return POSTGRES_URL, request.getfixturevalue("pg_engine")


def test_the_rate_limit_holds_across_two_web_processes(
    shared_database: tuple[str, Engine], settings: Settings, tmp_path: Path
):
    database_url, engine = shared_database
    token = _seed_sensor(engine, settings)
    burst = 6
    first = _start_web(database_url, tmp_path, burst)
    second = _start_web(database_url, tmp_path, burst)
    urls = [next(first), next(second)]
    try:
        statuses = []
        for index in range(20):  # alternate: each process alone would allow `burst`
            response = requests.post(
                f"{urls[index % 2]}/api/v1/triggers",
                json=pii_corpus.audience(SENSOR_ID, "dairy", _now()),
                headers=bearer(token),
                timeout=10,
            )
            statuses.append(response.status_code)
    finally:
        for server in (first, second):
            server.close()
    assert statuses.count(202) == burst
    assert statuses.count(429) == 20 - burst
    with Session(engine) as session:
        [window] = session.scalars(select(TriggerRateWindow)).all()
        booked = session.scalars(
            select(TriggerEvent).where(TriggerEvent.outcome == "rate_limited")
        ).one()
    assert (window.sensor_id, window.count) == (SENSOR_ID, 20)
    assert json.loads(booked.payload) == {"refused": 20 - burst}
