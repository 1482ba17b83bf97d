"""POST /api/v1/plays: the HTTP batch endpoint for proof of play."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlmodel import Session
from werkzeug.security import generate_password_hash

from esl_controller.ads.ingest import rejected_counts
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


def rejected_counts_for(engine) -> dict[str, int]:
    with Session(engine) as session:
        return rejected_counts(session)


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


def _token_of(engine, seed, role: str) -> str:
    if role in ("admin", "manager"):
        return seed.admin_token if role == "admin" else seed.manager_token
    with session_scope(engine) as session:
        session.add(User(username=f"a-{role}", password_hash="x", role=role))
        session.flush()
        return issue_api_token(session, f"a-{role}")


@pytest.mark.parametrize("role", ["admin", "manager", "sensor"])
def test_staff_tokens_may_not_report_plays(
    client: FlaskClient,
    engine,
    seed,
    ads_world,  # noqa: F811
    make_pop,  # noqa: F811
    role,
):
    plays = [make_pop(), make_pop(player=ads_world.sensor_player)]
    token = _token_of(engine, seed, role)
    response = client.post("/api/v1/plays", json={"plays": plays}, headers=bearer(token))
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert "accepted only from the player that made them" in error
    assert error.endswith(f"; this token's role is {role}")
    assert (_count(engine, Play), _count(engine, Impression)) == (0, 0)
    with Session(engine) as session:
        refused = session.execute(
            select(RejectedPlay.play_id, RejectedPlay.player_id, RejectedPlay.reason)
        ).all()
    assert {(play_id, player) for play_id, player, _ in refused} == {
        (play["play_id"], play["player"]) for play in plays
    }
    assert all(reason.startswith("not_a_player: plays are accepted only") for *_, reason in refused)
    assert rejected_counts_for(engine) == {ads_world.declared_player: 1, ads_world.sensor_player: 1}


def test_a_refused_credential_with_a_malformed_body_is_still_a_403(
    client: FlaskClient, engine, seed
):
    for body in ([], {"plays": "x"}, {}):
        response = client.post("/api/v1/plays", json=body, headers=bearer(seed.admin_token))
        assert response.status_code == 403
    assert _count(engine, RejectedPlay) == 0


def test_anonymous_is_refused(client: FlaskClient, engine, make_pop):  # noqa: F811
    body = {"plays": [make_pop()]}
    assert client.post("/api/v1/plays", json=body, headers=bearer("forged")).status_code == 401
    assert _count(engine, RejectedPlay) == 0


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
