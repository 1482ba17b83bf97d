"""Simulator fixtures: a controller-side listener and simulators that always stop."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as paho
import pytest

from esl_controller.config import Settings
from esl_controller.esl.drivers.mqtt import protocol
from esl_controller.mqtt import parse_mqtt_url
from esl_controller.sims.base_station import BaseStationSim

WAIT_S = 15.0


def eventually(condition: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Poll a condition on simulator state that no MQTT message announces."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Listener:
    """A plain MQTT client playing the controller: publishes commands, records replies."""

    def __init__(self, mqtt_url: str, topic_filters: list[str]) -> None:
        target = parse_mqtt_url(mqtt_url)
        self.messages: list[tuple[str, bytes, bool]] = []  # (topic, payload, retained)
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"listener-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_connect = lambda client, *_: client.subscribe(
            [(topic_filter, 1) for topic_filter in topic_filters]
        )
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._record
        self._client.connect(target.host, target.port)
        self._client.loop_start()
        assert self._subscribed.wait(WAIT_S), "listener could not subscribe"

    def _record(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        with self._changed:
            self.messages.append((message.topic, message.payload, bool(message.retain)))
            self._changed.notify_all()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(WAIT_S)

    def wait_for(self, condition: Callable[[], bool], timeout: float = WAIT_S) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout)

    def acks(self) -> list[protocol.Ack]:
        with self._changed:
            payloads = [p for topic, p, _ in self.messages if topic.endswith("/ack")]
        return [ack for payload in payloads for ack in protocol.parse_acks(payload)]

    def statuses(self) -> list[protocol.StationStatus]:
        with self._changed:
            payloads = [p for topic, p, _ in self.messages if topic.endswith("/status") and p]
        return [protocol.parse_status(payload) for payload in payloads]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def store() -> str:
    # Unique per test: the simulator's client id is sim-{store}-{station}, and two sessions
    # with one client id on one broker would throw each other off.
    return f"store-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def listener(settings: Settings, store: str) -> Iterator[Listener]:
    topic_filters = protocol.controller_subscriptions(settings.topic_prefix, store)
    listener = Listener(settings.mqtt_url, topic_filters)
    yield listener
    # Clear the retained status messages this test left on the broker.
    for topic, _payload, _retained in list(listener.messages):
        if topic.endswith("/status"):
            listener.publish(topic, b"", retain=True)
    listener.close()


@pytest.fixture
def make_sim(
    settings: Settings, store: str, listener: Listener
) -> Iterator[Callable[..., BaseStationSim]]:
    # Depends on `listener` so simulators stop (and say offline) before it clears retained.
    sims: list[BaseStationSim] = []

    def make(stations: list[str] | None = None, **options: Any) -> BaseStationSim:
        sim = BaseStationSim(
            settings.mqtt_url, settings.topic_prefix, store, stations or ["bs-01"], **options
        )
        sims.append(sim.start())
        return sim

    yield make
    for sim in sims:
        sim.stop()
