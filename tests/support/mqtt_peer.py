"""A bare paho client for broker tests: connects, subscribes, records what it receives.

Deliberately not esl_controller.mqtt: broker conformance is checked with the plainest
client, so a wrapper's retries or resubscriptions cannot hide a broker's gap.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

WAIT_S = 10.0


class Peer:
    """One MQTT connection. `url` is mqtt://host:port or ws://host:port/path."""

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        persistent: bool = False,
        mqtt5: bool = False,
        manual_ack: bool = False,
        will: tuple[str, bytes, bool] | None = None,
        session_expiry_s: int = 300,
    ) -> None:
        parts = urlsplit(url)
        websockets = parts.scheme == "ws"
        protocol = paho.MQTTv5 if mqtt5 else paho.MQTTv311
        options: dict = {"client_id": client_id, "protocol": protocol}
        if not mqtt5:
            options["clean_session"] = not persistent
        if websockets:
            options["transport"] = "websockets"
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, **options)
        if websockets:
            self.client.ws_set_options(path=parts.path or "/mqtt")
        self.client.manual_ack_set(manual_ack)
        if will:
            topic, payload, retain = will
            self.client.will_set(topic, payload, qos=1, retain=retain)
        self.inbox: queue.SimpleQueue[paho.MQTTMessage] = queue.SimpleQueue()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.client.on_connect = lambda *_: self._connected.set()
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = lambda _c, _u, message: self.inbox.put(message)
        connect: dict = {}
        if mqtt5:
            connect["clean_start"] = not persistent
            if persistent:
                properties = Properties(PacketTypes.CONNECT)
                properties.SessionExpiryInterval = session_expiry_s
                connect["properties"] = properties
        self.client.connect(parts.hostname, parts.port, keepalive=5, **connect)
        self.client.loop_start()
        if not self._connected.wait(WAIT_S):
            self.kill()
            raise ConnectionError(f"{client_id} could not connect to {url}")

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic_filter, qos)
        assert self._subscribed.wait(WAIT_S), f"no SUBACK for {topic_filter}"

    def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(WAIT_S)

    def receive(self, count: int, timeout: float = WAIT_S) -> list[paho.MQTTMessage]:
        """Up to `count` messages, waiting at most `timeout` for them all."""
        got: list[paho.MQTTMessage] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with contextlib.suppress(queue.Empty):
                got.append(self.inbox.get(timeout=left))
        return got

    def quiet_for(self, seconds: float) -> list[paho.MQTTMessage]:
        """Whatever else arrives within `seconds` (what must not arrive, in a test)."""
        return self.receive(1_000_000, timeout=seconds)

    def ack(self, message: paho.MQTTMessage) -> None:
        self.client.ack(message.mid, message.qos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def kill(self) -> None:
        """Lose the connection without DISCONNECT, as a pulled cable or a crash does."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
