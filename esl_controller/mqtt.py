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
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]
# A durable message not committed by then is handed back: the connection is dropped so the
# broker delivers it again, instead of it holding back every ack behind it (InOrderAcks).
ACK_PATIENCE_S = 60.0
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


class InOrderAcks:
    """PUBACKs in the order the PUBLISHes arrived, as MQTT 3.1.1 (4.6) requires.

    A durable message is acked only once its data is committed, so a later message may be
    done first; its ack waits until every earlier one is released. Mosquitto tolerates
    acks out of order, rumqttd drops the connection on the first one.
    """

    def __init__(
        self, send: Callable[[int, int], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._send = send
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: deque[list] = deque()  # [mid, qos, released, arrived] in arrival order
        self._generation = 0

    def received(self, mid: int, qos: int) -> Callable[[], None]:
        """Note an arrival; returns the function that releases its ack (once is enough)."""
        entry = [mid, qos, False, self._clock()]
        with self._lock:
            generation = self._generation
            self._queue.append(entry)

        def release() -> None:
            with self._lock:
                if generation != self._generation or entry[2]:
                    return  # acked already, or the connection it came on is gone
                entry[2] = True
                while self._queue and self._queue[0][2]:
                    head_mid, head_qos, _, _ = self._queue.popleft()
                    self._send(head_mid, head_qos)

        return release

    def held_for(self) -> float:
        """How long the oldest unreleased message has held back every ack after it."""
        with self._lock:
            return self._clock() - self._queue[0][3] if self._queue else 0.0

    def connection_lost(self) -> None:
        """Unacked messages die with their connection: the broker delivers them again."""
        with self._lock:
            self._generation += 1
            self._queue.clear()


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
        ack_patience_s: float = ACK_PATIENCE_S,
    ) -> None:
        self.target = parse_mqtt_url(url)
        self.ack_patience_s = ack_patience_s
        self._watching = threading.Event()
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
        self._acks = InOrderAcks(self._client.ack)

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
        self._watching.set()
        threading.Thread(
            target=self._watch_acks, name=f"acks-{self.client_id}", daemon=True
        ).start()
        if wait and not self._connected.wait(wait):
            raise ConnectionError(
                f"no MQTT connection to {self.target.host}:{self.target.port} after {wait:.0f} s"
            )
        return self

    def stop(self) -> None:
        self._stopping = True
        self._watching.clear()
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def _watch_acks(self) -> None:
        """Drop the connection when one uncommitted message holds back every ack after it
        (the broker would stop sending); it comes back, and the rest are delivered again."""
        every = min(1.0, self.ack_patience_s / 4)
        while self._watching.is_set():
            time.sleep(every)
            if self._connected.is_set() and self._acks.held_for() > self.ack_patience_s:
                log.warning(
                    "a durable MQTT message was not committed within %.0f s; reconnecting so "
                    "the broker delivers it again",
                    self.ack_patience_s,
                )
                self._acks.connection_lost()
                sock = self._client.socket()
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

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
        self._acks.connection_lost()
        if not self._stopping:
            log.warning("MQTT disconnected (%s); reconnecting", reason_code)

    def _handle_message(self, _client, _userdata, message: paho.MQTTMessage) -> None:
        release = self._acks.received(message.mid, message.qos) if message.qos else _nothing
        for topic_filter, _qos, handler in self._handlers:
            if paho.topic_matches_sub(topic_filter, message.topic):
                self._run(topic_filter, handler, message.topic, message.payload)
        durable = [
            (topic_filter, handler)
            for topic_filter, _qos, handler in self._durable
            if paho.topic_matches_sub(topic_filter, message.topic)
        ]
        if not durable:
            release()
            return
        for topic_filter, handler in durable:  # each calls release() once it committed
            self._run(topic_filter, handler, message.topic, message.payload, release)

    def _run(self, topic_filter: str, handler: Callable, topic: str, *args: object) -> None:
        try:
            handler(topic, *args)
        except Exception:  # one bad message must not stop the loop
            self.errors[topic_filter] += 1
            log.exception("handler for %s failed on %s", topic_filter, topic)


def _nothing() -> None:
    """The ack of a QoS 0 message: there is none."""
