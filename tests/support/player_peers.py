"""Stand-ins for a real screen, one per player-channel driver, for the contract tests.

A peer speaks its driver's transport from the player's side: it connects and disconnects
(cleanly or not), records what the controller sent it, and reports proof of play. Adding a
driver means adding its peer to `PEERS`; tests/signage/test_channel_contract.py then holds
that driver to the same contract.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import paho.mqtt.client as paho

from esl_controller.config import Settings
from esl_controller.mqtt import parse_mqtt_url
from esl_controller.signage import protocol
from esl_controller.signage.drivers.mqtt import topics

WAIT_S = 15.0


class PlayerPeer(Protocol):
    player: str

    def connect(self) -> None: ...

    def disconnect(self, clean: bool = True) -> None: ...

    def playlists(self) -> list[protocol.PlaylistMessage]: ...

    def overrides(self) -> list[protocol.OverrideCommand]: ...

    def reverts(self) -> list[int]: ...

    def send_plays(self, plays: Sequence[protocol.Play]) -> None: ...

    def wait_for(self, condition: Callable[[], bool], timeout: float = WAIT_S) -> bool: ...

    def close(self) -> None: ...


class MqttPlayerPeer:
    """docs/protocol.md S9 from the player's side: last will, subscriptions, retained status."""

    def __init__(self, settings: Settings, player: str) -> None:
        self.player = player
        self.prefix, self.store = settings.topic_prefix, settings.store_id
        self._target = parse_mqtt_url(settings.mqtt_url)
        self._received: list[tuple[str, bytes]] = []
        self._changed = threading.Condition()
        self._client: paho.Client | None = None
        self._status_topic = topics.player_status_topic(self.prefix, self.store, player)

    def connect(self) -> None:
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"peer-{self.player}-{uuid.uuid4().hex[:6]}"
        )
        offline = protocol.player_status_payload(protocol.OFFLINE_STATUS)
        client.will_set(self._status_topic, offline, qos=1, retain=True)
        subscribed = threading.Event()
        client.on_subscribe = lambda *_args: subscribed.set()
        client.on_message = self._record
        client.connect(self._target.host, self._target.port, keepalive=5)
        client.loop_start()
        wanted = topics.player_subscriptions(self.prefix, self.store, self.player)
        client.subscribe([(topic, 1) for topic in wanted])
        assert subscribed.wait(WAIT_S), "peer could not subscribe"
        online = protocol.player_status_payload(protocol.PlayerStatus("online", "welcome"))
        client.publish(self._status_topic, online, qos=1, retain=True).wait_for_publish(WAIT_S)
        self._client = client

    def disconnect(self, clean: bool = True) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if clean:
            offline = protocol.player_status_payload(protocol.OFFLINE_STATUS)
            client.publish(self._status_topic, offline, qos=1, retain=True).wait_for_publish(WAIT_S)
            client.disconnect()
            client.loop_stop()
        else:
            # Lose the connection without DISCONNECT: the broker publishes the last will.
            client.loop_stop()  # first, or paho would reconnect
            sock = client.socket()
            if sock is not None:
                sock.close()

    def _record(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        with self._changed:
            self._received.append((message.topic.rsplit("/", 1)[-1], message.payload))
            self._changed.notify_all()

    def _payloads(self, kind: str) -> list[bytes]:
        with self._changed:
            return [payload for got, payload in self._received if got == kind and payload]

    def playlists(self) -> list[protocol.PlaylistMessage]:
        return [protocol.parse_playlist_message(p) for p in self._payloads("playlist")]

    def overrides(self) -> list[protocol.OverrideCommand]:
        return [protocol.parse_override(p) for p in self._payloads("override")]

    def reverts(self) -> list[int]:
        return [protocol.parse_revert(p).override_id for p in self._payloads("revert")]

    def send_plays(self, plays: Sequence[protocol.Play]) -> None:
        assert self._client is not None, "connect() the peer first"
        topic = topics.pop_topic(self.prefix, self.store, self.player)
        self._client.publish(topic, protocol.pop_payload(plays), qos=1).wait_for_publish(WAIT_S)

    def wait_for(self, condition: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout)

    def close(self) -> None:
        """Leave no retained message behind (topics are per test, but be tidy)."""
        self.disconnect(clean=True)
        cleaner = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"clean-{uuid.uuid4()}")
        cleaner.connect(self._target.host, self._target.port)
        cleaner.loop_start()
        for topic in (
            self._status_topic,
            topics.playlist_topic(self.prefix, self.store, self.player),
        ):
            cleaner.publish(topic, b"", qos=1, retain=True).wait_for_publish(WAIT_S)
        cleaner.loop_stop()
        cleaner.disconnect()


PeerFactory = Callable[[Settings, str], PlayerPeer]
PEERS: dict[str, PeerFactory] = {"mqtt": MqttPlayerPeer}
