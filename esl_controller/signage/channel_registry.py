"""Finds screen drivers by name, so no core module names one.

A driver package declares a factory under the entry-point group
`esl_controller.player_channels` (see pyproject.toml); `ESL_PLAYER_CHANNELS` (a comma-separated
list, default `mqtt`) says which ones a worker opens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from esl_controller.config import Settings
from esl_controller.signage.channel import PlayerChannel

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from esl_controller.mqtt import MqttClient

ENTRY_POINT_GROUP = "esl_controller.player_channels"


@dataclass(frozen=True)
class ChannelContext:
    """What a driver may build on: the settings and connections the worker already holds."""

    settings: Settings
    mqtt: MqttClient | None = None  # the worker's broker session, for drivers that speak MQTT
    engine: Engine | None = None  # the worker's database, for drivers that hand over rows


ChannelFactory = Callable[[ChannelContext], PlayerChannel]


class UnknownChannel(LookupError):
    """A configured driver name that no installed package provides."""


def available_channels() -> dict[str, ChannelFactory]:
    """Installed drivers by name (loading one imports its package)."""
    return {point.name: point.load() for point in entry_points(group=ENTRY_POINT_GROUP)}


def open_channels(names: Sequence[str], context: ChannelContext) -> list[PlayerChannel]:
    """One channel per configured name, in the configured order."""
    if not names:
        raise UnknownChannel("no player channel configured (ESL_PLAYER_CHANNELS is empty)")
    points = {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}
    channels = []
    for name in names:
        point = points.get(name)
        if point is None:
            known = ", ".join(sorted(points)) or "none installed"
            raise UnknownChannel(f"no player channel {name!r} (known: {known})")
        channel = point.load()(context)
        if not isinstance(channel, PlayerChannel):
            raise TypeError(f"player channel {name!r} does not implement PlayerChannel")
        channels.append(channel)
    return channels
