"""Playlist files (`signage_playlists/*.yaml`): parsed, validated and located to the line.

Every error names the file, the line and the field (`signage_playlists/dairy.yaml:14:
items[2].duration: must be > 0`), because the person fixing it has the file open in an
editor. A file that fails keeps the last good version of that playlist in force.

Pure: the caller passes the text and a `media_exists` callback; nothing here touches the
database or the clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import yaml
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.labels.hardware import flatten_errors

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ITEM_TYPES = ("image", "video", "promo_slide", "web")
MEDIA_TYPES = frozenset({"image", "video"})
SHA256 = re.compile(r"^[0-9a-f]{64}$")
DAYPART = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
PLAYLIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

MediaExists = Callable[["PlaylistItem"], bool]
Path_ = tuple[str | int, ...]


class PlaylistError(ValueError):
    """A playlist file is unusable; the message names file, line and field."""


@dataclass(frozen=True)
class Daypart:
    """Store-local wall-clock times; `end <= start` means it crosses midnight."""

    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Schedule:
    """When a playlist applies. Empty weekdays / dayparts and absent dates mean "always"."""

    weekdays: frozenset[int] = frozenset()  # 0 = Monday
    dayparts: tuple[Daypart, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    @property
    def is_always(self) -> bool:
        return (
            not self.weekdays
            and not self.dayparts
            and self.date_from is None
            and self.date_to is None
        )


@dataclass(frozen=True)
class PlaylistItem:
    id: str
    type: str
    duration_s: float
    media_sha256: str | None = None
    file: str | None = None
    gtin: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Playlist:
    name: str
    title: str
    priority: int
    zones: frozenset[str]
    players: frozenset[str]
    schedule: Schedule
    items: tuple[PlaylistItem, ...]


@dataclass
class LoadResult:
    playlists: dict[str, Playlist] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # file stem -> PlaylistError message


def parse_daypart(text: Any) -> Daypart:
    """`"HH:MM-HH:MM"` (end may be `24:00`, meaning midnight) or ValueError saying why."""
    if not isinstance(text, str):
        raise ValueError(f"daypart must be a string like '06:00-11:00', got {text!r}")
    match = DAYPART.match(text.strip())
    if not match:
        raise ValueError(f"daypart {text!r} must look like 'HH:MM-HH:MM'")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or end_h > 24 or start_m > 59 or end_m > 59 or (end_h == 24 and end_m):
        raise ValueError(f"daypart {text!r} is not a valid time range (hours 00-23, minutes 00-59)")
    return Daypart(time(start_h, start_m), time(end_h % 24, end_m))


def parse_weekday(value: Any) -> int:
    """A weekday as 0 (Monday) .. 6: from `mon`..`sun` or an integer 0..6."""
    if isinstance(value, str) and value.strip().lower()[:3] in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(value.strip().lower()[:3])
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    raise ValueError(f"weekday {value!r} must be one of {', '.join(WEEKDAY_NAMES)} (or 0..6)")


# --- schemas ------------------------------------------------------------------------------


class _Daypart(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Daypart:
        try:
            return parse_daypart(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class _Weekday(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            return parse_weekday(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class _StrictNumber(fields.Float):
    """A YAML number; the string "10" or a boolean is a mistake, not a duration."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"must be a number, got {value!r}")
        return super()._deserialize(value, attr, data, **kwargs)


class _StrictInt(fields.Integer):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"must be an integer, got {value!r}")
        return value


_NOT_FOR_TYPE = {
    "image": frozenset({"gtin", "url"}),
    "video": frozenset({"gtin", "url"}),
    "web": frozenset({"file", "media", "gtin"}),
    "promo_slide": frozenset({"file", "media", "url"}),
}
_NON_EMPTY = validate.Length(min=1, error="must not be empty")
_ID = fields.String(validate=validate.Length(min=1, max=100))


class TargetsSchema(Schema):
    zones = fields.List(_ID, load_default=list)
    players = fields.List(_ID, load_default=list)

    @validates_schema
    def _some_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("zones") and not data.get("players"):
            raise ValidationError("needs at least one zone or player", "zones")


class DatesSchema(Schema):
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError(f"must not be before from ({data['from_']})", "to")


class ScheduleSchema(Schema):
    weekdays = fields.List(_Weekday(), validate=_NON_EMPTY)
    dayparts = fields.List(_Daypart(), validate=_NON_EMPTY)
    dates = fields.Nested(DatesSchema)


class ItemSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    type = fields.String(
        required=True,
        validate=validate.OneOf(ITEM_TYPES, error="unknown type {input!r}; one of {choices}"),
    )
    duration = _StrictNumber(
        required=True, validate=validate.Range(min=0, min_inclusive=False, error="must be > 0")
    )
    file = fields.String(validate=validate.Length(min=1))
    media = fields.String(
        validate=validate.Regexp(SHA256, error="must be a sha256: 64 lowercase hex digits")
    )
    gtin = fields.String()
    url = fields.URL(schemes={"http", "https"}, require_tld=False)

    @validates("file")
    def _plain_file_name(self, value: str, **kwargs: Any) -> None:
        if "/" in value or "\\" in value or value.startswith("."):
            raise ValidationError(f"{value!r} must be a plain file name in the media folder")

    @validates("gtin")
    def _valid_gtin(self, value: str, **kwargs: Any) -> None:
        try:
            validate_gtin(value)
        except InvalidGTIN as exc:
            raise ValidationError(str(exc)) from exc

    @validates_schema
    def _fields_for_type(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind = data.get("type")
        if kind in MEDIA_TYPES:
            if ("file" in data) == ("media" in data):
                raise ValidationError(f"a {kind} item needs exactly one of file or media", "file")
        elif kind == "promo_slide" and "gtin" not in data:
            raise ValidationError("a promo_slide item needs a gtin", "gtin")
        elif kind == "web" and "url" not in data:
            raise ValidationError("a web item needs a url", "url")
        forbidden = sorted(_NOT_FOR_TYPE.get(kind or "", frozenset()) & data.keys())
        if forbidden:
            raise ValidationError(f"not allowed on a {kind} item", forbidden[0])


class PlaylistSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    priority = _StrictInt(load_default=0, validate=validate.Range(min=-1000, max=1000))
    targets = fields.Nested(TargetsSchema, required=True)
    schedule = fields.Nested(ScheduleSchema, load_default=dict)
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=_NON_EMPTY)

    @validates("items")
    def _unique_ids(self, items: list[dict[str, Any]], **kwargs: Any) -> None:
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item["id"] in seen:
                raise ValidationError({index: {"id": [f"duplicate item id {item['id']!r}"]}})
            seen.add(item["id"])


# --- YAML with line numbers ---------------------------------------------------------------


def _line_map(node: yaml.Node, path: Path_ = ()) -> Iterator[tuple[Path_, int]]:
    """Every path in the document with the 1-based line it starts on (keys: the key's line)."""
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            yield (*path, key), key_node.start_mark.line + 1
            for sub_path, line in _line_map(value_node, (*path, key)):
                if sub_path != (*path, key):
                    yield sub_path, line
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            yield from _line_map(child, (*path, index))


def _duplicate_key(node: yaml.Node, path: Path_ = ()) -> tuple[Path_, int] | None:
    """PyYAML keeps the last of two equal keys silently; a playlist refuses them."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                return (*path, key), key_node.start_mark.line + 1
            seen.add(key)
            found = _duplicate_key(value_node, (*path, key))
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            found = _duplicate_key(child, (*path, index))
            if found:
                return found
    return None


def _path_text(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _parse_error_path(text: str) -> Path_:
    """`items[2].duration` -> ("items", 2, "duration"), to find the line of a schema error."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", text):
        parts.append(int(index) if index else name)
    return tuple(parts)


def _line_of(lines: Mapping[Path_, int], path: Path_) -> int:
    """The line of `path`, or of its nearest ancestor present in the file (a missing field)."""
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


# --- parsing ------------------------------------------------------------------------------


def parse_playlist(name: str, text: str, source: str, media_exists: MediaExists) -> Playlist:
    """Validate one playlist file's `text`; `source` is how errors name the file."""
    if not PLAYLIST_NAME.match(name):
        raise PlaylistError(f"{source}:1: name {name!r} must be letters, digits, '.', '_', '-'")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise PlaylistError(f"{source}:{line}: invalid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise PlaylistError(f"{source}:1: invalid YAML: {exc}") from exc
    if root is None or not isinstance(raw, dict):
        raise PlaylistError(f"{source}:1: a playlist must be a mapping with title, targets, items")
    duplicate = _duplicate_key(root)
    if duplicate:
        path, line = duplicate
        raise PlaylistError(f"{source}:{line}: {_path_text(path)}: duplicate key")
    lines = dict(_line_map(root))
    try:
        data = PlaylistSchema().load(raw)
    except ValidationError as exc:
        raise PlaylistError(_located(exc.messages, lines, source)) from exc
    playlist = _build(name, data)
    _check_media(playlist, media_exists, lines, source)
    return playlist


def _located(messages: Any, lines: Mapping[Path_, int], source: str) -> str:
    """Schema errors as `source:line: field: message`, in file order, one per line."""
    located = []
    for entry in flatten_errors(messages):
        field_path, _, message = entry.partition(": ")
        line = _line_of(lines, _parse_error_path(field_path))
        message = message.replace("Unknown field.", "unknown key").rstrip(".")
        message = message.replace("Missing data for required field", "required field is missing")
        located.append((line, f"{source}:{line}: {field_path}: {message}"))
    return "\n".join(text for _, text in sorted(located))


def _build(name: str, data: dict[str, Any]) -> Playlist:
    schedule_data = data["schedule"]
    dates = schedule_data.get("dates") or {}
    schedule = Schedule(
        weekdays=frozenset(schedule_data.get("weekdays", ())),
        dayparts=tuple(schedule_data.get("dayparts", ())),
        date_from=dates.get("from_"),
        date_to=dates.get("to"),
    )
    items = tuple(
        PlaylistItem(
            id=item["id"],
            type=item["type"],
            duration_s=float(item["duration"]),
            media_sha256=item.get("media"),
            file=item.get("file"),
            gtin=validate_gtin(item["gtin"]) if "gtin" in item else None,
            url=item.get("url"),
        )
        for item in data["items"]
    )
    return Playlist(
        name=name,
        title=data["title"],
        priority=data["priority"],
        zones=frozenset(data["targets"]["zones"]),
        players=frozenset(data["targets"]["players"]),
        schedule=schedule,
        items=items,
    )


def _check_media(
    playlist: Playlist, media_exists: MediaExists, lines: Mapping[Path_, int], source: str
) -> None:
    missing = []
    for index, item in enumerate(playlist.items):
        if item.type not in MEDIA_TYPES or media_exists(item):
            continue
        key = "file" if item.file else "media"
        what = (
            f"file {item.file!r} not found in the media folder"
            if item.file
            else f"no uploaded media with sha256 {item.media_sha256}"
        )
        line = _line_of(lines, ("items", index, key))
        missing.append(f"{source}:{line}: items[{index}].{key}: {what}")
    if missing:
        raise PlaylistError("\n".join(missing))


def load_playlists(
    directory: Path, media_exists: MediaExists, last_good: Mapping[str, Playlist]
) -> LoadResult:
    """Every `*.yaml` in `directory`; a file that fails keeps `last_good[name]` in force.

    A file that was deleted drops its playlist: the file is the source of truth.
    """
    result = LoadResult()
    if not directory.is_dir():
        return result
    paths = sorted({*directory.glob("*.yaml"), *directory.glob("*.yml")})
    for path in paths:
        name = path.stem
        source = f"{directory.name}/{path.name}"
        try:
            text = path.read_text(encoding="utf-8")
            result.playlists[name] = parse_playlist(name, text, source, media_exists)
        except PlaylistError as exc:
            _keep_last_good(result, name, str(exc), last_good)
        except (OSError, UnicodeDecodeError) as exc:
            _keep_last_good(result, name, f"{source}:1: cannot read: {exc}", last_good)
    return result


def _keep_last_good(
    result: LoadResult, name: str, error: str, last_good: Mapping[str, Playlist]
) -> None:
    result.errors[name] = error
    if name in last_good:
        result.playlists[name] = last_good[name]
