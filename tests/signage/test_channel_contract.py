"""The PlayerChannel contract, for every screen driver (parametrised by `driver`).

Each test runs the real driver on its real transport against a peer playing the screen
(tests/support/player_peers.py), with the signage service as the core where the contract
involves it. Waits poll for an outcome; nothing asserts on time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.ads.ingest import PlayIngestor
from esl_controller.db import session_scope
from esl_controller.models import Override, Play, Player
from esl_controller.signage import protocol
from esl_controller.signage.channel import PlayerChannel, PlaylistDelivery
from esl_controller.signage.override_ids import reserve_override_ids_in
from esl_controller.signage.service import SignageService
from esl_controller.signage.states import OverrideState
from tests.support.player_peers import PlayerPeer
from tests.support.signage_store import seed_signage_store

pytestmark = pytest.mark.mqtt

MEDIA_SHA = "cd" * 32
BASE = "http://127.0.0.1:8080/media/"


def delivery(player: str, name: str, duration_s: float) -> PlaylistDelivery:
    items = (protocol.ScreenItem("welcome", "image", duration_s, media=MEDIA_SHA),)
    digest = protocol.playlist_digest(name, items, None, BASE)
    return PlaylistDelivery(player, name, items, None, BASE, digest)


@pytest.fixture
def service(engine, settings, tmp_path, player_channel, mqtt_session) -> Iterator[SignageService]:
    seed_signage_store(engine, settings, {"scr-1": "dairy", "scr-2": "dairy"})
    settings = settings.with_overrides(playlists_dir=tmp_path / "no_playlists")
    service = SignageService(
        engine, settings, [player_channel], ingestor=PlayIngestor(engine, settings)
    ).open_channels()
    mqtt_session.start(wait=10)
    yield service
    service.stop()


def pump(service: SignageService, done: Callable[[], bool], limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not done():
        assert time.monotonic() < deadline, "condition not reached"
        service.step(0.02)


def stored(engine, model, *where) -> list:
    with Session(engine) as session:
        return list(session.scalars(select(model).where(*where)).all())


# --- playlist ---------------------------------------------------------------------------------


def test_playlist_reaches_a_player_that_connects_later_and_again_after_a_reconnect(
    player_channel: PlayerChannel, mqtt_session, make_peer: Callable[[str], PlayerPeer]
) -> None:
    mqtt_session.start(wait=10)
    player_channel.send_playlist(delivery("scr-1", "morning", 10.0))  # nobody listening yet
    peer = make_peer("scr-1")
    peer.connect()
    assert peer.wait_for(lambda: bool(peer.playlists()))
    assert [m.playlist for m in peer.playlists()] == ["morning"]

    peer.disconnect()
    player_channel.send_playlist(delivery("scr-1", "noon", 12.0))  # while it is away
    peer.connect()
    assert peer.wait_for(lambda: peer.playlists()[-1].playlist == "noon")
    latest = peer.playlists()[-1]
    assert latest.items[0].duration_s == 12.0
    assert latest.digest == delivery("scr-1", "noon", 12.0).digest
    # Only the latest is kept: the old one may still come once on reconnecting while the
    # new one is on its way (MQTT's retained message), but never after the new one.
    names = [m.playlist for m in peer.playlists()]
    assert "morning" not in names[names.index("noon") :]


# --- override and revert ------------------------------------------------------------------------


def manual_override(engine, zone: str, seconds: float) -> int:
    item = protocol.ScreenItem("announce", "image", 10.0, media=MEDIA_SHA)
    with session_scope(engine) as session:
        row = Override(
            id=reserve_override_ids_in(session.connection(), 1)[0],
            zone_id=zone,
            kind="manual",
            content=protocol.item_json(item),
            priority=90,
            expires_at=datetime.now(UTC) + timedelta(seconds=seconds),
            created_by="ana",
        )
        session.add(row)
        session.flush()
        return row.id


def test_override_reaches_online_players_then_a_late_one_and_is_reverted_at_its_ttl(
    service: SignageService, engine, make_peer
) -> None:
    first, late = make_peer("scr-1"), make_peer("scr-2")
    first.connect()
    pump(service, lambda: "scr-1" in service.online_players())
    override_id = manual_override(engine, "dairy", 2.0)
    pump(service, lambda: bool(first.overrides()))
    [command] = first.overrides()
    assert (command.override_id, command.priority, command.item.id) == (override_id, 90, "announce")
    assert command.expires_at > datetime.now(UTC) - timedelta(seconds=5)

    late.connect()  # within the TTL: the held override reaches it on presence
    pump(service, lambda: bool(late.overrides()))
    assert [c.override_id for c in late.overrides()] == [override_id]

    pump(service, lambda: bool(first.reverts()) and bool(late.reverts()))
    assert first.reverts() == [override_id] and late.reverts() == [override_id]
    [row] = stored(engine, Override, Override.id == override_id)
    assert row.state == OverrideState.EXPIRED
    for _ in range(5):
        service.step(0.05)
    assert len(first.overrides()) == 1 and len(first.reverts()) == 1  # nothing sent twice


# --- proof of play ------------------------------------------------------------------------------


def a_play(player: str, item: str = "welcome") -> protocol.Play:
    start = datetime.now(UTC) - timedelta(seconds=30)
    return protocol.Play(str(uuid.uuid4()), player, item, start, start + timedelta(seconds=10))


def test_proof_of_play_reaches_the_core_once_per_play_id(
    service: SignageService, engine, make_peer
) -> None:
    peer = make_peer("scr-1")
    peer.connect()
    batch = [a_play("scr-1"), a_play("scr-1", "coffee")]
    peer.send_plays(batch)
    peer.send_plays(batch)  # a replay after a reconnect: same play ids
    pump(service, lambda: service.stats["plays"] >= 4)

    rows = stored(engine, Play, Play.player_id == "scr-1")
    assert sorted(r.play_id for r in rows) == sorted(p.play_id for p in batch)
    assert service.stats["plays_accepted"] == 2
    assert service.stats["plays_duplicate"] == 2
    [player] = stored(engine, Player, Player.id == "scr-1")
    assert player.last_pop_at is not None


def test_plays_count_for_the_player_the_transport_authenticated_only(
    service: SignageService, engine, make_peer
) -> None:
    peer = make_peer("scr-1")
    peer.connect()
    own, claimed = a_play("scr-1"), a_play("scr-2")  # scr-1 reporting a play of scr-2
    if peer.send_plays([own, claimed]):  # the worker refuses the claimed play
        pump(service, lambda: service.stats["plays"] >= 2)
        assert service.stats["plays_rejected"] == 1
    else:  # the transport's edge refused the whole batch: the player sends its own again
        assert peer.send_plays([own])
        pump(service, lambda: service.stats["plays"] >= 1)
    assert [r.play_id for r in stored(engine, Play)] == [own.play_id]


# --- presence -----------------------------------------------------------------------------------


def test_presence_online_offline_and_a_lost_connection(
    service: SignageService, engine, make_peer
) -> None:
    peer = make_peer("scr-1")
    peer.connect()
    pump(service, lambda: "scr-1" in service.online_players())
    [row] = stored(engine, Player, Player.id == "scr-1")
    assert row.online and row.now_playing == "welcome" and row.last_seen is not None

    peer.disconnect(clean=True)
    pump(service, lambda: "scr-1" not in service.online_players())
    [row] = stored(engine, Player, Player.id == "scr-1")
    assert not row.online and row.now_playing is None

    peer.connect()
    pump(service, lambda: "scr-1" in service.online_players())
    peer.disconnect(clean=False)  # no goodbye: the transport notices (MQTT: the last will)
    pump(service, lambda: "scr-1" not in service.online_players(), limit=30.0)
    assert not stored(engine, Player, Player.id == "scr-1")[0].online
