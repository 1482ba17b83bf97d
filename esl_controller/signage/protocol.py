"""The signage player wire contract: topics and JSON payloads for players and trigger sensors.

The only place that knows signage topic strings and payload shapes: the controller's
signage service, the player simulator and docs/protocol.md ("Signage players and
triggers") all follow it. Pure: no network, no clock, no database. Trigger *contents*
are validated (and privacy-checked) by `esl_controller.signage.triggers`; this module only
names the trigger topic.

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
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from esl_controller import wire_json
from esl_controller.catalogue.gtin import is_valid_gtin
from esl_controller.esl.protocol import ProtocolError, validate_id
from esl_controller.signage.personal_data import personal_data_in_text
from esl_controller.signage.triggers import sensor_id_problem

SIGNAGE_PROTOCOL_VERSION = 1
SIGNAGE_LEVEL = "signage"  # the topic level after the store; no base station may use this id
PLAYER_COMMANDS = ("playlist", "override", "revert")
PLAYER_REPORTS = ("status", "pop")
ITEM_TYPES = ("image", "video", "web")
MEDIA_TYPES = ("image", "video")  # item types that need a media sha256
PLAYER_STATES = ("online", "offline")
MAX_ITEMS = 500
MAX_PLAYS_PER_MESSAGE = 1000
MAX_ITEM_ID_LENGTH = 128
MAX_DURATION_S = 86_400.0
MAX_PRIORITY = 1000
_SHA256 = re.compile(r"[0-9a-f]{64}")
PLAYER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # as the dashboard registers them


class SignageProtocolError(ValueError):
    """A signage topic or message that does not follow the contract."""


class BatchError(SignageProtocolError):
    """Some plays in a proof-of-play batch were malformed; `valid` holds the good ones."""

    def __init__(self, message: str, valid: list[Play]) -> None:
        super().__init__(message)
        self.valid = valid


# --- topics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignageTopic:
    store: str
    kind: str  # playlist | override | revert | status | pop | trigger
    player: str | None = None
    sensor: str | None = None


def _id(what: str, value: str) -> str:
    try:
        return validate_id(what, value)
    except ProtocolError as exc:
        raise SignageProtocolError(str(exc)) from None


def _validate_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise SignageProtocolError("topic prefix must be a non-empty string")
    for level in prefix.split("/"):
        _id("topic prefix level", level)
    return prefix


def _signage_base(prefix: str, store: str) -> str:
    return f"{_validate_prefix(prefix)}/{_id('store', store)}/{SIGNAGE_LEVEL}"


def _player_topic(prefix: str, store: str, player: str, kind: str) -> str:
    return f"{_signage_base(prefix, store)}/player/{_id('player', player)}/{kind}"


def playlist_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "playlist")


def override_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "override")


def revert_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "revert")


def player_status_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "status")


def pop_topic(prefix: str, store: str, player: str) -> str:
    return _player_topic(prefix, store, player, "pop")


def trigger_topic(prefix: str, store: str, sensor: str) -> str:
    problem = sensor_id_problem(sensor)
    if problem is not None:
        raise SignageProtocolError(f"sensor id {problem}")
    return f"{_signage_base(prefix, store)}/trigger/{sensor}"


def controller_subscriptions(prefix: str, store: str) -> list[str]:
    """What the controller's signage service subscribes to (QoS 1)."""
    base = _signage_base(prefix, store)
    return [f"{base}/player/+/status", f"{base}/player/+/pop", f"{base}/trigger/+"]


def player_subscriptions(prefix: str, store: str, player: str) -> list[str]:
    """What one player subscribes to (QoS 1): its playlist, override and revert topics."""
    return [_player_topic(prefix, store, player, kind) for kind in PLAYER_COMMANDS]


def parse_topic(prefix: str, topic: str) -> SignageTopic:
    """Split a signage topic under `prefix`; anything off-contract is a SignageProtocolError."""
    head = f"{_validate_prefix(prefix)}/"
    if not isinstance(topic, str) or not topic.startswith(head):
        raise SignageProtocolError(f"topic {topic!r} is not under prefix {prefix!r}")
    levels = topic[len(head) :].split("/")
    if levels[1:3] == [SIGNAGE_LEVEL, "trigger"]:
        return _trigger_topic(levels)
    if len(levels) == 5 and levels[1:3] == [SIGNAGE_LEVEL, "player"]:
        store, _, _, player, kind = levels
        if kind in PLAYER_COMMANDS + PLAYER_REPORTS:
            problem = player_id_problem(player)
            if problem is not None:
                raise SignageProtocolError(f"player topic: the player level {problem}")
            try:
                return SignageTopic(_id("store", store), kind, player=player)
            except SignageProtocolError as exc:
                raise SignageProtocolError(f"topic {topic!r}: {exc}") from None
    raise SignageProtocolError(
        f"topic {safe_topic(prefix, topic)!r} is neither <store>/signage/player/<player>/"
        f"{'|'.join(PLAYER_COMMANDS + PLAYER_REPORTS)} nor <store>/signage/trigger/<sensor>"
    )


def _trigger_topic(levels: list[str]) -> SignageTopic:
    """A sensor's topic. Its sensor level is judged like a trigger's sensor field and never
    quoted back: a refused one may be personal data (a phone's MAC, a name)."""
    if len(levels) != 4:
        raise SignageProtocolError("trigger topic: expected <store>/signage/trigger/<sensor>")
    store, _, _, sensor = levels
    problem = sensor_id_problem(sensor)
    if problem is not None:
        raise SignageProtocolError(f"trigger topic: the sensor level {problem}")
    try:
        return SignageTopic(_id("store", store), "trigger", sensor=sensor)
    except SignageProtocolError:
        raise SignageProtocolError("trigger topic: the store level is not an id") from None


def player_id_problem(value: Any) -> str | None:
    """Why `value` cannot be a player id in a topic (a safe text), or None when it can."""
    if not isinstance(value, str) or not PLAYER_ID.match(value):
        return "must be a player id: 1-64 letters, digits, '.', '_' or '-', starting with one"
    found = personal_data_in_text(value)
    return f"contains {found}" if found is not None else None


def safe_topic(prefix: str, topic: str) -> str:
    """`topic` as it may be recorded: the sensor or player level only when it is a valid id,
    otherwise a placeholder (what a refused level held is not kept)."""
    head = f"{prefix}/"
    if not isinstance(topic, str) or not topic.startswith(head):
        return "(a topic outside the prefix)"
    levels = topic[len(head) :].split("/")
    if levels[1:2] != [SIGNAGE_LEVEL]:
        return head + "/".join(levels[:1] + ["(other)"] * (len(levels) > 1))
    check = {"trigger": sensor_id_problem, "player": player_id_problem}.get(
        levels[2] if len(levels) > 2 else ""
    )
    kinds = PLAYER_COMMANDS + PLAYER_REPORTS

    def kept(index: int, level: str) -> str:
        if index < 3:
            return level
        if index == 3 and check is not None and check(level) is None:
            return level
        if index == 4 and levels[2] == "player" and level in kinds:
            return level
        return "(refused)"

    return head + "/".join(kept(index, level) for index, level in enumerate(levels))


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


class _Message(Schema):
    class Meta:
        unknown = EXCLUDE  # forward compatible: newer players may send more


class _StrictFloat(fields.Float):
    """JSON numbers only: no strings, no booleans, no NaN."""

    def _validated(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._validated(value)


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


class ItemSchema(_Message):
    id = _item_id(required=True)
    type = fields.String(required=True, validate=validate.OneOf(ITEM_TYPES))
    duration_s = _StrictFloat(
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


class PlaylistSchema(_Message):
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


class OverrideSchema(_Message):
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


class RevertSchema(_Message):
    v = _version_field()
    override_id = _positive_id(required=True)

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> RevertCommand:
        return RevertCommand(data["override_id"])


class PlayerStatusSchema(_Message):
    state = fields.String(required=True, validate=validate.OneOf(PLAYER_STATES))
    now_playing = _item_id(allow_none=True)
    override_id = _positive_id(allow_none=True)
    cache_items = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> PlayerStatus:
        return PlayerStatus(**data)


class PlaySchema(_Message):
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
