"""Stand-ins for a real screen, one per player-channel driver, for the contract tests.

A peer speaks its driver's transport from the player's side: it connects and disconnects
(cleanly or not), records what the controller sent it, and reports proof of play. Adding a
driver means adding its peer to `PEERS`; tests/signage/test_channel_contract.py then holds
that driver to the same contract.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

import paho.mqtt.client as paho
import requests

from esl_controller import db
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

    def send_plays(self, plays: Sequence[protocol.Play]) -> bool:
        """True when the transport took the batch; False when its edge refused it whole."""
        ...

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

    def send_plays(self, plays: Sequence[protocol.Play]) -> bool:
        assert self._client is not None, "connect() the peer first"
        topic = topics.pop_topic(self.prefix, self.store, self.player)
        self._client.publish(topic, protocol.pop_payload(plays), qos=1).wait_for_publish(WAIT_S)
        return True  # a broker takes any batch on the player's own topic

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


class BrowserPlayerPeer:
    """The page at /screen from the player's side, without a browser: its own credential,
    the Server-Sent Events stream, and the HTTP posts (docs/screens.md)."""

    def __init__(self, settings: Settings, player: str) -> None:
        self.player = player
        self._server = ScreenServer.for_settings(settings)
        self._token = self._server.credential(player)
        self._events: list[tuple[str, str]] = []
        self._changed = threading.Condition()
        self._stream: requests.Response | None = None
        self._reader: threading.Thread | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def connect(self) -> None:
        stream = requests.get(
            self._server.url + "/screen/api/events",
            headers=self._headers(),
            stream=True,
            timeout=(WAIT_S, None),
        )
        stream.raise_for_status()
        self._stream = stream
        ready = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(stream, ready), daemon=True)
        self._reader.start()
        assert ready.wait(WAIT_S), "the stream never said it was ready"
        self._status({"state": "online", "now_playing": "welcome"})

    def _read(self, stream: requests.Response, ready: threading.Event) -> None:
        kind, data = "message", []
        try:
            for line in stream.iter_lines(decode_unicode=True):
                if line is None:
                    continue
                if line == "":
                    if data:
                        if kind == "ready":
                            ready.set()
                        with self._changed:
                            self._events.append((kind, "\n".join(data)))
                            self._changed.notify_all()
                    kind, data = "message", []
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        except (requests.RequestException, AttributeError, ValueError):
            return  # the stream was closed under the reader

    def _status(self, body: dict[str, Any]) -> None:
        response = requests.post(
            self._server.url + "/screen/api/status",
            json=body,
            headers=self._headers(),
            timeout=WAIT_S,
        )
        response.raise_for_status()

    def disconnect(self, clean: bool = True) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        if clean:
            self._status({"state": "offline"})
        stream.close()  # a page that vanishes says nothing: the heartbeats stop

    def _payloads(self, kind: str) -> list[str]:
        with self._changed:
            return [data for got, data in self._events if got == kind]

    def playlists(self) -> list[protocol.PlaylistMessage]:
        return [protocol.parse_playlist_message(p) for p in self._payloads("playlist")]

    def overrides(self) -> list[protocol.OverrideCommand]:
        return [protocol.parse_override(p) for p in self._payloads("override")]

    def reverts(self) -> list[int]:
        return [protocol.parse_revert(p).override_id for p in self._payloads("revert")]

    def send_plays(self, plays: Sequence[protocol.Play]) -> bool:
        body = {"plays": json.loads(protocol.pop_payload(plays)), "version": "peer"}
        response = requests.post(
            self._server.url + "/screen/api/plays",
            json=body,
            headers=self._headers(),
            timeout=WAIT_S,
        )
        if response.status_code == 403:
            return False  # a batch naming another player is refused whole
        response.raise_for_status()
        return True

    def wait_for(self, condition: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout)

    def close(self) -> None:
        self.disconnect(clean=False)


class ScreenServer:
    """The web app on a free port over the test's database, one per database."""

    _running: ClassVar[dict[str, ScreenServer]] = {}  # by database: one per test

    def __init__(self, settings: Settings) -> None:
        from werkzeug.serving import make_server

        from esl_controller.web import create_app

        self.engine = db.make_engine(settings.resolved_database_url)
        db.init_db(self.engine)
        self._server = make_server("127.0.0.1", 0, create_app(settings, self.engine), threaded=True)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @classmethod
    def for_settings(cls, settings: Settings) -> ScreenServer:
        key = settings.resolved_database_url
        server = cls._running.get(key)
        if server is None:
            server = cls._running[key] = cls(settings)
        return server

    def credential(self, player: str) -> str:
        from esl_controller.web.auth import PLAYER_ROLE, create_user, find_user, issue_api_token

        with db.session_scope(self.engine) as session:
            if find_user(session, player) is None:
                create_user(session, player, uuid.uuid4().hex, PLAYER_ROLE)
            return issue_api_token(session, player)


PEERS["browser"] = BrowserPlayerPeer
