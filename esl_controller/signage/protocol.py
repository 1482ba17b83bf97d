"""The signage player wire contract: the JSON payloads players and the controller exchange.

The only place that knows signage payload shapes: every player channel (driver), the player
simulator and docs/protocol.md ("Signage players and triggers") follow it. The payloads do
not depend on the transport: the MQTT driver's topics live in
`esl_controller.signage.drivers.mqtt.topics`. Pure: no network, no clock, no database.
Trigger *contents* are validated (and privacy-checked) by `esl_controller.signage.triggers`.

Decisions worth knowing:
- Player messages ignore unknown fields (newer players may report more), but every known
  field is type- and range-checked; builders validate too, so the controller never puts an
  off-contract message on air.
- Datetimes are ISO-8601 with an explicit offset, never naive. A proof of play keeps the
  player's LOCAL offset exactly as the player sent it; converting to UTC is the ads side's
  job (it must know which offset the player believed in).
- A promo slide travels as an ordinary `image` item (the slide the controller rendered,
  by sha256) plus the product's `gtin`, so a player needs no catalogue knowledge.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from esl_controller import wire_json
from esl_controller.catalogue.gtin import is_valid_gtin
from esl_controller.topic_levels import TopicLevelError, validate_id
from esl_controller.wire_schema import StrictFloat, WireMessage

SIGNAGE_PROTOCOL_VERSION = 1
ITEM_TYPES = ("image", "video", "web")
MEDIA_TYPES = ("image", "video")  # item types that need a media sha256
PLAYER_STATES = ("online", "offline")
MAX_ITEMS = 500
MAX_PLAYS_PER_MESSAGE = 1000
MAX_ITEM_ID_LENGTH = 128
MAX_DURATION_S = 86_400.0
MAX_PRIORITY = 1000
_SHA256 = re.compile(r"[0-9a-f]{64}")


class SignageProtocolError(ValueError):
    """A signage topic or message that does not follow the contract."""


class BatchError(SignageProtocolError):
    """Some plays in a proof-of-play batch were malformed; `valid` holds the good ones."""

    def __init__(self, message: str, valid: list[Play]) -> None:
        super().__init__(message)
        self.valid = valid


# --- ids -----------------------------------------------------------------------------------


def _id(what: str, value: str) -> str:
    try:
        return validate_id(what, value)
    except TopicLevelError as exc:
        raise SignageProtocolError(str(exc)) from None


# --- messages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenItem:
    """One thing a screen shows, as it travels to the player."""

    id: str
    type: str  # image | video | web
    duration_s: float
    media: str | None = None  # sha256 of the media file, for image and video
    url: str | None = None  # for web
    gtin: str | None = None  # set when the image is a product's promo slide


@dataclass(frozen=True)
class PlaylistMessage:
    player: str
    playlist: str | None  # None: nothing scheduled (the player shows its idle screen)
    digest: str
    items: tuple[ScreenItem, ...]
    valid_until: datetime | None
    media_base: str  # "http://host:port/media/"; a media URL is media_base + sha256

    def media_url(self, item: ScreenItem) -> str:
        if item.media is None:
            raise SignageProtocolError(f"item {item.id!r} has no media to fetch")
        return self.media_base + item.media


@dataclass(frozen=True)
class OverrideCommand:
    override_id: int
    item: ScreenItem
    priority: int
    expires_at: datetime
    trigger_id: int | None = None
    campaign_id: int | None = None
    creative_id: int | None = None


@dataclass(frozen=True)
class RevertCommand:
    override_id: int


@dataclass(frozen=True)
class PlayerStatus:
    state: str  # online | offline
    now_playing: str | None = None  # item id on screen
    override_id: int | None = None  # the override on screen, if any
    cache_items: int | None = None  # media files in the player's cache


@dataclass(frozen=True)
class Play:
    """One proof of play: `play_id` makes re-sent plays idempotent."""

    play_id: str  # uuid4
    player: str
    item: str
    started_at: datetime  # the player's local time, with its offset
    ended_at: datetime
    creative_id: int | None = None
    campaign_id: int | None = None
    override_id: int | None = None
    trigger_id: int | None = None


class _AwareDateTime(fields.AwareDateTime):
    """ISO-8601 with an explicit offset; a naive time is refused, not guessed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)


def _positive_id(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kwargs)


def _item_id(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(1, MAX_ITEM_ID_LENGTH), **kwargs)


def _version_field() -> fields.Integer:
    return fields.Integer(
        required=True,
        strict=True,
        validate=validate.Equal(
            SIGNAGE_PROTOCOL_VERSION,
            error=f"unsupported version {{input}}; this side speaks {SIGNAGE_PROTOCOL_VERSION}",
        ),
    )


def _http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"must be an http(s) URL, got {value!r}")


def _media_base(value: str) -> None:
    _http_url(value)
    if not value.endswith("/"):
        raise ValidationError(f"must end with '/' (media URL = base + sha256), got {value!r}")


class ItemSchema(WireMessage):
    id = _item_id(required=True)
    type = fields.String(required=True, validate=validate.OneOf(ITEM_TYPES))
    duration_s = StrictFloat(
        required=True,
        allow_nan=False,
        validate=validate.Range(0, MAX_DURATION_S, min_inclusive=False),
    )
    media = fields.String(
        allow_none=True,
        validate=validate.Regexp(_SHA256, error="must be a lowercase hex sha256 (64 characters)"),
    )
    url = fields.String(allow_none=True, validate=[validate.Length(max=2000), _http_url])
    gtin = fields.String(allow_none=True)

    @validates_schema
    def _content_matches_type(self, data: dict[str, Any], **_kwargs: Any) -> None:
        kind = data.get("type")
        if kind in MEDIA_TYPES and not data.get("media"):
            raise ValidationError(f"{kind} items need their media sha256", "media")
        if kind == "web" and not data.get("url"):
            raise ValidationError("web items need their url", "url")
        gtin = data.get("gtin")
        if gtin is not None and not is_valid_gtin(gtin):
            raise ValidationError(f"{gtin!r} is not a valid GTIN (check digit)", "gtin")

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> ScreenItem:
        data["duration_s"] = float(data["duration_s"])
        return ScreenItem(**data)


class PlaylistSchema(WireMessage):
    v = _version_field()
    player = fields.String(required=True)
    playlist = fields.String(required=True, allow_none=True, validate=validate.Length(1, 200))
    digest = fields.String(required=True, validate=validate.Length(1, 128))
    items = fields.List(
        fields.Nested(ItemSchema), required=True, validate=validate.Length(max=MAX_ITEMS)
    )
    valid_until = _AwareDateTime(required=True, allow_none=True)
    media_base = fields.String(required=True, validate=[validate.Length(max=500), _media_base])

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "player" in data:
            _field_is_id(data, "player")
        items = data.get("items") or []
        if data.get("playlist") is None and items:
            raise ValidationError("no playlist (null) means no items", "items")
        ids = [item.id for item in items]
        if len(ids) != len(set(ids)):
            raise ValidationError("item ids must be unique within a playlist", "items")

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> PlaylistMessage:
        data.pop("v")
        data["items"] = tuple(data["items"])
        return PlaylistMessage(**data)


class OverrideSchema(WireMessage):
    v = _version_field()
    override_id = _positive_id(required=True)
    item = fields.Nested(ItemSchema, required=True)
    priority = fields.Integer(required=True, strict=True, validate=validate.Range(0, MAX_PRIORITY))
    expires_at = _AwareDateTime(required=True)
    trigger_id = _positive_id(allow_none=True)
    campaign_id = _positive_id(allow_none=True)
    creative_id = _positive_id(allow_none=True)

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> OverrideCommand:
        data.pop("v")
        return OverrideCommand(**data)


class RevertSchema(WireMessage):
    v = _version_field()
    override_id = _positive_id(required=True)

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> RevertCommand:
        return RevertCommand(data["override_id"])


class PlayerStatusSchema(WireMessage):
    state = fields.String(required=True, validate=validate.OneOf(PLAYER_STATES))
    now_playing = _item_id(allow_none=True)
    override_id = _positive_id(allow_none=True)
    cache_items = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> PlayerStatus:
        return PlayerStatus(**data)


class PlaySchema(WireMessage):
    play_id = fields.String(required=True)
    player = fields.String(required=True)
    item = _item_id(required=True)
    started_at = _AwareDateTime(required=True)
    ended_at = _AwareDateTime(required=True)
    creative_id = _positive_id(allow_none=True)
    campaign_id = _positive_id(allow_none=True)
    override_id = _positive_id(allow_none=True)
    trigger_id = _positive_id(allow_none=True)

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "play_id" in data and not is_uuid4(data["play_id"]):
            raise ValidationError(
                f"must be a canonical lowercase uuid4 string, got {data['play_id']!r}", "play_id"
            )
        if "player" in data:
            _field_is_id(data, "player")
        started, ended = data.get("started_at"), data.get("ended_at")
        if started is not None and ended is not None and ended <= started:
            raise ValidationError("must be after started_at", "ended_at")

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> Play:
        return Play(**data)


_ITEM = ItemSchema()
_PLAYLIST = PlaylistSchema()
_OVERRIDE = OverrideSchema()
_REVERT = RevertSchema()
_STATUS = PlayerStatusSchema()
_PLAY = PlaySchema()


def is_uuid4(value: Any) -> bool:
    """The canonical lowercase text of a version-4 UUID, as play ids must be."""
    try:
        parsed = uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return parsed.version == 4 and str(parsed) == value


def _field_is_id(data: Mapping[str, Any], name: str) -> None:
    try:
        _id(name, data[name])
    except SignageProtocolError as exc:
        raise ValidationError(str(exc), name) from None


def _describe(messages: Mapping[Any, Any] | Sequence[Any]) -> list[str]:
    return wire_json.describe_errors(messages)


def _decode_json(what: str, payload: bytes | str) -> Any:
    return wire_json.decode_json(what, payload, SignageProtocolError)


def _load(what: str, schema: Schema, document: Any) -> Any:
    return wire_json.load_object(what, schema, document, SignageProtocolError)


def _encode(what: str, schema: Schema, document: dict[str, Any]) -> bytes:
    """Builders validate what they built: nothing off-contract goes on air."""
    errors = schema.validate(document)
    if errors:
        raise SignageProtocolError(f"{what}: " + "; ".join(_describe(errors)))
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(value: datetime | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise SignageProtocolError(f"{what} must be a datetime with a UTC offset, got {value!r}")
    return value.isoformat()


def _item_document(item: ScreenItem) -> dict[str, Any]:
    if not isinstance(item, ScreenItem):
        raise SignageProtocolError(f"expected a ScreenItem, got {type(item).__name__}")
    return {
        "id": item.id,
        "type": item.type,
        "duration_s": item.duration_s,
        "media": item.media,
        "url": item.url,
        "gtin": item.gtin,
    }


# -- playlist ---------------------------------------------------------------------------------


def playlist_digest(
    playlist: str | None,
    items: Sequence[ScreenItem],
    valid_until: datetime | None,
    media_base: str,
) -> str:
    """sha256 of what the player will do: equal digests need not be published again."""
    content = {
        "playlist": playlist,
        "items": [_item_document(item) for item in items],
        "valid_until": _iso(valid_until, "valid_until"),
        "media_base": media_base,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def playlist_payload(
    player: str,
    playlist: str | None,
    items: Sequence[ScreenItem],
    valid_until: datetime | None,
    media_base: str,
) -> bytes:
    """The retained playlist message; its `digest` is `playlist_digest` of the same input."""
    document = {
        "v": SIGNAGE_PROTOCOL_VERSION,
        "player": player,
        "playlist": playlist,
        "digest": playlist_digest(playlist, items, valid_until, media_base),
        "items": [_item_document(item) for item in items],
        "valid_until": _iso(valid_until, "valid_until"),
        "media_base": media_base,
    }
    return _encode("playlist", _PLAYLIST, document)


def parse_playlist_message(payload: bytes | str) -> PlaylistMessage:
    return _load("playlist", _PLAYLIST, _decode_json("playlist", payload))


# -- override and revert ----------------------------------------------------------------------


def override_payload(command: OverrideCommand) -> bytes:
    document = {
        "v": SIGNAGE_PROTOCOL_VERSION,
        "override_id": command.override_id,
        "item": _item_document(command.item),
        "priority": command.priority,
        "expires_at": _iso(command.expires_at, "expires_at"),
        "trigger_id": command.trigger_id,
        "campaign_id": command.campaign_id,
        "creative_id": command.creative_id,
    }
    return _encode("override", _OVERRIDE, document)


def parse_override(payload: bytes | str) -> OverrideCommand:
    return _load("override", _OVERRIDE, _decode_json("override", payload))


def revert_payload(override_id: int) -> bytes:
    document = {"v": SIGNAGE_PROTOCOL_VERSION, "override_id": override_id}
    return _encode("revert", _REVERT, document)


def parse_revert(payload: bytes | str) -> RevertCommand:
    return _load("revert", _REVERT, _decode_json("revert", payload))


# -- status -----------------------------------------------------------------------------------

OFFLINE_STATUS = PlayerStatus("offline")


def player_status_payload(status: PlayerStatus) -> bytes:
    """Also the last will: `player_status_payload(OFFLINE_STATUS)` is `{"state":"offline"}`."""
    document = {
        "state": status.state,
        "now_playing": status.now_playing,
        "override_id": status.override_id,
        "cache_items": status.cache_items,
    }
    return _encode("status", _STATUS, {k: v for k, v in document.items() if v is not None})


def parse_player_status(payload: bytes | str) -> PlayerStatus:
    return _load("status", _STATUS, _decode_json("status", payload))


# -- proof of play ----------------------------------------------------------------------------


def _play_document(play: Play) -> dict[str, Any]:
    if not isinstance(play, Play):
        raise SignageProtocolError(f"expected a Play, got {type(play).__name__}")
    return {
        "play_id": play.play_id,
        "player": play.player,
        "item": play.item,
        "creative_id": play.creative_id,
        "campaign_id": play.campaign_id,
        "override_id": play.override_id,
        "trigger_id": play.trigger_id,
        "started_at": _iso(play.started_at, "started_at"),
        "ended_at": _iso(play.ended_at, "ended_at"),
    }


def pop_payload(plays: Sequence[Play]) -> bytes:
    """A proof-of-play batch: one JSON list of 1..MAX_PLAYS_PER_MESSAGE plays."""
    if not 1 <= len(plays) <= MAX_PLAYS_PER_MESSAGE:
        raise SignageProtocolError(
            f"pop: a batch holds 1..{MAX_PLAYS_PER_MESSAGE} plays, got {len(plays)}"
        )
    documents = []
    for index, play in enumerate(plays):
        document = _play_document(play)
        errors = _PLAY.validate(document)
        if errors:
            raise SignageProtocolError(f"pop[{index}]: " + "; ".join(_describe(errors)))
        documents.append(document)
    return json.dumps(documents, separators=(",", ":"), ensure_ascii=False).encode()


def parse_pops(payload: bytes | str) -> list[Play]:
    """A JSON list of plays (a single object is accepted as a batch of one).

    A batch with malformed entries raises BatchError carrying the valid plays, so the
    caller books those and records the rest with the reason (nothing silently dropped).
    """
    return wire_json.load_batch(
        "pop",
        payload,
        _PLAY,
        limit=MAX_PLAYS_PER_MESSAGE,
        noun="plays",
        error=SignageProtocolError,
        batch_error=BatchError,
        expected="a list of plays",
    )


def parse_item(document: Mapping[str, Any]) -> ScreenItem:
    """One item from a decoded JSON object (e.g. `Override.content` in the database)."""
    return _load("item", _ITEM, dict(document) if isinstance(document, Mapping) else document)


def item_json(item: ScreenItem) -> str:
    """An item as the JSON object the wire carries (what `Override.content` stores)."""
    return _encode("item", _ITEM, _item_document(item)).decode()
