"""Our own base-station protocol over MQTT (docs/protocol.md), as a StationLink driver.

One MQTT session per worker serves every station of the store: the driver subscribes to
the store's ack and status topics once and routes each message to the link of the station
its topic names. A message on the topic of a station with no link is reported as from an
unknown station; an ack is only ever attributed to the station whose topic carried it.

Liveness comes from two signals: the station's last will ("offline", retained) and its
periodic status. A station silent for `station_liveness_s` is reported offline even if
the broker still holds a retained "online" from before a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from esl_controller.esl.drivers.mqtt import protocol
from esl_controller.esl.link import (
    Command,
    CommandKind,
    CommandNotSupported,
    LinkEvents,
    LinkUnavailable,
    StationConfig,
    StationDriver,
    StationInfo,
    StationLink,
    Telemetry,
)

log = logging.getLogger(__name__)


class MqttStationLink(StationLink):
    def __init__(self, config: StationConfig, events: LinkEvents, driver: MqttStationDriver):
        super().__init__(config, events)
        self._driver = driver

    def start(self) -> None:
        self._driver.attach(self)

    def stop(self) -> None:
        self._driver.detach(self.station_id)

    def send(self, command: Command) -> None:
        self._driver.publish_command(self.config, command)


class MqttStationDriver(StationDriver):
    name = "mqtt"

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.settings = context.settings
        self.mqtt = context.mqtt
        self._links: dict[str, MqttStationLink] = {}
        self._last_status: dict[str, float] = {}
        self._lock = threading.Lock()
        self._subscribed = False
        self._events: LinkEvents | None = None
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    def validate_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        if options:
            raise ValueError(
                "an MQTT base station takes no options: it connects to the store's broker "
                f"itself (got {', '.join(sorted(options))})"
            )
        return {}

    def open(self, config: StationConfig, events: LinkEvents) -> StationLink:
        protocol.validate_id("base station", config.station_id)
        self._events = events
        return MqttStationLink(config, events, self)

    # -- shared session --------------------------------------------------------------------

    def start(self) -> None:
        if self.mqtt is None:
            raise RuntimeError("the MQTT station driver needs the worker's MQTT session")
        if not self._subscribed:
            for topic_filter in protocol.controller_subscriptions(
                self.settings.topic_prefix, self.settings.store_id
            ):
                self.mqtt.subscribe(topic_filter, self.on_message)
            self.mqtt.add_connected_listener(self._on_reconnected)
            self._subscribed = True
        self._stop.clear()
        self._watchdog = threading.Thread(
            target=self._watch_liveness, name="mqtt-station-liveness", daemon=True
        )
        self._watchdog.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watchdog:
            self._watchdog.join(timeout=5)

    def attach(self, link: MqttStationLink) -> None:
        with self._lock:
            self._links[link.station_id] = link

    def detach(self, station_id: str) -> None:
        with self._lock:
            self._links.pop(station_id, None)
            self._last_status.pop(station_id, None)

    def publish_command(self, config: StationConfig, command: Command) -> None:
        if not self.mqtt.connected:
            raise LinkUnavailable("not connected to the MQTT broker")
        topic, payload = self._wire(config, command)
        try:
            self.mqtt.publish(topic, payload)
        except ConnectionError as exc:
            raise LinkUnavailable(str(exc)) from exc

    def _wire(self, config: StationConfig, command: Command) -> tuple[str, bytes]:
        prefix, store = self.settings.topic_prefix, config.store_id
        station, label = config.station_id, command.label_id
        params = command.params
        if command.kind == CommandKind.IMAGE:
            assert command.image is not None
            return (
                protocol.image_topic(prefix, store, station, label),
                protocol.frame_bytes(command.image, command.seq),
            )
        if command.kind == CommandKind.LED:
            return (
                protocol.led_topic(prefix, store, station, label),
                protocol.led_payload(
                    command.seq, params["colour"], params["pattern"], params["seconds"]
                ),
            )
        if command.kind == CommandKind.PAGE:
            return (
                protocol.page_topic(prefix, store, station, label),
                protocol.page_payload(command.seq, params["page"], params.get("seconds", 0)),
            )
        raise CommandNotSupported(
            f"base-station protocol version {protocol.PROTOCOL_VERSION} has no "
            f"{command.kind} command"
        )

    # -- incoming, on the MQTT network thread: parse, route, never touch the database ------

    def _report(self, station: str) -> LinkEvents:
        link = self._links.get(station)
        if link is not None:
            return link.events
        assert self._events is not None
        return self._events

    def on_message(self, topic: str, payload: bytes) -> None:
        try:
            parsed = protocol.parse_topic(self.settings.topic_prefix, topic)
        except protocol.ProtocolError as exc:
            if self._events:
                self._events.malformed("mqtt", "malformed_ack", str(exc))
            return
        station = parsed.station
        events = self._report(station)
        if station not in self._links:
            events.malformed(
                station,
                "unknown_station",
                "a station this store does not have published on its topics; ignored",
            )
            return
        if parsed.kind == "ack":
            try:
                acks = protocol.parse_acks(payload)
            except protocol.BatchError as exc:  # the good acks of a batch still count
                acks = exc.valid
                events.malformed(station, "malformed_ack", str(exc))
            except protocol.ProtocolError as exc:
                events.malformed(station, "malformed_ack", str(exc))
                return
            for ack in acks:
                telemetry = Telemetry(
                    battery_percent=ack.battery,
                    signal_dbm=ack.signal,
                    temperature_c=ack.temperature,
                )
                if ack.status == "ok":
                    events.delivered(station, ack.label, ack.seq, telemetry)
                else:
                    events.refused(station, ack.label, ack.seq, f"nack: {ack.reason}")
        elif parsed.kind == "status":
            try:
                status = protocol.parse_status(payload)
            except protocol.ProtocolError as exc:
                events.malformed(station, "malformed_status", str(exc))
                return
            if status.state == "online":
                self._last_status[station] = time.monotonic()
                events.station_online(
                    station,
                    StationInfo(
                        firmware=status.firmware, queue_depth=status.queue, labels=status.labels
                    ),
                )
            else:
                self._last_status.pop(station, None)
                events.station_offline(station, "the station said offline (or its last will)")

    def _on_reconnected(self) -> None:
        # What was on air while the broker was away may be lost: the retained statuses
        # that follow re-announce each station, and the dispatcher re-sends on-air work.
        with self._lock:
            links = list(self._links.values())
        for link in links:
            if link.station_id in self._last_status:
                link.events.station_online(link.station_id, StationInfo())

    def _watch_liveness(self) -> None:
        limit = self.settings.station_liveness_s
        while not self._stop.wait(min(5.0, limit / 4)):
            now = time.monotonic()
            with self._lock:
                silent = [s for s, seen in self._last_status.items() if now - seen > limit]
                for station in silent:
                    self._last_status.pop(station, None)
            for station in silent:
                self._report(station).station_offline(
                    station, f"no status for {limit:g} s (its retained 'online' is stale)"
                )
