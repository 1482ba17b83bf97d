"""The MQTT station driver's liveness: a station whose retained "online" outlives it (it
died while the broker was down) is noticed by its missing periodic status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from esl_controller.config import Settings
from esl_controller.esl.drivers.mqtt import MqttStationDriver, protocol
from esl_controller.esl.link import StationConfig, StationInfo

WAIT_S = 10.0  # a safety net on a loaded machine, not a figure under test


class FakeSession:
    """Just what the driver asks of the worker's MQTT session."""

    def subscribe(self, topic_filter: str, handler) -> None:
        pass

    def add_connected_listener(self, listener) -> None:
        pass


@dataclass
class Events:
    online: list[str] = field(default_factory=list)
    offline: list[tuple[str, str]] = field(default_factory=list)
    went_offline: threading.Event = field(default_factory=threading.Event)

    def station_online(self, station_id: str, info: StationInfo) -> None:
        self.online.append(station_id)

    def station_offline(self, station_id: str, reason: str) -> None:
        self.offline.append((station_id, reason))
        self.went_offline.set()


@pytest.fixture
def driver(settings: Settings) -> Iterator[tuple[MqttStationDriver, Events]]:
    quick = settings.with_overrides(station_liveness_s=0.2)
    driver = MqttStationDriver(SimpleNamespace(settings=quick, mqtt=FakeSession()))
    events = Events()
    link = driver.open(StationConfig("bs-1", quick.store_id, "mqtt"), events)  # type: ignore[arg-type]
    driver.start()
    link.start()
    yield driver, events
    link.stop()
    driver.stop()


def _status(settings: Settings, state: str) -> tuple[str, bytes]:
    topic = protocol.status_topic(settings.topic_prefix, settings.store_id, "bs-1")
    return topic, protocol.status_payload(protocol.StationStatus(state))


def test_a_station_that_stops_reporting_status_is_taken_offline(driver, settings) -> None:
    link_driver, events = driver
    link_driver.on_message(*_status(settings, "online"))
    assert events.online == ["bs-1"]
    assert events.went_offline.wait(WAIT_S)
    [(station, reason)] = events.offline
    assert station == "bs-1"
    assert "no status for 0.2 s" in reason and "retained 'online' is stale" in reason


def test_a_station_that_said_offline_is_not_reported_again(driver, settings) -> None:
    link_driver, events = driver
    link_driver.on_message(*_status(settings, "online"))
    link_driver.on_message(*_status(settings, "offline"))
    # Five liveness periods later the watchdog has not reported it a second time.
    threading.Event().wait(1.0)
    assert events.offline == [("bs-1", "the station said offline (or its last will)")]
