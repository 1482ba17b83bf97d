"""A recording stand-in for the worker's MQTT session, for step-by-step dispatcher tests.

Broker round trips are covered by the worker and driver-contract tests; here the MQTT
station driver runs for real, only the socket is replaced, so a test can hand it one
message and look at exactly what it published.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import paho.mqtt.client as paho
from sqlalchemy.engine import Engine

from esl_controller.config import Settings
from esl_controller.esl.dispatcher import Dispatcher
from esl_controller.esl.drivers.mqtt import MqttStationDriver, protocol
from esl_controller.esl.link import StationConfig
from esl_controller.esl.registry import DriverContext


class RecordingBus:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connected = True
        self.sent: list[tuple[str, bytes]] = []
        self._handlers: list[tuple[str, Callable[[str, bytes], None]]] = []
        self._listeners: list[Callable[[], None]] = []

    # the part of esl_controller.mqtt.MqttClient that drivers use
    def subscribe(self, topic_filter: str, handler: Callable[[str, bytes], None], qos=1) -> None:
        self._handlers.append((topic_filter, handler))

    def add_connected_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        if not self.connected:
            raise ConnectionError("not connected")
        self.sent.append((topic, payload))

    # test side
    def deliver(self, topic: str, payload: bytes) -> None:
        for topic_filter, handler in self._handlers:
            if paho.topic_matches_sub(topic_filter, topic):
                handler(topic, payload)

    def reconnect(self) -> None:
        for listener in self._listeners:
            listener()

    def frames(self) -> list[protocol.DecodedFrame]:
        return [protocol.decode_frame(p) for t, p in self.sent if t.endswith("/image")]

    def labels(self) -> list[str]:
        return [topic.split("/")[-2] for topic, _ in self.sent]  # .../label/<id>/<kind>

    def status(self, station: str, state: str) -> None:
        topic = protocol.status_topic(self.settings.topic_prefix, self.settings.store_id, station)
        status = protocol.StationStatus(state=state, queue=0, firmware="1.0", uptime=1, labels=0)
        self.deliver(topic, protocol.status_payload(status))

    def ack(self, station: str, label: str, seq: int, ok: bool = True) -> None:
        topic = protocol.ack_topic(self.settings.topic_prefix, self.settings.store_id, station)
        message = protocol.Ack(
            label=label,
            seq=seq,
            status="ok" if ok else "nack",
            reason=None if ok else "display busy",
            battery=87,
            signal=-61,
            temperature=21.5,
            kind="image",
        )
        self.deliver(topic, protocol.ack_payload(message))


def mqtt_dispatcher(
    engine: Engine, settings: Settings, stations: Iterable[str] = ("bs-01", "bs-02")
) -> tuple[Dispatcher, RecordingBus]:
    """A dispatcher whose stations are linked through the real MQTT driver and a bus."""
    bus = RecordingBus(settings)
    dispatcher = Dispatcher(engine, settings)
    driver = MqttStationDriver(DriverContext(settings, mqtt=bus))
    driver.start()
    for station in stations:
        link = driver.open(StationConfig(station, settings.store_id, "mqtt"), dispatcher)
        link.start()
        dispatcher.attach(link)
    return dispatcher, bus
