"""Sends each command through the right channel when a store runs several screen drivers.

A playlist goes out on every channel (each keeps it its own way, so the player finds it on
whichever transport it connects with). An override or a revert goes to the channel that last
reported the player present; a player never seen goes through all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from esl_controller.signage.channel import ChannelReports, PlayerChannel, PlaylistDelivery
from esl_controller.signage.protocol import OverrideCommand


class ChannelRouter:
    def __init__(self, channels: Sequence[PlayerChannel]) -> None:
        if not channels:
            raise ValueError("the signage service needs at least one player channel")
        names = [channel.name for channel in channels]
        if len(set(names)) != len(names):
            raise ValueError(f"player channel names must be unique, got {names}")
        self.channels = list(channels)
        self._by_name = {channel.name: channel for channel in channels}
        self._home: dict[str, str] = {}  # player -> the channel it was last present on

    def open(self, reports: ChannelReports) -> None:
        for channel in self.channels:
            channel.open(reports)

    def close(self) -> None:
        for channel in self.channels:
            channel.close()

    def seen_on(self, player: str, channel: str) -> None:
        if channel in self._by_name:
            self._home[player] = channel

    def send_playlist(self, delivery: PlaylistDelivery) -> None:
        for channel in self.channels:
            channel.send_playlist(delivery)

    def send_override(self, players: Sequence[str], command: OverrideCommand) -> None:
        for channel, group in self._groups(players):
            channel.send_override(group, command)

    def send_revert(self, players: Sequence[str], override_id: int) -> None:
        for channel, group in self._groups(players):
            channel.send_revert(group, override_id)

    def _groups(self, players: Sequence[str]) -> list[tuple[PlayerChannel, list[str]]]:
        if len(self.channels) == 1:
            return [(self.channels[0], list(players))] if players else []
        groups: dict[str, list[str]] = {}
        for player in players:
            home = self._home.get(player)
            for name in [home] if home else self._by_name:
                groups.setdefault(name, []).append(player)
        return [(self._by_name[name], group) for name, group in groups.items()]
