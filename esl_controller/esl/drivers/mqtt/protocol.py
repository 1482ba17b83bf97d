"""The ESL base-station wire contract: topics, the binary image frame, the JSON messages.

This module is the only place that knows topic strings and payload shapes; the
controller (outbox, dispatcher) and the base-station simulator both import it, and
docs/protocol.md describes the same bytes for station vendors. It is pure: no network,
no clock, no database.

Decisions worth knowing (see docs/protocol.md for the full contract):
- An accent pixel (red/yellow) sets ONLY the accent bit; the black bit stays 0, so a
  station may drive each plane independently and a set/set pair is a malformed frame.
- JSON messages ignore unknown fields (vendors add telemetry; old controllers keep
  working), but every known field is type- and range-checked.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)
from PIL import Image

from esl_controller import topic_levels, wire_json
from esl_controller.esl.link import (
    LED_COLOURS,
    LED_MAX_SECONDS,
    LED_PATTERNS,
    PAGE_COUNT,
    PAGE_MAX_SECONDS,
)
from esl_controller.labels.planes import (
    COLOUR_MODES,
    PackedImage,
    check_dimensions,
    content_hash,
    mode_code,
    plane_size,
    planes_overlap,
    planes_to_image,
)
from esl_controller.wire_schema import StrictFloat, WireMessage

PROTOCOL_VERSION = 1


class ProtocolError(ValueError):
    """A topic, frame or message that does not follow the contract."""


class FrameError(ProtocolError):
    """A binary image frame that cannot be trusted (bad header, size, CRC, compression)."""


class BatchError(ProtocolError):
    """Some acks in a batched message were malformed; `valid` holds the good ones."""

    def __init__(self, message: str, valid: list[Ack]) -> None:
        super().__init__(message)
        self.valid = valid


# --- topics -------------------------------------------------------------------------------

MAX_ID_LENGTH = topic_levels.MAX_ID_LENGTH
LABEL_COMMANDS = ("image", "led", "page")
STATION_REPORTS = ("ack", "status")


@dataclass(frozen=True)
class ParsedTopic:
    store: str
    station: str
    kind: str  # image | led | page | ack | status
    label_id: str | None = None


def validate_id(what: str, value: str) -> str:
    """An id that is safe as one MQTT topic level, or ProtocolError saying what is wrong."""
    try:
        return topic_levels.validate_id(what, value)
    except topic_levels.TopicLevelError as exc:
        raise ProtocolError(str(exc)) from None


def _validate_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise ProtocolError("topic prefix must be a non-empty string")
    for level in prefix.split("/"):
        validate_id("topic prefix level", level)
    return prefix


def _station_base(prefix: str, store: str, station: str) -> str:
    return (
        f"{_validate_prefix(prefix)}/{validate_id('store', store)}/"
        f"{validate_id('base station', station)}"
    )


def _label_topic(prefix: str, store: str, station: str, label_id: str, kind: str) -> str:
    base = _station_base(prefix, store, station)
    return f"{base}/label/{validate_id('label', label_id)}/{kind}"


def image_topic(prefix: str, store: str, station: str, label_id: str) -> str:
    return _label_topic(prefix, store, station, label_id, "image")


def led_topic(prefix: str, store: str, station: str, label_id: str) -> str:
    return _label_topic(prefix, store, station, label_id, "led")


def page_topic(prefix: str, store: str, station: str, label_id: str) -> str:
    return _label_topic(prefix, store, station, label_id, "page")


def ack_topic(prefix: str, store: str, station: str) -> str:
    return f"{_station_base(prefix, store, station)}/ack"


def status_topic(prefix: str, store: str, station: str) -> str:
    return f"{_station_base(prefix, store, station)}/status"


def store_root(prefix: str, store: str) -> str:
    """`<prefix>/<store>`: every topic of the store's base stations lies under it."""
    return f"{_validate_prefix(prefix)}/{validate_id('store', store)}"


def status_filter(prefix: str, store: str) -> str:
    """Every base station's status topic in the store (what a bridge to head office carries)."""
    return f"{store_root(prefix, store)}/+/status"


def controller_subscriptions(prefix: str, store: str) -> list[str]:
    return [f"{store_root(prefix, store)}/+/ack", status_filter(prefix, store)]


def station_subscription(prefix: str, store: str, station: str) -> str:
    return f"{_station_base(prefix, store, station)}/label/+/+"


def parse_topic(prefix: str, topic: str) -> ParsedTopic:
    """Split a topic under `prefix` into its parts; anything off-contract is a ProtocolError."""
    head = f"{_validate_prefix(prefix)}/"
    if not topic.startswith(head):
        raise ProtocolError(f"topic {topic!r} is not under prefix {prefix!r}")
    levels = topic[len(head) :].split("/")
    try:
        if len(levels) == 3 and levels[2] in STATION_REPORTS:
            store, station, kind = levels
            return ParsedTopic(
                validate_id("store", store), validate_id("base station", station), kind
            )
        if len(levels) == 5 and levels[2] == "label" and levels[4] in LABEL_COMMANDS:
            store, station, _, label_id, kind = levels
            return ParsedTopic(
                validate_id("store", store),
                validate_id("base station", station),
                kind,
                validate_id("label", label_id),
            )
    except ProtocolError as exc:
        raise ProtocolError(f"topic {topic!r}: {exc}") from exc
    raise ProtocolError(
        f"topic {topic!r} is neither <store>/<station>/ack|status nor "
        "<store>/<station>/label/<label>/image|led|page"
    )


# --- image frame --------------------------------------------------------------------------

MAGIC = b"ESLF"
# magic, version, colour mode, flags, reserved, width, height, seq, crc32, payload length
HEADER = struct.Struct(">4sBBBBHHIII")
HEADER_SIZE = HEADER.size  # 24 bytes
FLAG_ZLIB = 0x01
MAX_SEQ = 2**32 - 1


@dataclass(frozen=True)
class DecodedFrame:
    width: int
    height: int
    colour_mode: str
    seq: int
    crc32: int
    planes: bytes

    @property
    def plane_size(self) -> int:
        return plane_size(self.width, self.height)

    @property
    def black_plane(self) -> bytes:
        return self.planes[: self.plane_size]

    @property
    def accent_plane(self) -> bytes | None:
        return self.planes[self.plane_size :] if self.colour_mode != "BW" else None

    @property
    def content_hash(self) -> str:
        return content_hash(self.width, self.height, self.colour_mode, self.planes)

    def to_image(self) -> Image.Image:
        """A mode "P" image with 0 white, 1 black, 2 accent, palette set for previews."""
        return planes_to_image(self.width, self.height, self.colour_mode, self.planes)


def frame_bytes(encoded: PackedImage, seq: int) -> bytes:
    """The wire frame: 24-byte header (with `seq`) followed by the compressed planes."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"sequence number must be an integer 0..{MAX_SEQ}, got {seq!r}")
    header = HEADER.pack(
        MAGIC,
        PROTOCOL_VERSION,
        mode_code(encoded.colour_mode),
        FLAG_ZLIB,
        0,
        encoded.width,
        encoded.height,
        seq,
        encoded.crc32,
        len(encoded.compressed),
    )
    return header + encoded.compressed


def decode_frame(data: bytes) -> DecodedFrame:
    """Validate and unpack a wire frame; every way it can be wrong is a specific FrameError."""
    if len(data) < HEADER_SIZE:
        raise FrameError(f"frame is {len(data)} bytes, shorter than the {HEADER_SIZE}-byte header")
    magic, version, mode_code, flags, reserved, width, height, seq, crc, length = (
        HEADER.unpack_from(data)
    )
    if magic != MAGIC:
        raise FrameError(f"bad magic {magic!r}, expected {MAGIC!r}")
    if version != PROTOCOL_VERSION:
        raise FrameError(
            f"unsupported frame version {version}, this side speaks {PROTOCOL_VERSION}"
        )
    if mode_code >= len(COLOUR_MODES):
        raise FrameError(f"unknown colour mode {mode_code} (0 BW, 1 BWR, 2 BWY)")
    if flags & ~FLAG_ZLIB or reserved:
        raise FrameError(f"unknown flags 0x{flags:02x} / reserved byte {reserved} must be 0")
    check_dimensions(width, height, FrameError)
    if length != len(data) - HEADER_SIZE:
        raise FrameError(
            f"header declares a {length}-byte payload but {len(data) - HEADER_SIZE} bytes follow"
        )
    mode = COLOUR_MODES[mode_code]
    expected = plane_size(width, height) * (1 if mode == "BW" else 2)
    payload = memoryview(data)[HEADER_SIZE:]
    planes = _inflate(payload, expected) if flags & FLAG_ZLIB else bytes(payload)
    if len(planes) != expected:
        raise FrameError(
            f"planes are {len(planes)} bytes, a {width}x{height} {mode} needs {expected}"
        )
    actual_crc = zlib.crc32(planes)
    if actual_crc != crc:
        raise FrameError(f"CRC mismatch: header says {crc:08x}, planes give {actual_crc:08x}")
    if mode != "BW" and planes_overlap(planes, expected // 2):
        raise FrameError("a pixel is set in both the black and the accent plane")
    return DecodedFrame(width, height, mode, seq, crc, planes)


def _inflate(payload: memoryview, expected: int) -> bytes:
    """Decompress at most `expected` bytes: a payload that inflates further is a zip bomb."""
    inflater = zlib.decompressobj()
    try:
        planes = inflater.decompress(payload, expected)
        if inflater.unconsumed_tail or (not inflater.eof and inflater.decompress(b"", 1)):
            raise FrameError(f"payload inflates beyond the {expected} bytes the header allows")
    except zlib.error as exc:
        raise FrameError(f"payload is not valid zlib data: {exc}") from exc
    if not inflater.eof:
        raise FrameError("zlib payload is truncated")
    return planes


# --- JSON messages ------------------------------------------------------------------------

ACK_STATUSES = ("ok", "nack")
STATION_STATES = ("online", "offline")
MAX_ACKS_PER_MESSAGE = 1000


@dataclass(frozen=True)
class Ack:
    label: str
    seq: int
    status: str = "ok"  # ok | nack
    kind: str = "image"  # image | led | page
    reason: str | None = None  # required for a nack
    battery: int | None = None  # percent
    signal: int | None = None  # dBm
    temperature: float | None = None  # degrees Celsius


@dataclass(frozen=True)
class StationStatus:
    state: str  # online | offline
    queue: int | None = None
    firmware: str | None = None
    uptime: int | None = None  # seconds
    labels: int | None = None


@dataclass(frozen=True)
class LedCommand:
    seq: int
    colour: str
    pattern: str
    seconds: int


@dataclass(frozen=True)
class PageCommand:
    seq: int
    page: int
    seconds: int  # 0: stay on the page


def _seq_field() -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.Range(0, MAX_SEQ))


class AckSchema(WireMessage):
    label = fields.String(required=True)
    seq = _seq_field()
    status = fields.String(required=True, validate=validate.OneOf(ACK_STATUSES))
    kind = fields.String(required=True, validate=validate.OneOf(LABEL_COMMANDS))
    reason = fields.String(validate=validate.Length(1, 500))
    battery = fields.Integer(strict=True, validate=validate.Range(0, 100))
    signal = fields.Integer(strict=True, validate=validate.Range(-120, 0))
    temperature = StrictFloat(allow_nan=False, validate=validate.Range(-50, 100))

    @validates_schema
    def _nack_has_reason(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("status") == "nack" and not data.get("reason"):
            raise ValidationError("a nack must say why", "reason")

    @validates_schema
    def _label_is_an_id(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "label" in data:
            try:
                validate_id("label", data["label"])
            except ProtocolError as exc:
                raise ValidationError(str(exc), "label") from exc

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> Ack:
        return Ack(**data)


MAX_STATION_COUNT = 1_000_000  # commands queued or labels served by one station
MAX_UPTIME_S = 2**31 - 1  # 68 years


class StatusSchema(WireMessage):
    state = fields.String(required=True, validate=validate.OneOf(STATION_STATES))
    # Bounded so that a station's figure always fits the database's integer columns.
    queue = fields.Integer(strict=True, validate=validate.Range(0, MAX_STATION_COUNT))
    firmware = fields.String(validate=validate.Length(max=100))
    uptime = fields.Integer(strict=True, validate=validate.Range(0, MAX_UPTIME_S))
    labels = fields.Integer(strict=True, validate=validate.Range(0, MAX_STATION_COUNT))

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> StationStatus:
        return StationStatus(**data)


class LedSchema(WireMessage):
    seq = _seq_field()
    colour = fields.String(required=True, validate=validate.OneOf(LED_COLOURS))
    pattern = fields.String(required=True, validate=validate.OneOf(LED_PATTERNS))
    seconds = fields.Integer(
        required=True, strict=True, validate=validate.Range(1, LED_MAX_SECONDS)
    )

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> LedCommand:
        return LedCommand(**data)


class PageSchema(WireMessage):
    seq = _seq_field()
    page = fields.Integer(required=True, strict=True, validate=validate.Range(0, PAGE_COUNT - 1))
    seconds = fields.Integer(
        required=True, strict=True, validate=validate.Range(0, PAGE_MAX_SECONDS)
    )

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> PageCommand:
        return PageCommand(**data)


_ACK = AckSchema()
_STATUS = StatusSchema()
_LED = LedSchema()
_PAGE = PageSchema()


def _describe(messages: Mapping[Any, Any] | Sequence[Any]) -> list[str]:
    return wire_json.describe_errors(messages)


def _decode_json(what: str, payload: bytes | str) -> Any:
    return wire_json.decode_json(what, payload, ProtocolError)


def _load(what: str, schema: Schema, document: Any) -> Any:
    return wire_json.load_object(what, schema, document, ProtocolError)


def _dump(value: Any) -> bytes:
    fields_set = {key: item for key, item in asdict(value).items() if item is not None}
    return json.dumps(fields_set, separators=(",", ":")).encode()


def parse_ack(payload: bytes | str) -> Ack:
    """One ack object. Use `parse_acks` on the ack topic, where batches are allowed."""
    return _load("ack", _ACK, _decode_json("ack", payload))


def parse_acks(payload: bytes | str) -> list[Ack]:
    """An ack object or a JSON list of them, always as a list.

    A batch with some malformed entries raises BatchError carrying the valid acks, so
    the caller can book those and record the rest (nothing silently dropped).
    """
    return wire_json.load_batch(
        "ack",
        payload,
        _ACK,
        limit=MAX_ACKS_PER_MESSAGE,
        noun="acks",
        error=ProtocolError,
        batch_error=BatchError,
    )


def ack_payload(ack: Ack) -> bytes:
    _checked(_ACK, ack, "ack")
    return _dump(ack)


def acks_payload(acks: Sequence[Ack]) -> bytes:
    """A batch: one JSON list, for a station that confirms many transfers at once."""
    for ack in acks:
        _checked(_ACK, ack, "ack")
    fields_set = [{k: v for k, v in asdict(ack).items() if v is not None} for ack in acks]
    return json.dumps(fields_set, separators=(",", ":")).encode()


def parse_status(payload: bytes | str) -> StationStatus:
    return _load("status", _STATUS, _decode_json("status", payload))


def status_payload(status: StationStatus) -> bytes:
    _checked(_STATUS, status, "status")
    return _dump(status)


def led_payload(seq: int, colour: str, pattern: str, seconds: int) -> bytes:
    command = LedCommand(seq, colour, pattern, seconds)
    _checked(_LED, command, "led")
    return _dump(command)


def parse_led(payload: bytes | str) -> LedCommand:
    return _load("led", _LED, _decode_json("led", payload))


def page_payload(seq: int, page: int, seconds: int = 0) -> bytes:
    command = PageCommand(seq, page, seconds)
    _checked(_PAGE, command, "page")
    return _dump(command)


def parse_page(payload: bytes | str) -> PageCommand:
    return _load("page", _PAGE, _decode_json("page", payload))


def _checked(schema: Schema, value: Any, what: str) -> None:
    """Builders validate too: the controller must never put an off-contract message on air."""
    document = {key: item for key, item in asdict(value).items() if item is not None}
    errors = schema.validate(document)
    if errors:
        raise ProtocolError(f"{what}: " + "; ".join(_describe(errors)))
