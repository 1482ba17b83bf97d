"""Shared pieces of the signage web tests: playlists in a temp folder, a zone with players,
a sensor account, and helpers to send forms and JSON. Import the fixtures into a test module
(`from tests.web.signage_support import settings, signage  # noqa: F401`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.engine import Engine

from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.models import Player, Store, Zone
from esl_controller.web.auth import create_user, issue_api_token
from tests.web.conftest import Seed, csrf_token_from

SENSOR = ("cam-entrance", "sensor-password-1")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GOOD_PLAYLIST = """title: Dairy mornings
priority: 10
targets: {zones: [dairy]}
schedule:
  weekdays: [mon, tue, wed, thu, fri]
  dayparts: ["06:00-11:00"]
items:
  - {id: news, type: web, url: "https://example.org/board", duration: 20}
"""
BAD_PLAYLIST = GOOD_PLAYLIST.replace("duration: 20", "duration: 0")


@dataclass(frozen=True)
class Signage:
    sensor_token: str
    seed: Seed


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.with_overrides(playlists_dir=tmp_path / "signage_playlists")


@pytest.fixture
def signage(engine: Engine, settings: Settings, seed: Seed) -> Signage:
    now = utcnow()
    with session_scope(engine) as session:
        session.execute(
            update(Store).where(Store.id == settings.store_id).values(timezone="Europe/Bucharest")
        )
        session.add_all(
            [Zone(id=zone, store_id=settings.store_id) for zone in ("dairy", "entrance")]
        )
        session.flush()
        session.add_all(
            [
                Player(
                    id="screen-01",
                    store_id=settings.store_id,
                    zone_id="dairy",
                    name="Dairy left",
                    online=True,
                    last_seen=now,
                    now_playing="news",
                    last_pop_at=now - timedelta(seconds=30),
                ),
                Player(id="screen-02", store_id=settings.store_id, zone_id="dairy"),
            ]
        )
        create_user(session, *SENSOR, "sensor")
        token = issue_api_token(session, SENSOR[0])
    return Signage(sensor_token=token, seed=seed)


def post_form(client: FlaskClient, path: str, data: dict, page: str = "/signage/players"):
    """A dashboard form post with the CSRF token taken from `page`."""
    return client.post(path, data={**data, "csrf_token": csrf_token_from(client, page)})


def png_upload(name: str = "welcome.png", data: bytes = PNG) -> tuple[io.BytesIO, str, str]:
    return (io.BytesIO(data), name, "image/png")
