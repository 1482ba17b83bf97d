"""The local brokers keep the promises the controller relies on.

Every check runs against each broker this machine can start (Mosquitto from PATH with the
generated config, and the embedded rumqttd), with plain paho clients over real sockets.
"""

from __future__ import annotations

import os
import socket
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from esl_controller.broker import (
    MESSAGE_SIZE_LIMIT,
    PACKET_OVERHEAD,
    BrokerKind,
    Listeners,
    LocalBroker,
    PortInUse,
    free_port,
    mosquitto_config,
    rumqttd_config,
    start_local_broker,
)
from esl_controller.signage.drivers.mqtt import topics as signage
from esl_controller.sims.base_station import BaseStationSim
from esl_controller.sims.player import PlayerSim
from tests.support.brokers import require_broker
from tests.support.mqtt_peer import Peer

pytestmark = pytest.mark.mqtt


@pytest.fixture
def broker(each_local_broker: LocalBroker) -> LocalBroker:
    return each_local_broker


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def peers(broker: LocalBroker, prefix: str) -> Iterator:
    """`peers("name", **options)` -> a connected Peer, closed after the test."""
    opened: list[Peer] = []

    def connect(name: str, url: str | None = None, **options) -> Peer:
        peer = Peer(url or broker.url, f"{name}-{prefix}", **options)
        opened.append(peer)
        return peer

    yield connect
    for peer in opened:
        peer.close()


# --- retained messages ----------------------------------------------------------------


def test_a_retained_message_reaches_only_the_filters_it_matches(peers, prefix):
    publisher = peers("pub")
    publisher.publish(f"{prefix}/a/b/y", b"y", retain=True)
    publisher.publish(f"{prefix}/a/b/x", b"x", retain=True)
    wider = peers("wider")
    wider.subscribe(f"{prefix}/a/#")
    assert sorted(m.topic for m in wider.receive(2)) == [f"{prefix}/a/b/x", f"{prefix}/a/b/y"]

    narrow = peers("narrow")
    narrow.subscribe(f"{prefix}/a/+/x")
    got = narrow.receive(1)
    assert [(m.topic, m.payload, m.retain) for m in got] == [(f"{prefix}/a/b/x", b"x", True)]
    assert narrow.quiet_for(0.5) == []


def test_a_client_gets_no_retained_message_for_another_clients_subscription(peers, prefix):
    """The cause of players hearing base stations: amqtt replays, to every client that
    connects, the retained messages matching anybody's subscriptions."""
    station_status = f"{prefix}/store-1/bs-01/status"
    peers("station").publish(station_status, b'{"state":"online"}', retain=True)
    controller = peers("controller")
    controller.subscribe(f"{prefix}/store-1/+/status")
    assert [m.topic for m in controller.receive(1)] == [station_status]

    player = peers("player")
    player.subscribe(f"{prefix}/store-1/signage/player/p1/playlist")
    assert player.quiet_for(1.0) == []


def test_an_empty_retained_message_clears_the_topic(peers, prefix):
    publisher = peers("pub")
    publisher.publish(f"{prefix}/status", b"online", retain=True)
    publisher.publish(f"{prefix}/status", b"", retain=True)
    late = peers("late")
    late.subscribe(f"{prefix}/#")
    assert late.quiet_for(0.5) == []


# --- persistent sessions and QoS 1 ------------------------------------------------------


def test_a_persistent_session_gets_the_qos1_messages_queued_while_it_was_away(peers, prefix):
    station = peers("station", persistent=True)
    station.subscribe(f"{prefix}/label/+/image")
    station.close()
    controller = peers("controller")
    sent = [f"frame-{n}".encode() for n in range(20)]
    for payload in sent:
        controller.publish(f"{prefix}/label/L1/image", payload)

    back = peers("station", persistent=True)
    assert [m.payload for m in back.receive(20)] == sent


def test_an_mqtt5_session_with_an_expiry_keeps_its_queue(broker, peers, prefix):
    url = broker.mqtt5_url
    station = peers("station5", url, mqtt5=True, persistent=True, session_expiry_s=300)
    station.subscribe(f"{prefix}/cmd")
    station.close()
    controller = peers("controller5", url, mqtt5=True)
    for n in range(20):
        controller.publish(f"{prefix}/cmd", str(n).encode())

    back = peers("station5", url, mqtt5=True, persistent=True, session_expiry_s=300)
    assert [m.payload for m in back.receive(20)] == [str(n).encode() for n in range(20)]


def test_an_unacknowledged_qos1_message_is_delivered_again_after_a_reconnect(peers, prefix):
    """The worker acks proof of play only once it is committed; a crash before that must
    make the broker deliver it again."""
    worker = peers("worker", persistent=True, manual_ack=True)
    worker.subscribe(f"{prefix}/pop")
    peers("player").publish(f"{prefix}/pop", b"play-1")
    assert [m.payload for m in worker.receive(1)] == [b"play-1"]
    worker.kill()  # crashed before the commit: never acked

    again = peers("worker", persistent=True, manual_ack=True)
    redelivered = again.receive(1)
    assert [m.payload for m in redelivered] == [b"play-1"]
    again.ack(redelivered[0])


def test_a_large_label_frame_passes(peers, prefix):
    station = peers("station")
    station.subscribe(f"{prefix}/image")
    frame = bytes(range(256)) * (MESSAGE_SIZE_LIMIT // 256 - 8)  # a 7.5" BWR panel is ~96 KB
    peers("controller").publish(f"{prefix}/image", frame)
    assert [m.payload for m in station.receive(1)] == [frame]


# --- last will ------------------------------------------------------------------------


def test_the_last_will_is_published_and_retained_when_a_client_vanishes(peers, prefix):
    status = f"{prefix}/bs-01/status"
    watcher = peers("watcher")
    watcher.subscribe(status)
    station = peers("station", will=(status, b"offline", True))
    station.publish(status, b"online", retain=True)
    assert [m.payload for m in watcher.receive(1)] == [b"online"]

    station.kill()
    assert [m.payload for m in watcher.receive(1)] == [b"offline"]
    late = peers("late")
    late.subscribe(status)
    assert [(m.payload, m.retain) for m in late.receive(1)] == [(b"offline", True)]


def test_a_clean_disconnect_sends_no_last_will(peers, prefix):
    watcher = peers("watcher")
    watcher.subscribe(f"{prefix}/will")
    peers("polite", will=(f"{prefix}/will", b"gone", False)).close()
    assert watcher.quiet_for(1.0) == []


# --- websockets -------------------------------------------------------------------------


def test_a_websockets_client_talks_with_a_tcp_client(broker, peers, prefix):
    browser = peers("browser", broker.ws_url)
    browser.subscribe(f"{prefix}/player/p1/override")
    peers("controller").publish(f"{prefix}/player/p1/override", b"sale")
    assert [m.payload for m in browser.receive(1)] == [b"sale"]

    listener = peers("listener")
    listener.subscribe(f"{prefix}/player/p1/pop")
    browser.publish(f"{prefix}/player/p1/pop", b"play")
    assert [m.payload for m in listener.receive(1)] == [b"play"]


# --- the simulators on it ---------------------------------------------------------------


def test_players_never_hear_the_base_stations(broker, prefix):
    store = "store-1"
    stations = BaseStationSim(broker.url, prefix, store, ["bs-01", "bs-02"]).start()
    controller = Peer(broker.url, f"controller-{prefix}")
    try:
        controller.subscribe(f"{prefix}/{store}/+/status")
        assert len(controller.receive(2)) == 2  # both stations' retained status is there
        players = PlayerSim(broker.url, prefix, store, ["p1", "p2"]).start()
        try:
            heard = Peer(broker.url, f"probe-{prefix}")
            heard.subscribe(signage.player_status_topic(prefix, store, "p1"))
            assert heard.receive(1), "player p1 never came online"
            heard.close()
            assert sum(players.bad_messages.values()) == 0
        finally:
            players.stop()
    finally:
        controller.close()
        stations.stop()


def test_the_broker_does_not_share_the_terminals_ctrl_c(broker):
    """Ctrl-C reaches the whole foreground process group: the broker must not die before
    the clients said goodbye (they would log lost connections); it is stopped last."""
    assert os.getpgid(broker.pid) != os.getpgid(0)
    assert os.getsid(broker.pid) == broker.pid


# --- restarts ---------------------------------------------------------------------------


def test_mosquitto_keeps_queued_messages_across_a_restart(tmp_path: Path, prefix):
    require_broker(BrokerKind.MOSQUITTO)
    broker = start_local_broker(tmp_path, BrokerKind.MOSQUITTO)
    try:
        station = Peer(broker.url, f"station-{prefix}", persistent=True)
        station.subscribe(f"{prefix}/cmd")
        station.close()
        controller = Peer(broker.url, f"controller-{prefix}")
        controller.publish(f"{prefix}/cmd", b"queued before the restart")
        controller.close()
        port = broker.port
        broker.stop()
        broker = start_local_broker(tmp_path, BrokerKind.MOSQUITTO, port=port)
        back = Peer(broker.url, f"station-{prefix}", persistent=True)
        assert [m.payload for m in back.receive(1)] == [b"queued before the restart"]
        back.close()
    finally:
        broker.stop()


# --- configuration (pure) ---------------------------------------------------------------

LISTENERS = Listeners("127.0.0.1", mqtt_port=18830, ws_port=18831, mqtt5_port=18832)


def test_the_mosquitto_config_has_a_websockets_listener_and_persists_in_the_data_dir(tmp_path):
    lines = mosquitto_config(LISTENERS, tmp_path, run_as=None).splitlines()
    ws = lines.index("listener 18831 127.0.0.1")
    assert lines[ws + 1] == "protocol websockets"
    assert "listener 18830 127.0.0.1" in lines
    assert f"persistence_location {tmp_path}/" in lines
    assert f"max_packet_size {MESSAGE_SIZE_LIMIT + PACKET_OVERHEAD}" in lines
    assert not any(line.startswith("user ") for line in lines)
    assert "user root" in mosquitto_config(LISTENERS, tmp_path, run_as="root").splitlines()


def test_the_rumqttd_config_listens_on_every_port_with_the_same_limits():
    config = tomllib.loads(rumqttd_config(LISTENERS))
    listeners = {section: config[section]["1"]["listen"] for section in ("v4", "v5", "ws")}
    assert listeners == {
        "v4": "127.0.0.1:18830",
        "v5": "127.0.0.1:18832",
        "ws": "127.0.0.1:18831",
    }
    limits = {config[s]["1"]["connections"]["max_payload_size"] for s in ("v4", "v5", "ws")}
    assert limits == {MESSAGE_SIZE_LIMIT}


@pytest.mark.parametrize("kind", list(BrokerKind), ids=str)
def test_a_port_in_use_is_refused_saying_so(kind, tmp_path):
    require_broker(kind)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse, match=r"(?i)address already in use"):
            start_local_broker(tmp_path, kind, port=port, ws_port=free_port())


def test_an_unknown_broker_kind_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="unknown local broker 'hbmqtt'; choose one of"):
        start_local_broker(tmp_path, "hbmqtt")


def test_the_deploy_config_serves_mqtt_over_tls_websockets_for_browser_players():
    deploy = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto.conf"
    blocks: list[list[str]] = []
    for raw in deploy.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("listener "):
            blocks.append([line])
        elif line and blocks:
            blocks[-1].append(line)
    websockets = [block for block in blocks if "protocol websockets" in block]
    assert len(websockets) == 1
    keys = {line.split()[0] for line in websockets[0]}
    assert {"certfile", "keyfile"} <= keys
