"""POST /api/v1/plays: the HTTP batch endpoint for proof of play."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlmodel import Session
from werkzeug.security import generate_password_hash

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import Impression, Play, RejectedPlay, User
from esl_controller.web.auth import issue_api_token
from tests.ads.conftest import ads_world, make_pop  # noqa: F401 (fixtures)
from tests.web.conftest import bearer


@pytest.fixture
def player_token(engine, ads_world) -> str:  # noqa: F811
    """A machine account named after the player it speaks for."""
    with session_scope(engine) as session:
        session.add(
            User(
                username=ads_world.declared_player,
                password_hash=generate_password_hash(uuid.uuid4().hex),
                role="player",
            )
        )
        session.flush()
        return issue_api_token(session, ads_world.declared_player)


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_player_posts_a_mixed_batch(client: FlaskClient, engine, player_token, make_pop):  # noqa: F811
    good = [make_pop(utcnow() - timedelta(minutes=n)) for n in (2, 4, 6)]
    negative = make_pop(seconds=-3)
    response = client.post(
        "/api/v1/plays", json={"plays": [*good, negative]}, headers=bearer(player_token)
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["accepted"], body["duplicates"]) == (3, 0)
    assert [r["play_id"] for r in body["rejected"]] == [negative["play_id"]]
    assert body["rejected"][0]["reason"].startswith("bad_duration: ended_at")
    assert _count(engine, Impression) == 3
    assert _count(engine, RejectedPlay) == 1

    again = client.post("/api/v1/plays", json={"plays": good}, headers=bearer(player_token))
    assert again.get_json()["duplicates"] == 3
    assert _count(engine, Play) == 3


def test_player_may_not_report_another_players_plays(
    client: FlaskClient,
    engine,
    player_token,
    ads_world,  # noqa: F811
    make_pop,  # noqa: F811
):
    other = make_pop(player=ads_world.sensor_player)
    response = client.post("/api/v1/plays", json={"plays": [other]}, headers=bearer(player_token))
    body = response.get_json()
    assert body["accepted"] == 0
    assert body["rejected"][0]["reason"].startswith("wrong_player: player 'screen-01'")
    assert _count(engine, Play) == 0


def test_admin_may_report_any_player(client: FlaskClient, seed, ads_world, make_pop):  # noqa: F811
    plays = [make_pop(), make_pop(player=ads_world.sensor_player)]
    response = client.post("/api/v1/plays", json={"plays": plays}, headers=bearer(seed.admin_token))
    assert response.get_json()["accepted"] == 2


def test_manager_and_anonymous_are_refused(client: FlaskClient, seed, make_pop):  # noqa: F811
    body = {"plays": [make_pop()]}
    assert client.post("/api/v1/plays", json=body, headers=bearer("forged")).status_code == 401
    response = client.post("/api/v1/plays", json=body, headers=bearer(seed.manager_token))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], "must be a JSON object"),
        ({"plays": []}, "Length must be between 1 and 1000"),
        ({"plays": "x"}, "Not a valid list"),
        ({}, "Missing data for required field"),
    ],
)
def test_malformed_bodies_get_a_specific_400(client: FlaskClient, player_token, body, expected):
    response = client.post("/api/v1/plays", json=body, headers=bearer(player_token))
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)


def test_openapi_lists_the_endpoint(client: FlaskClient, seed):
    document = client.get("/api/v1/openapi.json", headers=bearer(seed.admin_token)).get_json()
    operation = document["paths"]["/api/v1/plays"]["post"]
    assert "PlayIngestResult" in str(operation["responses"]["200"])
