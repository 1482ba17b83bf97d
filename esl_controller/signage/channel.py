"""The PlayerChannel seam: what the signage core asks of a screen driver, and what a driver
reports back. The core never learns how a driver reaches its players (MQTT topics, a page
over SSE); a driver never learns the rules (targeting, billing, privacy).

Commands go down as typed values from `signage.protocol`; a driver builds its wire form.
Reports come up through `ChannelReports.report`, called from the driver's own threads; the
core queues them and does every database write in one thread of its own.

Rules every driver keeps (tests/signage/test_channel_contract.py checks them):
- a playlist persists for a player that is offline now: it gets the latest one when it
  (re)connects (MQTT: a retained message);
- an override and a revert go to the players named, at once; a player offline at that
  moment simply misses it (the core holds overrides and re-sends them on presence);
- proof of play is reported with the player the transport authenticated (its topic or its
  credential), never the one a play claims; `on_committed` is called by the core once the
  plays are stored, so a driver may acknowledge them to the player or broker only then;
- presence reports online/offline with what the player says it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from esl_controller.signage.protocol import OverrideCommand, Play, ScreenItem


@dataclass(frozen=True)
class PlaylistDelivery:
    """A player's schedule as it should be now; `digest` says whether it changed."""

    player: str
    playlist: str | None  # None: nothing scheduled (the idle screen)
    items: tuple[ScreenItem, ...]
    valid_until: datetime | None
    media_base: str  # media URL = media_base + sha256
    digest: str


# -- reports: driver -> core ------------------------------------------------------------------


@dataclass(frozen=True)
class PlaysReported:
    channel: str
    player: str  # authenticated by the transport, not read from the plays
    plays: Sequence[Play]
    on_committed: Callable[[], None] | None = None


@dataclass(frozen=True)
class PresenceReported:
    channel: str
    player: str
    online: bool
    now_playing: str | None = None
    override_id: int | None = None
    cache_items: int | None = None


@dataclass(frozen=True)
class TriggerReported:
    """A trigger the transport carried (raw: the core's privacy guard reads it first)."""

    channel: str
    sensor: str  # authenticated by the transport
    payload: bytes


@dataclass(frozen=True)
class MalformedReported:
    """A message the driver could not read; recorded as an incident with the reason."""

    channel: str
    kind: str  # malformed_signage | malformed_status | malformed_pop
    subject: str
    error: str


ChannelReport = PlaysReported | PresenceReported | TriggerReported | MalformedReported


class ChannelReports(Protocol):
    """The core's inbox; safe to call from any thread, never blocks on the database."""

    def report(self, report: ChannelReport) -> None: ...


# -- the seam: core -> driver -------------------------------------------------------------------


@runtime_checkable
class PlayerChannel(Protocol):
    name: str

    def open(self, reports: ChannelReports) -> None:
        """Start receiving; from now on reports go to `reports`."""

    def close(self) -> None: ...

    def send_playlist(self, delivery: PlaylistDelivery) -> None:
        """Replace the player's schedule, kept for it while it is offline."""

    def send_override(self, players: Sequence[str], command: OverrideCommand) -> None: ...

    def send_revert(self, players: Sequence[str], override_id: int) -> None: ...
