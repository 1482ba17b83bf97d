"""The one paho-mqtt client wrapper: connect, subscribe, dispatch.

Domain code never sees paho. It registers handlers for topic filters; the wrapper
resubscribes after every reconnect, and a handler that raises is logged and counted,
never allowed to kill the network loop (a malformed payload must not stop a store).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]
# A durable handler acks itself, once what it received is committed (see subscribe_durable).
DurableHandler = Callable[[str, bytes, Callable[[], None]], None]


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_mqtt_url(url: str) -> MqttTarget:
    """`mqtt://user:pass@host:1883` or `mqtts://host:8883` into its parts."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp"):
        raise ValueError(f"MQTT URL must start with mqtt:// or mqtts://, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"MQTT URL has no host: {url!r}")
    tls = parts.scheme == "mqtts"
    return MqttTarget(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    retain: bool = True
    qos: int = 1


def _no_delay(_client: paho.Client, _userdata: object, sock: socket.socket) -> None:
    with contextlib.suppress(OSError, AttributeError):  # not a TCP socket (e.g. websockets)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MqttClient:
    """A long-lived MQTT session with handlers per topic filter."""

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        will: Will | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.target = parse_mqtt_url(url)
        self.client_id = client_id
        self.errors: Counter[str] = Counter()
        self._handlers: list[tuple[str, int, Handler]] = []
        self._durable: list[tuple[str, int, DurableHandler]] = []
        self._connected_listeners: list[Callable[[], None]] = []
        if on_connected:
            self._connected_listeners.append(on_connected)
        self._connected = threading.Event()
        self._stopping = False
        self._client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            reconnect_on_failure=True,
        )
        # We ack QoS 1 messages ourselves: at once for ordinary handlers, and only after the
        # data is committed for durable ones, so a crash makes the broker redeliver them.
        self._client.manual_ack_set(True)
        # QoS 1 throughput: paho's default of 20 in-flight messages throttles a bulk push.
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        if self.target.username:
            self._client.username_pw_set(self.target.username, self.target.password)
        if self.target.tls:
            self._client.tls_set()
        if will:
            self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        # Small MQTT packets must not wait on Nagle's algorithm: without TCP_NODELAY an
        # override or ack sits ~40 ms in the kernel (measured in bench/bench_triggers.py).
        self._client.on_socket_open = _no_delay
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message

    def add_connected_listener(self, listener: Callable[[], None]) -> None:
        """Called after every (re)connection, once the subscriptions are renewed."""
        self._connected_listeners.append(listener)

    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        self._handlers.append((topic_filter, qos, handler))
        if self._connected.is_set():
            self._client.subscribe(topic_filter, qos=qos)

    def subscribe_durable(self, topic_filter: str, handler: DurableHandler, qos: int = 1) -> None:
        """Like `subscribe`, but the handler gets an `ack()` to call after committing.

        With the persistent session (clean_session=False), a message not acked when the
        worker dies is delivered again after it reconnects: proof of play is never lost.
        """
        self._durable.append((topic_filter, qos, handler))
        if self._connected.is_set():
            self._client.subscribe(topic_filter, qos=qos)

    def start(self, wait: float | None = 15.0) -> MqttClient:
        self._client.connect_async(self.target.host, self.target.port, keepalive=30)
        self._client.loop_start()
        if wait and not self._connected.wait(wait):
            raise ConnectionError(
                f"no MQTT connection to {self.target.host}:{self.target.port} after {wait:.0f} s"
            )
        return self

    def stop(self) -> None:
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            # NO_CONN: paho keeps QoS>0 messages queued and sends them after reconnecting.
            raise ConnectionError(f"MQTT publish to {topic} failed: {paho.error_string(info.rc)}")

    def _handle_connect(self, client, _userdata, _flags, reason_code, _props) -> None:
        if reason_code.is_failure:
            log.error("MQTT connection refused: %s", reason_code)
            return
        for topic_filter, qos, _handler in [*self._handlers, *self._durable]:
            client.subscribe(topic_filter, qos=qos)
        self._connected.set()
        log.info(
            "MQTT connected to %s:%s as %s", self.target.host, self.target.port, self.client_id
        )
        for listener in self._connected_listeners:
            try:
                listener()
            except Exception:  # one listener must not keep the others from hearing it
                log.exception("MQTT connected listener failed")

    def _handle_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:
        self._connected.clear()
        if not self._stopping:
            log.warning("MQTT disconnected (%s); reconnecting", reason_code)

    def _handle_message(self, _client, _userdata, message: paho.MQTTMessage) -> None:
        for topic_filter, _qos, handler in self._handlers:
            if paho.topic_matches_sub(topic_filter, message.topic):
                self._run(topic_filter, handler, message.topic, message.payload)
        durable = [
            (topic_filter, handler)
            for topic_filter, _qos, handler in self._durable
            if paho.topic_matches_sub(topic_filter, message.topic)
        ]
        if not durable:
            self._ack(message)
            return
        acked = threading.Event()

        def ack() -> None:  # called by the consumer once it committed; once is enough
            if not acked.is_set():
                acked.set()
                self._ack(message)

        for topic_filter, handler in durable:
            self._run(topic_filter, handler, message.topic, message.payload, ack)

    def _run(self, topic_filter: str, handler: Callable, topic: str, *args: object) -> None:
        try:
            handler(topic, *args)
        except Exception:  # one bad message must not stop the loop
            self.errors[topic_filter] += 1
            log.exception("handler for %s failed on %s", topic_filter, topic)

    def _ack(self, message: paho.MQTTMessage) -> None:
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)
