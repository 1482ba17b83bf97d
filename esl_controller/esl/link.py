"""The base-station seam: what every ESL driver implements, and what it reports back.

A base-station kind (our MQTT protocol, an OpenEPaperLink access point, a vendor's cloud
API) is a driver behind this seam, the way a radio is behind zigpy's: the core never
learns its name. The dispatcher owns every delivery rule (priorities, the window per
station, the stale-ack rule, retries with backoff, `failed` with the reason, the offline
hold) once, for every driver. A driver only turns a `Command` into its own wire form,
sends it, and reports what the station says through `LinkEvents`.

The contract, checked for every driver by tests/esl/drivers/contract.py:
- `send` hands one command to the station, or raises `LinkUnavailable` (nothing was sent;
  the dispatcher holds the command) or `CommandNotSupported` (the command fails at once).
  It must not block for long: the dispatcher thread calls it.
- `delivered` is reported only when the device confirms the command: an ack carrying the
  command's sequence number, or for an access point the tag having taken the image at its
  check-in. Never on "sent" or on an HTTP 200.
- Events may be reported from any thread; the dispatcher queues them.
- A driver never writes to the database and never imports another driver.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from esl_controller.labels.planes import PackedImage

# What a manager may ask of a label, whatever its driver; a driver maps these to its own.
LED_COLOURS = ("red", "green", "blue", "yellow", "cyan", "magenta", "white")
LED_PATTERNS = ("solid", "blink", "fast_blink", "pulse")
LED_MAX_SECONDS = 600
PAGE_COUNT = 8
PAGE_MAX_SECONDS = 3600


class CommandKind(StrEnum):
    IMAGE = "image"
    LED = "led"  # flash the label's LED: colour, pattern, seconds
    PAGE = "page"  # switch to a stored page: page, seconds
    NFC = "nfc"  # set the URL the label's NFC tag hands to a phone: url
    REFRESH = "refresh"  # redraw what the label holds (or clear it): clear


@dataclass(frozen=True)
class Command:
    """One outbox row as a driver sees it: what to show or do, never a wire frame."""

    outbox_id: int
    label_id: str
    station_id: str
    kind: CommandKind
    seq: int
    image: PackedImage | None = None  # set for IMAGE
    params: Mapping[str, Any] = field(default_factory=dict)  # set for the other kinds

    @property
    def planes(self) -> bytes:
        """The raw 1-bit planes of an IMAGE command (black, then accent)."""
        if self.image is None:
            raise ValueError(f"{self.kind} command carries no image")
        return zlib.decompress(self.image.compressed)


@dataclass(frozen=True)
class Telemetry:
    """What a station or tag says about a label's health; any field may be unknown."""

    battery_percent: int | None = None
    battery_mv: int | None = None
    signal_dbm: int | None = None
    lqi: int | None = None
    temperature_c: float | None = None
    last_seen: datetime | None = None
    next_checkin: datetime | None = None


@dataclass(frozen=True)
class StationInfo:
    firmware: str | None = None
    queue_depth: int | None = None  # commands the station still holds for its labels
    labels: int | None = None
    # Seconds until the station has worked through `queue_depth` (from its radio schedule).
    eta_s: float | None = None


@dataclass(frozen=True)
class HeardLabel:
    """A label the station reports (discovery, or a check-in with telemetry)."""

    label_id: str
    model: str | None  # our hardware model id; None when the driver cannot map the tag type
    telemetry: Telemetry = field(default_factory=Telemetry)
    device_type: str | None = None  # the vendor's own type code, for the incident if unmapped


class LinkEvents(Protocol):
    """Implemented by the dispatcher. Thread-safe; every call only queues an event."""

    def delivered(
        self, station_id: str, label_id: str, seq: int, telemetry: Telemetry | None = None
    ) -> None: ...

    def refused(self, station_id: str, label_id: str, seq: int, reason: str) -> None:
        """The station refused or failed the command: it counts as an attempt."""

    def busy(self, station_id: str, label_id: str, seq: int, retry_after_s: float) -> None:
        """The station asked us to come back later: retried, not counted as a failure."""

    def station_online(self, station_id: str, info: StationInfo) -> None: ...

    def station_offline(self, station_id: str, reason: str) -> None: ...

    def station_status(self, station_id: str, info: StationInfo) -> None:
        """New figures (queue, ETA) from a station that stays online; nothing is re-sent."""

    def labels_heard(self, station_id: str, labels: list[HeardLabel]) -> None: ...

    def malformed(self, station_id: str, kind: str, detail: str) -> None:
        """Input from the station that cannot be trusted: recorded as an incident."""


class LinkUnavailable(RuntimeError):
    """The station cannot take a command now; nothing was sent."""


class CommandNotSupported(ValueError):
    """This kind of station cannot do what the command asks (e.g. NFC on a tag without it);
    the command fails at once with the message as its reason."""


@dataclass(frozen=True)
class StationConfig:
    """A registered base station as its driver needs it. Secrets are never in `options`:
    an option may name an environment variable that holds one (see the driver's docs)."""

    station_id: str
    store_id: str
    driver: str
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""


class StationLink(ABC):
    """A live link to one base station."""

    def __init__(self, config: StationConfig, events: LinkEvents) -> None:
        self.config = config
        self.events = events

    @property
    def station_id(self) -> str:
        return self.config.station_id

    @abstractmethod
    def start(self) -> None:
        """Connect (or start polling); report `station_online` once the station answers."""

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def send(self, command: Command) -> None:
        """Hand one command to the station, or raise LinkUnavailable."""

    def window(self, default: int) -> int:
        """How many commands may be on air at once (an AP holds one image per tag)."""
        return default

    def ack_timeout_s(self, default: float) -> float:
        """How long to wait for a confirmation (an AP's tags confirm at their check-in)."""
        return default


class StationDriver(ABC):
    """One per driver kind per worker: owns what its links share (a connection, a poller)."""

    name: str = ""

    def __init__(self, context: Any) -> None:
        # esl_controller.esl.registry.DriverContext: settings and shared transports.
        self.context = context

    @abstractmethod
    def validate_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Check a station's connection options; raise ValueError with a message for people."""

    @abstractmethod
    def open(self, config: StationConfig, events: LinkEvents) -> StationLink: ...

    def start(self) -> None:  # noqa: B027 (an optional hook)
        """Bring up shared resources; called once before the first `open`."""

    def stop(self) -> None:  # noqa: B027 (an optional hook)
        """Release shared resources; called once after every link has stopped."""
