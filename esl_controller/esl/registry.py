"""Finds base-station drivers by the name a station row carries, through entry points.

A driver package declares itself in pyproject.toml:

    [project.entry-points."esl_controller.station_drivers"]
    mqtt = "esl_controller.esl.drivers.mqtt:MqttStationDriver"

so the core (worker, CLI, dashboard) never imports a driver by name, and a third-party
driver is one installed package away.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from esl_controller.config import Settings
from esl_controller.esl.link import StationDriver

ENTRY_POINT_GROUP = "esl_controller.station_drivers"


@dataclass(frozen=True)
class DriverContext:
    """What a driver may use from the process that runs it."""

    settings: Settings
    # The worker's one MQTT session (esl_controller.mqtt.MqttClient), for drivers that
    # speak MQTT; typed loosely so the seam does not depend on the transport wrapper.
    mqtt: Any = None


class UnknownDriver(LookupError):
    pass


@cache
def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def driver_names() -> list[str]:
    return sorted(_entry_points())


def driver_class(name: str) -> type[StationDriver]:
    entry = _entry_points().get(name)
    if entry is None:
        known = ", ".join(driver_names()) or "none installed"
        raise UnknownDriver(f"no base-station driver named {name!r} (known: {known})")
    try:
        cls = entry.load()
    except ImportError as exc:  # declared but not installed whole: say so, do not crash
        raise UnknownDriver(f"base-station driver {name!r} cannot be loaded: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, StationDriver)):
        raise UnknownDriver(f"entry point {name!r} is not a StationDriver: {cls!r}")
    return cls


def load_driver(name: str, context: DriverContext) -> StationDriver:
    return driver_class(name)(context)  # type: ignore[call-arg]
