"""Routing among several screen drivers. Only one real driver exists yet, so the second
channel here is a recorder: nothing else can stand in for a driver not written yet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from esl_controller.signage import protocol
from esl_controller.signage.channel import ChannelReports, PlayerChannel, PlaylistDelivery
from esl_controller.signage.channel_router import ChannelRouter

ITEM = protocol.ScreenItem("ad", "image", 8.0, media="ab" * 32)
COMMAND = protocol.OverrideCommand(7, ITEM, 50, datetime(2026, 11, 23, tzinfo=UTC))


class RecordingChannel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[str, object]] = []

    def open(self, reports: ChannelReports) -> None:
        self.sent.append(("open", reports))

    def close(self) -> None:
        self.sent.append(("close", None))

    def send_playlist(self, delivery: PlaylistDelivery) -> None:
        self.sent.append(("playlist", delivery.player))

    def send_override(self, players: Sequence[str], command: protocol.OverrideCommand) -> None:
        self.sent.append(("override", tuple(players)))

    def send_revert(self, players: Sequence[str], override_id: int) -> None:
        self.sent.append(("revert", tuple(players)))


def test_the_recorder_is_a_player_channel() -> None:
    assert isinstance(RecordingChannel("x"), PlayerChannel)


def test_playlists_go_everywhere_overrides_to_where_the_player_was_seen() -> None:
    wall, browser = RecordingChannel("wall"), RecordingChannel("browser")
    router = ChannelRouter([wall, browser])
    router.seen_on("scr-1", "wall")
    router.seen_on("scr-2", "browser")
    router.send_playlist(PlaylistDelivery("scr-1", "p", (), None, "http://h/media/", "d"))
    router.send_override(["scr-1", "scr-2", "scr-3"], COMMAND)
    router.send_revert(["scr-2"], 7)
    assert wall.sent == [("playlist", "scr-1"), ("override", ("scr-1", "scr-3"))]
    assert browser.sent == [
        ("playlist", "scr-1"),
        ("override", ("scr-2", "scr-3")),  # scr-3 never seen: through every channel
        ("revert", ("scr-2",)),
    ]


def test_a_player_moving_to_another_channel_follows() -> None:
    wall, browser = RecordingChannel("wall"), RecordingChannel("browser")
    router = ChannelRouter([wall, browser])
    router.seen_on("scr-1", "wall")
    router.seen_on("scr-1", "browser")
    router.seen_on("scr-1", "gone")  # a name no channel has: ignored
    router.send_revert(["scr-1"], 7)
    assert wall.sent == [] and browser.sent == [("revert", ("scr-1",))]


def test_nothing_is_sent_to_nobody() -> None:
    only = RecordingChannel("only")
    ChannelRouter([only]).send_override([], COMMAND)
    assert only.sent == []


def test_channels_need_unique_names_and_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ChannelRouter([])
    with pytest.raises(ValueError, match="unique"):
        ChannelRouter([RecordingChannel("a"), RecordingChannel("a")])
