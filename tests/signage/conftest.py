"""Signage fixtures: the player channels, built through the registry as the worker does."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine

from esl_controller.config import Settings
from esl_controller.mqtt import MqttClient
from esl_controller.signage.channel import PlayerChannel
from esl_controller.signage.channel_registry import ChannelContext, open_channels
from tests.support.player_peers import PEERS, PlayerPeer


@pytest.fixture
def mqtt_session(settings: Settings) -> Iterator[MqttClient]:
    """The worker's broker session (not started: open channels first, then start it)."""
    client = MqttClient(settings.mqtt_url, client_id=f"ctl-{uuid.uuid4().hex[:10]}")
    yield client
    client.stop()


@pytest.fixture(params=sorted(PEERS))
def driver(request: pytest.FixtureRequest) -> str:
    """Every screen driver that has a peer in tests/support/player_peers.py."""
    return request.param


@pytest.fixture
def player_channel(
    driver: str, settings: Settings, mqtt_session: MqttClient, engine: Engine
) -> Iterator[PlayerChannel]:
    context = ChannelContext(settings, mqtt=mqtt_session, engine=engine)
    [channel] = open_channels([driver], context)
    yield channel
    channel.close()
    return channel


@pytest.fixture
def make_peer(driver: str, settings: Settings) -> Iterator[Callable[[str], PlayerPeer]]:
    peers: list[PlayerPeer] = []

    def make(player: str) -> PlayerPeer:
        peer = PEERS[driver](settings, player)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()
