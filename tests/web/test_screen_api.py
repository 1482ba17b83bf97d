"""The browser player's HTTP side: pairing (codes, claims, one-time links, revoking), the
command stream of one player only, and what a page posts."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import AuditEntry, Incident, ScreenHealth, ScreenReport
from esl_controller.signage import protocol
from esl_controller.signage.drivers.browser import mailbox
from esl_controller.web import screen_pairing
from tests.web.conftest import Seed, bearer


def start_pairing(client: FlaskClient) -> dict:
    response = client.post("/screen/api/pairings")
    assert response.status_code == 201
    return response.get_json()


def claim(client: FlaskClient, **body):
    return client.post("/screen/api/pairings/claim", json=body)


def pair(client: FlaskClient, seed: Seed, code: str, player: str = "dairy-1"):
    body = {"code": code, "id": player, "name": "Dairy screen", "zone": "dairy"}
    return client.post("/api/v1/players/pair", json=body, headers=bearer(seed.manager_token))


def paired_token(client: FlaskClient, seed: Seed, player: str) -> str:
    pending = start_pairing(client)
    assert pair(client, seed, pending["code"], player).status_code == 200
    return claim(client, code=pending["code"], claim=pending["claim"]).get_json()["token"]


def audit_actions(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(row.actor, row.action, row.target) for row in rows]


def test_a_code_is_paired_by_a_manager_and_its_page_collects_the_credential_once(
    client: FlaskClient, seed: Seed, engine: Engine
) -> None:
    pending = start_pairing(client)
    assert len(pending["code"]) == 6
    lifetime = datetime.fromisoformat(pending["expires_at"]) - datetime.fromisoformat(
        pending["now"]
    )
    assert lifetime == screen_pairing.CODE_TTL  # counted by the page, not on its own clock
    assert set(pending["code"]) <= set(screen_pairing.CODE_ALPHABET)
    assert claim(client, code=pending["code"], claim=pending["claim"]).status_code == 202

    typed = pending["code"].lower()[:3] + " " + pending["code"][3:]  # as people type it
    answer = pair(client, seed, typed)
    assert answer.status_code == 200 and answer.get_json() == {"player": "dairy-1", "zone": "dairy"}
    assert claim(client, code=pending["code"], claim="someone-else").status_code == 410

    got = claim(client, code=pending["code"], claim=pending["claim"])
    assert got.status_code == 200
    assert got.get_json()["player"] == "dairy-1"
    token = got.get_json()["token"]
    assert claim(client, code=pending["code"], claim=pending["claim"]).status_code == 410
    assert (
        client.post(
            "/screen/api/status", json={"state": "online"}, headers=bearer(token)
        ).status_code
        == 200
    )
    assert client.get("/api/v1/players", headers=bearer(token)).status_code == 403
    assert ("bob", "player.pair", "player:dairy-1") in audit_actions(engine)


def test_an_expired_or_unknown_code_is_refused(
    client: FlaskClient, seed: Seed, engine: Engine, settings: Settings
) -> None:
    assert pair(client, seed, "ACDEFG").status_code == 400
    with session_scope(engine) as session:
        old = screen_pairing.start(session, datetime.now(UTC) - timedelta(minutes=11))
    answer = pair(client, seed, old.code)
    assert answer.status_code == 400 and "expired" in answer.get_json()["error"]


def test_a_staff_account_name_cannot_become_a_screen(client: FlaskClient, seed: Seed) -> None:
    pending = start_pairing(client)
    answer = pair(client, seed, pending["code"], player="alice")
    assert answer.status_code == 400
    assert answer.get_json()["error"] == (
        "'alice' is already the name of an account with the role admin, not a player"
    )


def test_revoking_takes_the_credential_away_and_is_audited(
    client: FlaskClient, seed: Seed, engine: Engine
) -> None:
    token = paired_token(client, seed, "dairy-1")
    revoke = client.post("/api/v1/players/dairy-1/revoke", headers=bearer(seed.manager_token))
    assert revoke.status_code == 200
    assert (
        client.post(
            "/screen/api/status", json={"state": "online"}, headers=bearer(token)
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/v1/players/dairy-1/revoke", headers=bearer(seed.manager_token)
        ).status_code
        == 404
    )
    assert ("bob", "player.revoke", "player:dairy-1") in audit_actions(engine)


def test_a_one_time_link_gives_its_credential_once(
    client: FlaskClient, seed: Seed, engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        secret = screen_pairing.add_with_link(
            session, settings, player_id="kiosk-1", zone="entrance", name="Kiosk", actor="cli",
            now=datetime.now(UTC),
        )  # fmt: skip
    got = claim(client, link=secret)
    assert got.status_code == 200 and got.get_json()["player"] == "kiosk-1"
    assert claim(client, link=secret).status_code == 410
    assert ("cli", "player.add", "player:kiosk-1") in audit_actions(engine)


def read_stream_until_ready(client: FlaskClient, token: str) -> list[tuple[str, str]]:
    response = client.get("/screen/api/events", headers=bearer(token), buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events, text = [], ""
    chunks = iter(response.response)
    while "event: ready" not in text:
        text += next(chunks).decode()
    response.close()
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], lines.get("data", "")))
    return events


def test_a_page_streams_its_own_playlist_never_another_players(
    client: FlaskClient, seed: Seed, engine: Engine, settings: Settings
) -> None:
    token = paired_token(client, seed, "dairy-1")
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for player, name in (("dairy-1", "mine"), ("dairy-2", "theirs")):
            payload = protocol.playlist_payload(player, name, (), None, "http://x/media/")
            mailbox.post_command(session, settings.store_id, player, mailbox.PLAYLIST, payload, now)
        newer = protocol.playlist_payload("dairy-1", "mine-later", (), None, "http://x/media/")
        mailbox.post_command(session, settings.store_id, "dairy-1", mailbox.PLAYLIST, newer, now)
    events = read_stream_until_ready(client, token)
    playlists = [json.loads(data)["playlist"] for kind, data in events if kind == "playlist"]
    assert playlists == ["mine-later"]  # only the newest, only its own
    assert events[-1][0] == "ready"


@pytest.mark.parametrize("written_during", ["newest_command_id", "latest_playlist"])
def test_a_playlist_written_while_a_stream_opens_is_streamed_exactly_once(
    client: FlaskClient,
    seed: Seed,
    engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    written_during: str,
) -> None:
    """The worker may write a playlist between the stream's first two reads."""
    token = paired_token(client, seed, "dairy-1")
    now = datetime.now(UTC)

    def post(kind: str, payload: bytes) -> None:
        with session_scope(engine) as session:
            mailbox.post_command(session, settings.store_id, "dairy-1", kind, payload, now)

    post(mailbox.PLAYLIST, protocol.playlist_payload("dairy-1", "morning", (), None, "http://x/"))
    original = getattr(mailbox, written_during)

    def read_after_the_worker_wrote(*args):
        monkeypatch.setattr(mailbox, written_during, original)
        post(mailbox.PLAYLIST, protocol.playlist_payload("dairy-1", "noon", (), None, "http://x/"))
        return original(*args)

    monkeypatch.setattr(mailbox, written_during, read_after_the_worker_wrote)
    response = client.get("/screen/api/events", headers=bearer(token), buffered=False)
    chunks, text = iter(response.response), ""
    while "event: ready" not in text:
        text += next(chunks).decode()
    post(mailbox.REVERT, protocol.revert_payload(7))  # streamed after anything queued before it
    while "event: revert" not in text:
        text += next(chunks).decode()
    response.close()
    playlists = [
        json.loads(block.split("data: ", 1)[1])["playlist"]
        for block in text.split("\n\n")
        if "event: playlist" in block
    ]
    assert playlists == ["noon"]


def test_a_bad_status_is_refused_and_nothing_is_stored(
    client: FlaskClient, seed: Seed, engine: Engine
) -> None:
    token = paired_token(client, seed, "dairy-1")
    answer = client.post("/screen/api/status", json={"state": "dancing"}, headers=bearer(token))
    assert answer.status_code == 400 and "state" in answer.get_json()["fields"]
    with Session(engine) as session:
        assert session.scalars(select(ScreenReport)).all() == []


def test_media_errors_and_screen_facts_reach_the_dashboard(
    client: FlaskClient, seed: Seed, engine: Engine
) -> None:
    token = paired_token(client, seed, "dairy-1")
    body = {
        "state": "online",
        "now_playing": "welcome",
        "version": "1.0.0",
        "width": 3840,
        "height": 2160,
        "errors": [{"item": "promo", "reason": "video failed to load"}],
    }
    headers = {**bearer(token), "User-Agent": "Mozilla/5.0 (X11; Linux) Chrome/126"}
    assert client.post("/screen/api/status", json=body, headers=headers).status_code == 200
    with Session(engine) as session:
        health = session.get(ScreenHealth, "dairy-1")
        assert (health.width, health.height, health.version) == (3840, 2160, "1.0.0")
        assert health.last_error == "promo: video failed to load" and health.errors == 1
        assert "Chrome/126" in health.browser
        [incident] = session.scalars(select(Incident).where(Incident.kind == "screen_error")).all()
        assert incident.subject == "dairy-1"
        [report] = session.scalars(select(ScreenReport)).all()
        assert (report.player_id, report.kind) == ("dairy-1", mailbox.STATUS)
        assert json.loads(report.payload) == {"state": "online", "now_playing": "welcome"}


def test_plays_are_kept_for_the_worker_under_the_credential_s_player(
    client: FlaskClient, seed: Seed, engine: Engine
) -> None:
    token = paired_token(client, seed, "dairy-1")
    plays = [{"play_id": "x", "player": "dairy-1", "item": "a"}]  # the worker judges the rest
    answer = client.post("/screen/api/plays", json={"plays": plays}, headers=bearer(token))
    assert answer.status_code == 200 and answer.get_json() == {"stored": 1}
    assert (
        client.post("/screen/api/plays", json={"plays": []}, headers=bearer(token)).status_code
        == 400
    )
    with Session(engine) as session:
        [report] = session.scalars(select(ScreenReport)).all()
        assert (report.player_id, report.kind) == ("dairy-1", mailbox.POP)


OTHERS = "dairy-2"
PLAY = {"play_id": "7d1f6a52-3f7a-4a53-9b4e-0d9c1f0e2a11", "item": "a"}
MINE, THEIRS = {**PLAY, "player": "dairy-1"}, {**PLAY, "player": OTHERS}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", f"/screen/api/events?player={OTHERS}", None),
        ("post", "/screen/api/status", {"state": "online", "player": OTHERS}),
        ("post", "/screen/api/plays", {"player": OTHERS, "plays": [MINE]}),
        ("post", "/screen/api/plays", {"plays": [THEIRS]}),
        ("post", "/screen/api/plays", {"plays": [MINE, THEIRS]}),
    ],
)  # fmt: skip
def test_a_screen_s_credential_cannot_act_for_another_screen(
    client: FlaskClient, seed: Seed, engine: Engine, method: str, path: str, body
) -> None:
    mine = paired_token(client, seed, "dairy-1")
    paired_token(client, seed, OTHERS)
    call = getattr(client, method)
    answer = call(path, json=body, headers=bearer(mine))
    assert answer.status_code == 403
    assert answer.get_json()["error"] == "this credential belongs to another player"
    with Session(engine) as session:
        assert session.scalars(select(ScreenReport)).all() == []
        assert session.scalars(select(ScreenHealth)).all() == []
        assert session.scalars(select(Incident).where(Incident.kind == "screen_error")).all() == []


def test_a_screen_s_stream_never_carries_another_screen_s_override(
    client: FlaskClient, seed: Seed, engine: Engine, settings: Settings
) -> None:
    mine = paired_token(client, seed, "dairy-1")
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for player, name in (("dairy-1", "mine"), (OTHERS, "theirs")):
            payload = protocol.playlist_payload(player, name, (), None, "http://x/media/")
            mailbox.post_command(session, settings.store_id, player, mailbox.PLAYLIST, payload, now)
    response = client.get("/screen/api/events", headers=bearer(mine), buffered=False)
    chunks, text = iter(response.response), ""
    while "event: ready" not in text:
        text += next(chunks).decode()
    command = protocol.OverrideCommand(
        41, protocol.ScreenItem("flash", "image", 5.0, media="a" * 64), priority=90,
        expires_at=now + timedelta(minutes=1),
    )  # fmt: skip
    with session_scope(engine) as session:
        for player, override_id in ((OTHERS, 41), ("dairy-1", 42)):
            payload = protocol.override_payload(
                dataclasses.replace(command, override_id=override_id)
            )
            mailbox.post_command(session, settings.store_id, player, mailbox.OVERRIDE, payload, now)
    while '"override_id":42' not in text:
        text += next(chunks).decode()
    response.close()
    assert "theirs" not in text and '"override_id":41' not in text


@pytest.mark.parametrize("path", ["/screen/api/events", "/screen/api/status", "/screen/api/plays"])
def test_player_endpoints_need_a_player_token(client: FlaskClient, seed: Seed, path: str) -> None:
    call = client.get if path.endswith("events") else client.post
    assert call(path).status_code == 401
    assert call(path, headers=bearer(seed.manager_token)).status_code == 403


def test_the_page_and_its_service_worker_are_served_without_a_login(
    client: FlaskClient, seed: Seed
) -> None:
    page = client.get("/screen")
    assert page.status_code == 200 and b"screen/player.js" in page.data
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    worker = client.get("/screen/sw.js")
    assert worker.status_code == 200 and worker.headers["Service-Worker-Allowed"] == "/screen"
