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
from esl_controller.labels.hardware import load_hardware_models
from esl_controller.labels.planes import pack_image
from esl_controller.labels.render import panel_image
from esl_controller.sims.base_station import BaseStationSim
from esl_controller.sims.oepl_ap import EmulatedTag, OeplApEmulator, tag_mac


class StationHarness(Protocol):
    driver: str
    # How the store learns of a label it does not have: "label" (adopted, unbound) when
    # the station reports the label's hardware, "incident" when it can only name it.
    unknown_label_listing: str

    def start(self, settings: Settings, stations: list[str], labels: dict[str, str]) -> None: ...

    def options(self, station: str) -> dict[str, Any]: ...

    def label_ids(self, count: int) -> list[str]: ...

    def stray_label_id(self) -> str:
        """An id of the station's own form that the store does not have."""

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

    def stray_label_id(self) -> str:
        return "STRAY00001"

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


MODEL = load_hardware_models()["2.9-bwr"]


class OeplHarness:
    """One emulated OpenEPaperLink access point per station, its tags being the labels."""

    driver = "oepl"
    unknown_label_listing = "label"
    HW_TYPE = 0x01  # M2 2.9" BWR: our 2.9-bwr model

    def __init__(self, tmp_path: Path, checkin_s: float = 0.3) -> None:
        self.checkin_s = checkin_s
        self.aps: dict[str, OeplApEmulator] = {}

    def start(self, settings: Settings, stations: list[str], labels: dict[str, str]) -> None:
        for station in stations:
            tags = [EmulatedTag(mac, self.HW_TYPE) for mac, at in labels.items() if at == station]
            ap = OeplApEmulator(tags=tags, checkin_s=self.checkin_s, sysinfo_every_s=0.5).start()
            self.aps[station] = ap

    def options(self, station: str) -> dict[str, Any]:
        # The AP announces check-ins in whole seconds; ours are 0.3 s, so say so.
        return {
            "url": self.aps[station].url,
            "reconnect_s": 0.2,
            "timeout_s": 3.0,
            "checkin_s": 1.0,
        }

    def label_ids(self, count: int) -> list[str]:
        return [tag_mac(n) for n in range(count)]

    def stray_label_id(self) -> str:
        return tag_mac(0xFFFF)

    def shown(self, station: str, label: str) -> str | None:
        picture = self.aps[station].shown(label)  # in display orientation
        if picture is None:
            return None
        return pack_image(panel_image(picture, MODEL), MODEL.colour_mode).content_hash

    def go_offline(self, station: str) -> None:
        self.aps[station].disappear()

    def go_online(self, station: str) -> None:
        self.aps[station].reappear()

    def deafen(self, station: str) -> None:
        self.aps[station].faults.asleep = True

    def led_flashes(self, station: str, label: str) -> int:
        return len(self.aps[station].tag(label).led_flashes)

    def report_unknown_label(self, station: str, label: str) -> None:
        self.aps[station].add_tag(EmulatedTag(label, self.HW_TYPE))

    def stop(self) -> None:
        for ap in self.aps.values():
            ap.stop()
