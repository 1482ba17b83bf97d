"""Real device peers for the driver contract suite, one harness per base-station driver.

A harness starts what stands in for the hardware (the MQTT base-station simulator on a
real broker, an emulated OpenEPaperLink access point over real HTTP), tells the suite
what a station row needs to reach it, and gives the suite the device-side controls and
observations the contract is written in: take a station away and back, make it deaf to
one label, read what a label shows, and make a station report a label the store lacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from esl_controller.config import Settings
from esl_controller.sims.base_station import BaseStationSim


class StationHarness(Protocol):
    driver: str
    # How the store learns of a label it does not have: "label" (adopted, unbound) when
    # the station reports the label's hardware, "incident" when it can only name it.
    unknown_label_listing: str

    def start(self, settings: Settings, stations: list[str], labels: dict[str, str]) -> None: ...

    def options(self, station: str) -> dict[str, Any]: ...

    def label_ids(self, count: int) -> list[str]: ...

    def shown(self, station: str, label: str) -> str | None:
        """The content hash the device shows on the label, or None."""

    def go_offline(self, station: str) -> None: ...

    def go_online(self, station: str) -> None: ...

    def deafen(self, station: str) -> None:
        """The station keeps taking commands but never confirms one."""

    def led_flashes(self, station: str, label: str) -> int: ...

    def report_unknown_label(self, station: str, label: str) -> None: ...

    def stop(self) -> None: ...


class MqttHarness:
    driver = "mqtt"
    unknown_label_listing = "incident"

    def __init__(self, tmp_path: Path, airtime_s: float = 0.05) -> None:
        self.tmp_path = tmp_path
        self.airtime_s = airtime_s
        self.sim: BaseStationSim | None = None

    def start(self, settings: Settings, stations: list[str], labels: dict[str, str]) -> None:
        self.settings = settings
        self.sim = BaseStationSim(
            settings.mqtt_url,
            settings.topic_prefix,
            settings.store_id,
            stations,
            image_dir=self.tmp_path / "shown",
            airtime_s=self.airtime_s,
        )
        self.sim.start()

    def options(self, station: str) -> dict[str, Any]:
        return {}

    def label_ids(self, count: int) -> list[str]:
        return [f"LBL{n:05d}" for n in range(count)]

    def shown(self, station: str, label: str) -> str | None:
        assert self.sim is not None
        seen = self.sim.shown(station, label)
        return seen[1] if seen else None

    def go_offline(self, station: str) -> None:
        assert self.sim is not None
        self.sim.go_offline(station)

    def go_online(self, station: str) -> None:
        assert self.sim is not None
        self.sim.go_online(station)

    def deafen(self, station: str) -> None:
        assert self.sim is not None
        self.sim.drop_rate = 1.0  # every transfer is lost on the radio: no ack ever

    def led_flashes(self, station: str, label: str) -> int:
        assert self.sim is not None
        return self.sim.commands_seen(station, label, "led")

    def report_unknown_label(self, station: str, label: str) -> None:
        assert self.sim is not None
        self.sim.ack_unknown(station, label)

    def stop(self) -> None:
        if self.sim:
            self.sim.stop()
