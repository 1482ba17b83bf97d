"""The Players page's side of browser screens: pairing a code, what a screen reports, and
revoking its credential."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import ScreenHealth
from esl_controller.signage import protocol
from esl_controller.signage.drivers.browser import mailbox
from esl_controller.web import screen_pairing
from tests.web.conftest import csrf_token_from


def post_form(client: FlaskClient, path: str, data: dict):
    token = csrf_token_from(client, "/signage/players")
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=True)


def test_pair_show_what_the_screen_reports_then_revoke(
    manager_client: FlaskClient, engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        pending = screen_pairing.start(session, datetime.now(UTC))
    form = {"code": pending.code, "id": "dairy-1", "name": "Dairy screen", "zone": "dairy"}
    page = post_form(manager_client, "/signage/players/pair", form).get_data(as_text=True)
    assert "Screen paired with player dairy-1" in page
    again = post_form(manager_client, "/signage/players/pair", form).get_data(as_text=True)
    assert "Screen not paired: this code is already paired" in again
    with session_scope(engine) as session:
        assert screen_pairing.claim(
            session, datetime.now(UTC), code=pending.code, claim=pending.claim
        )

    sha = hashlib.sha256(b"welcome").hexdigest()
    item = protocol.ScreenItem("welcome", "image", 10.0, media=sha)
    payload = protocol.playlist_payload("dairy-1", "loop", (item,), None, "http://x/media/")
    with session_scope(engine) as session:
        mailbox.post_command(
            session, settings.store_id, "dairy-1", mailbox.PLAYLIST, payload, datetime.now(UTC)
        )
        session.add(
            ScreenHealth(
                player_id="dairy-1", now_playing="welcome", width=3840, height=2160,
                version="1.0.0", browser="Chrome/126", last_error="promo: video failed", errors=2,
            )
        )  # fmt: skip
    page = manager_client.get("/signage/players").get_data(as_text=True)
    assert "3840×2160" in page and "player 1.0.0" in page and "Chrome/126" in page
    assert "2 error(s), last: promo: video failed" in page
    assert f'src="/media/{sha}"' in page
    assert "Revoke screen" in page

    page = post_form(manager_client, "/signage/players/dairy-1/revoke", {}).get_data(as_text=True)
    assert "Screen credential of dairy-1 revoked" in page
    assert "not paired" in page


def test_a_malformed_pairing_form_says_which_field(manager_client: FlaskClient) -> None:
    form = {"code": "ABCDEF", "id": "a b", "name": "", "zone": "dairy"}
    page = post_form(manager_client, "/signage/players/pair", form).get_data(as_text=True)
    assert "Screen not paired: id:" in page
